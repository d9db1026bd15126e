#!/usr/bin/env bash
# `make demo`: the offline sealing loop, end to end, with the real `seal` CLI.
# (The in-cluster controller and Vault parts join this demo as they land.)
set -euo pipefail

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A key pair (RSA-4096, self-signed certificate), as the controller would make"
seal keygen --private-key sealing-key.pem --cert cert.pem
openssl x509 -in cert.pem -noout -subject -enddate 2>/dev/null || true

step "2. A second cluster's key pair, to seal for both at once"
seal keygen --private-key other-key.pem --cert other-cert.pem

step "3. A plain Secret (this file must never be committed)"
cat > secret.yaml <<'YAML'
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: shop
stringData:
  username: shop
  password: correct-horse-battery-staple
YAML
cat secret.yaml
if seal check secret.yaml; then echo "seal check should have refused the plain Secret" >&2; exit 1; fi

step "4. Sealed for two clusters, strict scope (shop/db-credentials)"
seal --cert cert.pem --cert other-cert.pem secret.yaml -w sealed-strict.yaml
cut -c1-110 sealed-strict.yaml

step "5. Sealed namespace-wide (any name in namespace shop may use it)"
seal --cert cert.pem --scope namespace-wide secret.yaml -w sealed-ns.yaml
cut -c1-110 sealed-ns.yaml
seal check sealed-strict.yaml sealed-ns.yaml && echo "seal check: the sealed files are safe to commit"

step "6. Recovery with each private key (what the controller does in the cluster)"
seal unseal --private-key sealing-key.pem sealed-strict.yaml | grep -A3 '^data:'
seal unseal --private-key other-key.pem sealed-strict.yaml | grep -A3 '^data:' >/dev/null && echo "the second cluster's key opens it too"
got=$(seal unseal --private-key sealing-key.pem -o json sealed-ns.yaml | python3 -c 'import base64,json,sys; print(base64.b64decode(json.load(sys.stdin)["data"]["password"]).decode())')
[ "$got" = "correct-horse-battery-staple" ] && echo "namespace-wide value recovered byte for byte"

step "7. A scope violation is refused: the strict blob moved to another name"
sed 's/name: db-credentials/name: stolen/' sealed-strict.yaml > moved.yaml
if seal unseal --private-key sealing-key.pem moved.yaml; then
  echo "moved SealedSecret must not open" >&2; exit 1
fi
echo "refused, as it must be"

step "Done: keygen -> seal (2 clusters, 2 scopes) -> unseal -> scope enforced"
