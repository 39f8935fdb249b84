#!/bin/bash
# Container healthcheck (Dockerfile HEALTHCHECK): exit 0 when GET /-/healthy on the admin
# listener answers 200. Uses bash's /dev/tcp, so the image needs no curl.
#   MLA_GATEWAY_ADMIN  admin.listen as host:port (default 127.0.0.1:9091; [::1]:9091 for IPv6)
set -uo pipefail

addr=${MLA_GATEWAY_ADMIN:-127.0.0.1:9091}
host=${addr%:*}
port=${addr##*:}
host=${host#[}
host=${host%]}
[[ $host == 0.0.0.0 || -z $host ]] && host=127.0.0.1  # a wildcard listen is reached on loopback
[[ $host == :: ]] && host=::1

exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /-/healthy HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$addr" >&3
IFS= read -r -t 5 status <&3 || exit 1
[[ $status =~ ^HTTP/1\.[01]\ 200 ]] || {
  echo "mla-gateway-healthcheck: $addr answered: ${status%$'\r'}" >&2
  exit 1
}
