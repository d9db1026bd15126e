"""``seal check``: the pre-commit guard against committing secrets."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from sealer.check import scan
from tests.unit.conftest import Seal, error_line

PLAIN_SECRET = b"""apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
stringData:
  user: <path:secret/data/db#user>
  password: hunter2
"""

PLACEHOLDERS_ONLY = b"""apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    avp.kubernetes.io/path: secret/data/db
stringData:
  user: <user>
  url: postgres://<path:secret/data/db#user>:<vault:secret/db#password>@db:5432/app
  generic: postgres://<user>:<password>@db:5432/app
  empty: ""
data:
  token: PHBhdGg6c2VjcmV0L2RhdGEvYXBwI3Rva2VuPg==
  raw: <path:secret/data/app#raw | base64encode>
"""

SEALED = b"""apiVersion: sealops.dev/v1alpha1
kind: SealedSecret
metadata: {name: db, namespace: prod}
spec:
  encryptedData:
    password: AgBy3i4OJSWK+PiTySYZZA==
"""

FAILING = [
    (
        "generic-placeholder-without-avp-path",
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: g}\nstringData:\n  url: pg://<user>:hunter2@db\n",
        5,
        "stringData.url",
        "<key> is a placeholder only where avp.kubernetes.io/path says where to read it",
    ),
    (
        "plaintext-secret",
        PLAIN_SECRET,
        8,
        "stringData.password",
        "a literal value next to a placeholder",
    ),
    (
        "base64-data",
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata:\n  k: "
        + base64.b64encode(b"literal")
        + b"\n",
        5,
        "data.k",
        "base64 data is decoded before judging",
    ),
    (
        "json-secret",
        b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"j"},"stringData":{"a":"b"}}',
        1,
        "stringData.a",
        "JSON manifests are YAML too",
    ),
    (
        "secret-in-list",
        b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n"
        b"  metadata: {name: l}\n  stringData:\n    a: b\n",
        8,
        "stringData.a",
        "Lists are looked into",
    ),
    (
        "pem-key",
        b"key: |\n  -----BEGIN RSA PRIVATE KEY-----\n  MIIE\n",
        2,
        "PEM private key",
        "a PEM private key anywhere",
    ),
    ("pkcs8-key", b"-----BEGIN PRIVATE KEY-----\n", 1, "PEM private key", "PKCS#8 too"),
    (
        "vault-token",
        b"env:\n  VAULT_TOKEN: hvs.CAESIJlWh0Qa7bQ1Zx2YH4xJj3kzLQ\n",
        2,
        "Vault token",
        "modern hvs. tokens",
    ),
    ("legacy-token", b"token = s.Nf8fLaTeRZ0zqF1xA5D2bC7q\n", 1, "Vault token", "legacy s. tokens"),
    (
        "helm-template",
        b"{{- if .Values.x }}\nkey: hvs.CAESIJlWh0Qa7bQ1Zx2YH4xJj3kzLQ\n{{ end }}\n",
        2,
        "Vault token",
        "text checks still run on files that are not YAML",
    ),
]

PASSING = [
    ("sealed-secret", SEALED, "SealedSecrets are safe to commit"),
    ("placeholders-only", PLACEHOLDERS_ONLY, "argocd-vault-plugin and vault placeholders"),
    (
        "configmap",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
        "ConfigMaps are not secret",
    ),
    (
        "lookalike-words",
        b"host: kubernetes.io\nname: s.short\nurl: https://hvs.example.com\n",
        "dotted words are not tokens",
    ),
    (
        "public-cert",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "certificates are public",
    ),
]


@pytest.mark.parametrize(
    ("content", "line", "fragment", "reason"),
    [c[1:] for c in FAILING],
    ids=[c[0] for c in FAILING],
)
def test_scan_finds(content: bytes, line: int, fragment: str, reason: str) -> None:
    findings = scan("f.yaml", content)
    assert findings, reason
    assert any(f.line == line and fragment in f.message for f in findings), (reason, findings)


@pytest.mark.parametrize(
    ("content", "reason"), [c[1:] for c in PASSING], ids=[c[0] for c in PASSING]
)
def test_scan_passes(content: bytes, reason: str) -> None:
    assert scan("f.yaml", content) == [], reason


def test_findings_never_quote_the_value() -> None:
    (finding,) = scan("f.yaml", PLAIN_SECRET)
    assert "hunter2" not in str(finding)


def test_cli_check(seal: Seal, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "sealed.yaml").write_bytes(SEALED)
    (tmp_path / "repo" / "placeholders.yaml").write_bytes(PLACEHOLDERS_ONLY)
    assert seal.ok("check", "repo").stdout == b""
    (tmp_path / "repo" / "plain.yaml").write_bytes(PLAIN_SECRET)
    run = seal("check", "repo")
    assert run.code == 1
    assert run.stdout.decode() == (
        "repo/plain.yaml:8: plaintext Secret prod/db: stringData.password holds a literal value\n"
    )
    assert run.stderr.startswith("Error: 1 finding(s) in 1 file(s)")
    assert "hunter2" not in run.stderr + run.stdout.decode()


def test_cli_check_missing_file(seal: Seal) -> None:
    assert "not found" in error_line(seal("check", "nope.yaml"))


def test_pre_commit_hook_declared() -> None:
    import yaml

    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "seal-check"
    assert hook["entry"] == "seal check"
