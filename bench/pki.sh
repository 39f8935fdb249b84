#!/usr/bin/env bash
# bench/pki.sh DIR: the benchmark's certificates, all ECDSA P-256 (config/dev-pki.sh does the work):
#   ca.crt, ca.key        the CA every system verifies clients against; mla-loadgen --tenants
#                         mints its per-tenant client certificates with it (--tenant-ca-key)
#   tls.crt, tls.key      server certificate, SAN DNS:localhost, IP:127.0.0.1
#   client.crt/.key/.pem  client certificate CN=tenant-a (.pem = cert + key, for `ab -E`)
#   paths.env             the paths above as shell variables, for `source`
# Existing files are kept (delete DIR to start over).
set -euo pipefail

dir=${1:?usage: bench/pki.sh DIR}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$src/config/dev-pki.sh" "$dir" tenant-a
dir=$(cd "$dir" && pwd)
cat >"$dir/paths.env" <<ENV
CA_CERT=$dir/ca.crt
CA_KEY=$dir/ca.key
SERVER_CERT=$dir/tls.crt
SERVER_KEY=$dir/tls.key
CLIENT_CERT=$dir/client.crt
CLIENT_KEY=$dir/client.key
CLIENT_PEM=$dir/client.pem
ENV
cat "$dir/paths.env"
