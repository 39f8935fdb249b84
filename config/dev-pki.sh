#!/usr/bin/env bash
# Creates a throw-away development PKI for mla-gateway with the openssl CLI (EC P-256):
#   ca.crt (+ ca.key)          CA that signs both certificates; tls.client_ca_file
#   tls.crt, tls.key           server certificate: SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   client.crt, client.key     client certificate, subject CN = CLIENT_CN (the tenant with
#                              tenant.source: subject_cn); SAN DNS:CLIENT_CN
#   client.pem                 client.crt + client.key in one file (for `ab -E`)
# Existing files are kept (idempotent); delete OUT_DIR to start over. For development only: the
# CA key is left unencrypted beside the certificates.
#
# Usage: bash config/dev-pki.sh OUT_DIR [CLIENT_CN] [DAYS]
set -euo pipefail

out=${1:?usage: dev-pki.sh OUT_DIR [CLIENT_CN] [DAYS]}
client_cn=${2:-demo-cluster}
days=${3:-825}

mkdir -p "$out"
cd "$out"
umask 077

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [[ ! -s ca.crt || ! -s ca.key ]]; then
  new_key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=mla-gateway dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out ca.crt
  rm -f tls.crt client.crt # signed by an older CA: re-issue below
  echo "dev-pki: wrote $out/ca.crt" >&2
fi

# issue NAME SUBJECT EXTENSIONS: NAME.key (kept if present) and NAME.crt signed by the CA.
issue() {
  local name=$1 subject=$2 ext=$3
  [[ -s $name.key ]] || new_key "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
    -days "$days" -extfile <(printf '%s\n' "$ext") -out "$name.crt" 2>/dev/null
  rm -f "$name.csr"
  echo "dev-pki: wrote $out/$name.crt ($subject)" >&2
}

if [[ ! -s tls.crt || ! -s tls.key ]]; then
  issue tls "/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
authorityKeyIdentifier=keyid"
fi

if [[ ! -s client.crt || ! -s client.key ]]; then
  issue client "/O=mla-gateway dev/CN=$client_cn" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:$client_cn
authorityKeyIdentifier=keyid"
fi

if [[ ! -s client.pem || client.pem -ot client.crt ]]; then
  cat client.crt client.key >client.pem
fi

# Readable by the user who ran this; certificates need not be secret.
chmod 644 ca.crt tls.crt client.crt
