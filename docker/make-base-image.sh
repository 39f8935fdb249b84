#!/usr/bin/env bash
# Makes a Debian 12 (bookworm) base image locally, for machines that cannot pull from a public
# container registry: mmdebstrap builds the root filesystem into a tarball from the apt sources
# this machine already uses, and `podman import` turns it into an image.
#
# Usage: bash docker/make-base-image.sh [--slim] [IMAGE]
#   default IMAGE: localhost/debian:12        (--variant=minbase: Essential + apt, like debian:12)
#   --slim       : localhost/debian:12-slim   (the same, without docs, man pages and locales,
#                                              like debian:12-slim; dpkg keeps excluding them
#                                              for packages installed later)
# Environment: PODMAN_GLOBAL_OPTS (see docker/build.sh), MMDEBSTRAP_ARGS (extra arguments, e.g.
# --aptopt=... for a proxy), KEEP_TARBALL=1 (keep the tarball in $TMPDIR).
#
# The mirror is never written here: the chroot gets the machine's own Debian entries (deb822
# stanzas and one-line entries for bookworm*, from /etc/apt/sources.list{,.d/}), and the apt
# options that make them work here (Check-Valid-Until, Check-Date, proxies) are copied from
# `apt-config dump`. Needs root (mmdebstrap --mode=root) or a user with subuids (--mode=unshare).
set -euo pipefail

slim=0
if [[ "${1:-}" == --slim ]]; then
  slim=1
  shift
fi
case "${1:-}" in
  -h | --help)
    sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
if ((slim)); then image=${1:-localhost/debian:12-slim}; else image=${1:-localhost/debian:12}; fi
readonly SUITE=bookworm

log() { printf 'make-base-image: %s\n' "$*" >&2; }

for tool in mmdebstrap podman apt-config; do
  command -v "$tool" >/dev/null || {
    log "$tool not found (bash scripts/install-deps.sh installs mmdebstrap and podman)"
    exit 1
  }
done
# shellcheck disable=SC2206  # word splitting of the option strings is intended
podman_cmd=(podman ${PODMAN_GLOBAL_OPTS---runtime runc --cgroup-manager=cgroupfs})

work=$(mktemp -d "${TMPDIR:-/tmp}/mla-base.XXXXXX")
cleanup() { [[ "${KEEP_TARBALL:-0}" == 1 ]] || rm -rf "$work"; }
trap cleanup EXIT

# 1. The machine's Debian sources for $SUITE (and $SUITE-updates, $SUITE-security), nothing else:
#    third-party repositories would need keys the chroot does not have.
sources=()
shopt -s nullglob
deb822=("/etc/apt/sources.list.d/"*.sources)
oneline=(/etc/apt/sources.list "/etc/apt/sources.list.d/"*.list)
shopt -u nullglob
if ((${#deb822[@]})); then
  # A stanza is kept when its Suites field names $SUITE*, and it is not disabled (Enabled: no).
  awk -v suite="$SUITE" '
    function flush() {
      if (keep && !off && buf != "") printf "%s\n", buf
      buf = ""; keep = 0; off = 0
    }
    /^[ \t]*$/ { flush(); next }
    /^#/ { next }
    {
      buf = buf $0 "\n"
      if (tolower($1) == "suites:") for (i = 2; i <= NF; i++) if ($i ~ "^" suite "([-/]|$)") keep = 1
      if (tolower($1) == "enabled:" && tolower($2) == "no") off = 1
    }
    END { flush() }' "${deb822[@]}" >"$work/debian.sources"
  [[ -s "$work/debian.sources" ]] && sources+=("$work/debian.sources")
fi
for f in "${oneline[@]}"; do
  [[ -f "$f" ]] && grep -E "^deb[[:space:]].*[[:space:]]${SUITE}([-/][a-z]+)?[[:space:]]" "$f" || true
done >"$work/debian.list"
[[ -s "$work/debian.list" ]] && sources+=("$work/debian.list")
if ((${#sources[@]} == 0)); then
  log "no Debian $SUITE entry in /etc/apt/sources.list or /etc/apt/sources.list.d/"
  exit 1
fi

# 2. apt options the host needs for those sources (a snapshot mirror, a proxy).
aptopts=()
while IFS= read -r line; do
  aptopts+=("--aptopt=$line")
done < <(apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy)[ :]' || true)

# 3. The root filesystem. minbase = Essential + apt (dpkg, bash, coreutils, passwd, ...).
variant_args=(--variant=minbase)
# Merged /usr set up by the hook (as debootstrap does), not by the usrmerge package, which would
# pull perl (~50 MB) into the image.
readonly MERGED_USR_HOOK=/usr/share/mmdebstrap/hooks/merged-usr
[[ -d $MERGED_USR_HOOK ]] && variant_args+=("--hook-dir=$MERGED_USR_HOOK")
if ((slim)); then
  variant_args+=(
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
  )
fi
mode=()
[[ $(id -u) -eq 0 ]] || mode=(--mode=unshare)
log "mmdebstrap $SUITE (${variant_args[0]}$( ((slim)) && echo ', slim')) -> $image"
# shellcheck disable=SC2086  # MMDEBSTRAP_ARGS is word-split on purpose
mmdebstrap --quiet "${mode[@]}" "${variant_args[@]}" "${aptopts[@]}" ${MMDEBSTRAP_ARGS:-} \
  "$SUITE" "$work/rootfs.tar" "${sources[@]}"

# 4. Import. The changes give the image what a registry's debian:12 has in its config. An image
#    the tag pointed to before is removed when nothing else uses it.
old_id=$("${podman_cmd[@]}" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
"${podman_cmd[@]}" import --quiet \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL org.opencontainers.image.description=Debian $SUITE $( ((slim)) && echo slim || echo minbase), made locally by mmdebstrap" \
  "$work/rootfs.tar" "$image" >/dev/null
if [[ -n "$old_id" ]]; then
  "${podman_cmd[@]}" rmi "$old_id" >/dev/null 2>&1 || true
fi
log "imported $image ($(du -h "$work/rootfs.tar" | cut -f1) tarball)"
