#!/usr/bin/env bash
# Builds the mla-gateway container image with podman (docker/Dockerfile).
#
# Usage: bash docker/build.sh [--print-tag] [--force]
#   --print-tag  print the image reference for the current sources (IMAGE:src-<hash>) and exit
#   --force      build even when an image for the current sources exists
#
# Without BASE, the Debian 12 base images are made locally when missing (docker/make-base-image.sh:
# mmdebstrap from this machine's apt sources, then podman import), for machines that cannot pull
# from a registry. With BASE (and RUNTIME_BASE) the same Dockerfile builds FROM those instead.
#
# The build context is staged from the files the image needs (tracked and untracked, not ignored
# by git), and its content hash tags the image: IMAGE:src-<hash> (also IMAGE:<version> and
# IMAGE:latest). A second run with unchanged sources returns at once; tests reuse that image.
#
# Environment:
#   IMAGE               repository (default localhost/mla-gateway)
#   BASE, RUNTIME_BASE  base images (default localhost/debian:12 and localhost/debian:12-slim,
#                       made here when missing; e.g. registry.example/library/debian:12 elsewhere)
#   JOBS                compile jobs in the build stage (default: all cores of the builder)
#   PODMAN_GLOBAL_OPTS  podman's global options (default "--runtime runc --cgroup-manager=cgroupfs",
#                       what this kind of machine needs; set to "" where podman's defaults work)
#   PODMAN_BUILD_OPTS   extra `podman build` arguments (word-split), e.g. --no-cache
#   NICE                niceness of the build (default 10)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly ROOT=$PWD

print_tag=0
force=0
for arg in "$@"; do
  case "$arg" in
    --print-tag) print_tag=1 ;;
    --force) force=1 ;;
    -h | --help)
      sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "docker/build.sh: unknown argument '$arg' (see --help)" >&2
      exit 2
      ;;
  esac
done

readonly IMAGE=${IMAGE:-localhost/mla-gateway}
local_base=0
if [[ -z "${BASE:-}" ]]; then
  local_base=1
  BASE=localhost/debian:12
  RUNTIME_BASE=${RUNTIME_BASE:-localhost/debian:12-slim}
fi
RUNTIME_BASE=${RUNTIME_BASE:-${BASE%:*}:12-slim}
# shellcheck disable=SC2206  # word splitting of the option strings is intended
podman_cmd=(podman ${PODMAN_GLOBAL_OPTS---runtime runc --cgroup-manager=cgroupfs})
# What the project's sandbox needs on `build` and `run` (DESIGN.md §9): its default limits are
# higher than the container runtime may set.
readonly ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=4096:4096)

log() { printf 'docker/build.sh: %s\n' "$*" >&2; }

# The files the Dockerfile copies; the hash of their paths and contents names the image.
readonly CONTEXT_PATHS=(CMakeLists.txt cmake proto bench gateway scripts/install-deps.sh
  scripts/build.sh config/kkp-cluster.yaml config/shared-multitenant.yaml docker/Dockerfile
  docker/healthcheck.sh)
list_context_files() {
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard -- "${CONTEXT_PATHS[@]}" |
      while IFS= read -r -d '' f; do [[ -f "$f" ]] && printf '%s\n' "$f"; done
  else
    find "${CONTEXT_PATHS[@]}" -type f -not -path '*/__pycache__/*'
  fi | LC_ALL=C sort -u
}
mapfile -t files < <(list_context_files)
((${#files[@]} > 10)) || {
  log "found only ${#files[@]} source files under ${CONTEXT_PATHS[*]}"
  exit 1
}
hash=$({
  printf 'BASE=%s RUNTIME_BASE=%s\n' "$BASE" "$RUNTIME_BASE"
  for f in "${files[@]}"; do printf '%s %s\n' "$(sha256sum <"$f" | cut -c1-64)" "$f"; done
} | sha256sum | cut -c1-16)
readonly TAG="$IMAGE:src-$hash"
if ((print_tag)); then
  echo "$TAG"
  exit 0
fi

command -v podman >/dev/null || {
  log "podman not found (bash scripts/install-deps.sh installs it)"
  exit 1
}
if ((!force)) && "${podman_cmd[@]}" image exists "$TAG"; then
  log "$TAG is up to date (sources unchanged; --force rebuilds)"
  echo "$TAG"
  exit 0
fi

nice_cmd=(nice -n "${NICE:-10}")
if ((local_base)); then
  "${podman_cmd[@]}" image exists "$BASE" ||
    "${nice_cmd[@]}" bash docker/make-base-image.sh "$BASE"
  "${podman_cmd[@]}" image exists "$RUNTIME_BASE" ||
    "${nice_cmd[@]}" bash docker/make-base-image.sh --slim "$RUNTIME_BASE"
fi

context=$(mktemp -d "${TMPDIR:-/tmp}/mla-image-context.XXXXXX")
trap 'rm -rf "$context"' EXIT
printf '%s\n' "${files[@]}" | tar -C "$ROOT" -cf - --files-from=- | tar -C "$context" -xf -

version=$(sed -nE 's/^project\(mla-gateway VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- "${CONTEXT_PATHS[@]}" 2>/dev/null || revision="$revision-dirty"
build_args=(--build-arg "BASE=$BASE" --build-arg "RUNTIME_BASE=$RUNTIME_BASE"
  --build-arg "VERSION=${version:-0.0.0}" --build-arg "REVISION=$revision"
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
[[ -n "${JOBS:-}" ]] && build_args+=(--build-arg "JOBS=$JOBS")

log "building $TAG from $BASE / $RUNTIME_BASE (${#files[@]} files, JOBS=${JOBS:-all cores})"
start=$SECONDS
# --format docker: the OCI image config has no HEALTHCHECK (Kubernetes ignores it, podman and
# docker use it). --network=host: apt-get in the build stage reaches the
# mirror as this machine does.
# shellcheck disable=SC2086  # PODMAN_BUILD_OPTS is word-split on purpose
"${nice_cmd[@]}" "${podman_cmd[@]}" build --format docker --network=host "${ULIMITS[@]}" \
  "${build_args[@]}" ${PODMAN_BUILD_OPTS:-} \
  -f "$context/docker/Dockerfile" -t "$TAG" -t "$IMAGE:${version:-latest}" -t "$IMAGE:latest" \
  "$context"
size=$("${podman_cmd[@]}" image inspect --format '{{.Size}}' "$TAG")
log "built $TAG in $((SECONDS - start))s, $((size / 1000000)) MB"
echo "$TAG"
