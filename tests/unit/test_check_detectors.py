"""``seal check`` against the plaintext it used to miss (issue 10), and what it must still pass.

Each miss is a class with variants: other encodings of the same file, other ways a YAML file
fails to parse, other places a literal hides beside a placeholder, other token formats.
"""

from __future__ import annotations

import base64
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from sealer.check import MAX_FILE_BYTES, check_paths, judge, scan
from sealer.envelope import Scope, encode_blob, hybrid_encrypt, label_for
from sealer.keys import load_recipient
from tests.unit.conftest import Seal, error_line

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data"

# Every value planted below: no finding may quote one.
PLANTED = [
    "hunter2",
    "s3cr3t-Pa55",
    "AKIAZ7QW3RTY6UIO2PLK",
    "ghp_aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2bC4",
    "glpat-Xy7Qm3Rt9Vb2Nc5Lk8Jh",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "hvs.CAESIJlWh0Qa7bQ1Zx2YH4xJj3kzLQ",
    "wJalrXUtnFEMIK7MDENGbPxRfiCYzzKEYq7Ws9Tk",
]
AWS_KEY, GITHUB, GITLAB, SLACK, STRIPE, VAULT = PLANTED[2:8]
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZW5hbnQtYSIsImlhdCI6MTcwMDAwMDAwMH0."
    "Q2hhbmdlZC1zaWduYXR1cmUtdmFsdWUtZm9yLXRlc3Rz"
)
PLANTED.append(JWT)
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def secret(body: str, *, name: str = "db", annotations: str = "") -> str:
    meta = f"metadata:\n  name: {name}\n  namespace: prod\n" + (
        f"  annotations:\n{annotations}" if annotations else ""
    )
    return f"apiVersion: v1\nkind: Secret\n{meta}{body}"


PLAIN = secret("stringData:\n  password: hunter2\n")  # password on line 6
AVP = "    avp.kubernetes.io/path: secret/data/db\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def envelope(seed: int, *, rsa_bytes: int = 512) -> str:
    """A value with the sealed layout: 2-byte RSA length, RSA part, AES-GCM part (random)."""
    rng = random.Random(seed)
    return encode_blob(rsa_bytes.to_bytes(2, "big") + rng.randbytes(rsa_bytes + 48))


def real_sealed() -> str:
    recipient = load_recipient((DATA / "cert-2048.pem").read_bytes())
    label = label_for(Scope.STRICT, "prod", "db")
    return encode_blob(hybrid_encrypt(recipient.public_key, b"hunter2", label))


def with_token_inside(blob: str, token: str) -> str:
    """A sealed-layout blob whose base64 text contains ``token`` (4-aligned, past the
    header): only skipping sealed values keeps the token detectors quiet on it."""
    assert len(token) % 4 == 0
    return blob[:40] + token + blob[40 + len(token) :]


def sealed_secret(values: dict[str, str], *, api: str = "sealops.dev/v1alpha1") -> str:
    lines = "".join(f"    {k}: {v}\n" for k, v in values.items())
    return (
        f"apiVersion: {api}\nkind: SealedSecret\nmetadata: {{name: db, namespace: prod}}\n"
        f"spec:\n  encryptedData:\n{lines}"
    )


# (id, path, content, line, fragment, reason)
FINDS: list[tuple[str, str, bytes, int, str, str]] = [
    # --- encodings -------------------------------------------------------------------------
    (
        "utf16-bom",
        "s.yaml",
        PLAIN.encode("utf-16"),
        7,
        "stringData.password",
        "PowerShell's default (`>` / Out-File): UTF-16 LE with a BOM",
    ),
    (
        "utf16le-no-bom",
        "s.yaml",
        PLAIN.encode("utf-16-le"),
        7,
        "stringData.password",
        "UTF-16 without a BOM, found by where the NULs are",
    ),
    (
        "utf16be-bom",
        "s.yaml",
        b"\xfe\xff" + PLAIN.encode("utf-16-be"),
        7,
        "stringData.password",
        "big-endian UTF-16 with a BOM",
    ),
    (
        "utf16be-no-bom",
        "s.yaml",
        PLAIN.encode("utf-16-be"),
        7,
        "stringData.password",
        "big-endian UTF-16 without a BOM",
    ),
    (
        "utf32-bom",
        "s.yaml",
        PLAIN.encode("utf-32"),
        7,
        "stringData.password",
        "UTF-32 with a BOM (its BOM starts like UTF-16's)",
    ),
    (
        "utf32be-no-bom",
        "s.yaml",
        PLAIN.encode("utf-32-be"),
        7,
        "stringData.password",
        "UTF-32 BE without a BOM",
    ),
    (
        "utf8-bom",
        "s.yaml",
        b"\xef\xbb\xbf" + PLAIN.encode(),
        7,
        "stringData.password",
        "UTF-8 with a BOM (Notepad)",
    ),
    (
        "utf16-token-script",
        "deploy.ps1",
        f"$env:GH = '{GITHUB}'\r\n".encode("utf-16"),
        1,
        "GitHub Token",
        "token detectors run on the decoded text of any file",
    ),
    (
        "bytes-token",
        "blob.bin",
        b"\x89\xff\x00\x80 " + GITHUB.encode() + b" \xfe\n",
        1,
        "GitHub Token",
        "undecodable bytes are scanned as bytes, not skipped",
    ),
    (
        "bytes-with-utf16-bom",
        "blob.bin",
        b"\xff\xfe\x01 " + GITHUB.encode() + b" \x80\n",
        1,
        "GitHub Token",
        "a binary that starts like a UTF-16 BOM: its bytes are scanned too",
    ),
    (
        "bytes-yaml-fails-closed",
        "s.yaml",
        b"kind: Secret\xff\xfe\x80\x81\n",
        1,
        "not text in a known encoding",
        "a YAML file that is no text at all is not passed",
    ),
    # --- YAML that does not parse ----------------------------------------------------------
    (
        "helm-template-outside-chart",
        "s.yaml",
        b"{{- if .Values.on }}\n" + PLAIN.encode() + b"{{- end }}\n",
        8,
        "stringData.password",
        "a `{{ }}` file is read with each expression as a placeholder; the literal is found",
    ),
    (
        "helm-template-is-unparsable",
        "s.yaml",
        b"{{- if .Values.on }}\n" + PLAIN.encode() + b"{{- end }}\n",
        1,
        "cannot be parsed as YAML",
        "outside a Helm chart's templates/, a template fails closed unless allowed",
    ),
    (
        "malformed-first-document",
        "s.yaml",
        b"a: b: c\n---\n" + PLAIN.encode(),
        9,
        "stringData.password",
        "documents after a bad one are still checked",
    ),
    (
        "malformed-first-fails-closed",
        "s.yaml",
        b"a: b: c\n---\n" + PLAIN.encode(),
        1,
        "mapping values are not allowed",
        "the bad document is reported, with its line",
    ),
    (
        "nul-in-later-document",
        "s.yaml",
        PLAIN.encode() + b'---\nkind: ConfigMap\ndata: {a: "x\0"}\n',
        7,
        "stringData.password",
        "a NUL in document 2 no longer hides document 1",
    ),
    (
        "nul-document-fails-closed",
        "s.yaml",
        PLAIN.encode() + b'---\nkind: ConfigMap\ndata: {a: "x\0"}\n',
        10,
        "such as NUL",
        "the NUL's own document is reported at its line",
    ),
    (
        "secret-after-nul-document",
        "s.yaml",
        b'kind: ConfigMap\ndata: {a: "x\0"}\n---\n' + PLAIN.encode(),
        10,
        "stringData.password",
        "and the documents after it are checked",
    ),
    (
        "duplicate-section-hides-literal",
        "s.yaml",
        (PLAIN + "stringData: {}\n").encode(),
        7,
        "stringData.password",
        "a second stringData (last one wins) hides nothing",
    ),
    (
        "duplicate-key-fails-closed",
        "s.yaml",
        (PLAIN + "stringData: {}\n").encode(),
        8,
        "duplicate key, first at line 6",
        "parsers differ on duplicate keys: fail closed",
    ),
    (
        "duplicate-kind",
        "s.yaml",
        PLAIN.replace("kind: Secret\n", "kind: Secret\nkind: X\n").encode(),
        8,
        "stringData.password",
        "a Secret kind anywhere among duplicates counts",
    ),
    (
        "unparsable-textual-secret",
        "s.yaml",
        secret("stringData:\n  password: hunter2\n  x: [\n").encode(),
        7,
        "(read as text)",
        "a Secret in a document that does not parse is read by indentation",
    ),
    (
        "unparsable-textual-flow",
        "s.yaml",
        secret("stringData: {password: hunter2}\nbad: : :\n").encode(),
        6,
        "stringData.password",
        "a one-line flow mapping in an unparsable document",
    ),
    (
        "unparsable-textual-block-data",
        "s.yaml",
        secret(f"data:\n  password: |\n    {b64('hunter2')}\n\tx: 1\n").encode(),
        7,
        "data.password",
        "base64 data in a block scalar, read as text",
    ),
    (
        "json-manifest-unparsable",
        "s.json",
        b'{"apiVersion": "v1", "kind": "Secret", // a comment\n "stringData": {"p": "x"}}',
        2,
        "cannot be parsed as YAML",
        "a JSON Kubernetes object that does not parse fails closed",
    ),
    (
        "deep-nesting",
        "s.yaml",
        b"a: " + b"[" * 100_000 + b"\n",
        1,
        "cannot be parsed as YAML",
        "deep nesting is a clean failure, not a traceback",
    ),
    # --- literal beside a placeholder -------------------------------------------------------
    (
        "glued-after",
        "s.yaml",
        secret('stringData:\n  password: "<path:kv/data/x#y>hunter2"\n').encode(),
        7,
        "joined to a placeholder",
        "a literal appended to a placeholder is part of the token",
    ),
    (
        "glued-before",
        "s.yaml",
        secret('stringData:\n  password: "hunter2<vault:kv/x#y>"\n').encode(),
        7,
        "joined to a placeholder",
        "and prepended",
    ),
    (
        "glued-in-data",
        "s.yaml",
        secret(f"data:\n  password: {b64('<vault:kv/x#y>hunter2')}\n").encode(),
        7,
        "joined to a placeholder",
        "base64 data is decoded before judging",
    ),
    (
        "generic-whole-value-without-avp-path",
        "s.yaml",
        secret("stringData:\n  a: <password>\n").encode(),
        7,
        "plaintext Secret prod/db: stringData.a holds a generic placeholder but no "
        "avp.kubernetes.io/path",
        "nothing fills <password> without the annotation: the renderer passes the text on, and "
        "refuses it with --deny-plaintext (once passed here, it failed in Argo CD)",
    ),
    (
        "template-expression-outside-a-chart",
        "s.yaml",
        secret('stringData:\n  password: "{{ .Values.password }}"\n').encode(),
        7,
        "plaintext Secret prod/db: stringData.password holds a literal value",
        "outside a chart's templates/ nothing fills {{ }} in a Secret: the renderer passes it on "
        "as text and refuses it with --deny-plaintext (once passed here)",
    ),
    (
        "glued-generic",
        "s.yaml",
        secret("stringData:\n  password: <password>hunter2\n", annotations=AVP).encode(),
        9,
        "joined to a placeholder",
        "generic <key> placeholders under avp's path annotation",
    ),
    (
        "credential-in-json",
        "s.yaml",
        secret(
            """stringData:\n  config.json: '{"user": "<vault:a#u>", "password": "hunter2"}'\n"""
        ).encode(),
        7,
        "literal credential beside a placeholder",
        "a JSON config with one literal",
    ),
    (
        "credential-in-env",
        "s.yaml",
        secret(
            "stringData:\n  app.env: |\n    USER=<vault:a#u>\n    DB_PASSWORD=hunter2\n"
        ).encode(),
        7,
        "literal credential beside a placeholder",
        "KEY=value lines in a file value",
    ),
    (
        "credential-in-query",
        "s.yaml",
        secret("stringData:\n  dsn: pg://db/app?user=<vault:a#u>&password=hunter2\n").encode(),
        7,
        "literal credential beside a placeholder",
        "a password query parameter",
    ),
    (
        "url-password-literal",
        "s.yaml",
        secret("stringData:\n  url: postgres://<user>:hunter2@db/app\n", annotations=AVP).encode(),
        9,
        "literal credential beside a placeholder",
        "a URL's literal userinfo password",
    ),
    (
        "url-password-literal-inline",
        "s.yaml",
        secret("stringData:\n  url: postgres://<vault:a#u>:hunter2@db/app\n").encode(),
        7,
        "literal credential beside a placeholder",
        "the same with an inline placeholder",
    ),
    (
        "example-looking-value",
        "s.yaml",
        secret("stringData:\n  password: changeme\n").encode(),
        7,
        "holds a literal value",
        "no exception for example-looking values in a Secret: a real password can look like one",
    ),
    (
        "non-string-value",
        "s.yaml",
        secret("stringData:\n  password: [hunter2]\n").encode(),
        7,
        "is not a string",
        "a value that is not a string cannot be judged: reported",
    ),
    # --- SealedSecret template.data and encryptedData ---------------------------------------
    (
        "template-data-literal",
        "s.yaml",
        (
            sealed_secret({"a": envelope(1)}) + "  template:\n    data:\n      password: hunter2\n"
        ).encode(),
        9,
        "spec.template.data.password holds a literal value",
        "template data is not sealed: a literal there is plaintext in Git",
    ),
    (
        "template-data-literal-bitnami",
        "s.yaml",
        (
            sealed_secret({"a": envelope(1)}, api="bitnami.com/v1alpha1")
            + "  template:\n    data:\n      password: hunter2\n"
        ).encode(),
        9,
        "spec.template.data.password",
        "Bitnami's SealedSecrets too",
    ),
    (
        "template-data-credential",
        "s.yaml",
        (
            sealed_secret({"a": envelope(1)})
            + "  template:\n    data:\n      app.ini: |\n        user={{ .user }}\n"
            "        password=hunter2\n"
        ).encode(),
        9,
        "literal credential beside a placeholder",
        "a template that refers to one value and spells another",
    ),
    (
        "vaultsecret-template-literal",
        "v.yaml",
        b"apiVersion: sealops.dev/v1alpha1\nkind: VaultSecret\nmetadata: {name: db}\nspec:\n"
        b"  target:\n    name: db\n    template:\n      data:\n        url: '{{ url }}'\n"
        b"        password: hunter2\n",
        10,
        "VaultSecret db: spec.target.template.data.password holds a literal value",
        "a VaultSecret's template is committed in clear too",
    ),
    (
        "encrypted-data-is-base64-text",
        "s.yaml",
        sealed_secret({"password": b64("hunter2")}).encode(),
        6,
        "base64 of readable text, not a sealed value",
        "a Secret's base64 data pasted into encryptedData is plaintext",
    ),
    (
        "encrypted-data-not-base64",
        "s.yaml",
        sealed_secret({"password": "hunter2!"}).encode(),
        6,
        "is not base64",
        "plain text in encryptedData",
    ),
    (
        "encrypted-data-token",
        "s.yaml",
        sealed_secret({"token": GITHUB}).encode(),
        6,
        "GitHub Token",
        "a token in encryptedData is not skipped: it is not a sealed value",
    ),
    # --- kustomize secretGenerator ----------------------------------------------------------
    (
        "kustomize-literal",
        "kustomization.yaml",
        b"secretGenerator:\n- name: db\n  literals:\n  - user=<vault:kv/db#user>\n  - password=hunter2\n",
        5,
        "kustomize secretGenerator db: literals[1] (password) holds a literal value",
        "generator literals are plaintext in Git",
    ),
    (
        "kustomize-literal-quoted",
        "kustomization.yaml",
        b'secretGenerator:\n- name: db\n  literals: ["password=\\"hunter2\\""]\n',
        3,
        "literals[0]",
        "quoted values too",
    ),
    (
        "kustomize-literal-kind",
        "k.yaml",
        b"apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nsecretGenerator:\n"
        b"- name: db\n  literals: [password=hunter2]\n",
        5,
        "literals[0]",
        "a Component (any file name) has generators too",
    ),
    # --- tokens (detect-secrets) and our own ------------------------------------------------
    (
        "aws-key-id",
        "c.yaml",
        f"kind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  k: {AWS_KEY}\n".encode(),
        4,
        "AWS Access Key (detect-secrets AWSKeyDetector) in ConfigMap c: data.k",
        "AWS key IDs, named by object and field",
    ),
    (
        "aws-secret-key",
        "env.sh",
        f'aws_secret_access_key = "{PLANTED[8]}"\n'.encode(),
        1,
        "AWS Access Key",
        "AWS secret keys by their variable name",
    ),
    (
        "github-token",
        "ci.yml",
        f"env:\n  GH_TOKEN: {GITHUB}\n".encode(),
        2,
        "GitHub Token",
        "GitHub tokens",
    ),
    (
        "gitlab-token",
        "notes.txt",
        f"token {GITLAB}\n".encode(),
        1,
        "GitLab Token",
        "GitLab tokens, in any file",
    ),
    ("slack-token", "a.json", f'{{"slack": "{SLACK}"}}'.encode(), 1, "Slack Token", "Slack"),
    ("stripe-key", "a.py", f"KEY = '{STRIPE}'\n".encode(), 1, "Stripe Access Key", "Stripe"),
    (
        "jwt",
        "kubeconfig",
        f"users:\n- user: {{token: {JWT}}}\n".encode(),
        2,
        "JSON Web Token",
        "JWTs (ServiceAccount tokens in a kubeconfig)",
    ),
    (
        "openssh-key",
        "id",
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n",
        1,
        "PEM private key",
        "OpenSSH keys",
    ),
    (
        "pgp-key",
        "k.asc",
        b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n",
        1,
        "PEM private key",
        "PGP private key blocks",
    ),
    (
        "putty-key",
        "k.ppk",
        b"PuTTY-User-Key-File-2: ssh-rsa\n",
        1,
        "Private Key",
        "PuTTY keys (detect-secrets)",
    ),
    (
        "vault-token-in-configmap",
        "c.yaml",
        f"kind: ConfigMap\nmetadata: {{name: c, namespace: n}}\ndata:\n  t: {VAULT}\n".encode(),
        4,
        "Vault token in ConfigMap n/c: data.t",
        "Vault tokens keep our own pattern",
    ),
    (
        "token-beside-placeholders",
        "s.yaml",
        secret(f"stringData:\n  a: <vault:kv/x#a>\n  b: {GITHUB}\n").encode(),
        8,
        "GitHub Token",
        "a token in a Secret is reported by type as well as by the Secret check",
    ),
    (
        "basic-auth-url",
        "c.yaml",
        b"url: https://admin:s3cr3t-Pa55@git.example.com/repo\n",
        1,
        "Basic Auth Credentials",
        "credentials in a URL, in any file",
    ),
    (
        "token-beside-sealed-value-one-line",
        "s.json",
        (
            '{"apiVersion": "sealops.dev/v1alpha1", "kind": "SealedSecret", "spec": '
            f'{{"encryptedData": {{"k": "{envelope(8)}"}}}}, "metadata": {{"name": "db", '
            f'"annotations": {{"note": "{GITHUB}"}}}}}}'
        ).encode(),
        1,
        "GitHub Token",
        "only the sealed value is blanked, not its whole line (one-line JSON)",
    ),
    (
        "token-as-key-withheld",
        "s.yaml",
        secret(f"stringData:\n  {GITHUB}: hunter2\n").encode(),
        7,
        "<name withheld: it looks like a token>",
        "a token used as a key is not printed as the field's name",
    ),
    (
        "token-as-configmap-key",
        "c.yaml",
        f"kind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  {GITHUB}: x\n".encode(),
        4,
        "GitHub Token",
        "found, and the field (the token) is not named",
    ),
    (
        "camel-case-credential",
        "s.yaml",
        secret(
            """stringData:\n  c.json: '{"user": "<vault:a#u>", "dbPassword": "hunter2"}'\n"""
        ).encode(),
        7,
        "literal credential beside a placeholder",
        "camelCase credential keys",
    ),
    (
        "helm-templated-apiversion",
        "s.yaml",
        b"apiVersion: {{ .Values.api }}\nkind: Secret\nmetadata: {name: a}\n"
        b"stringData:\n  password: hunter2\n",
        5,
        "stringData.password",
        "a templated apiVersion does not hide a Secret",
    ),
    (
        "certificate-and-key-in-value",
        "s.yaml",
        secret(
            "stringData:\n  bundle: |\n    -----BEGIN CERTIFICATE-----\n    MIIB\n"
            "    -----END CERTIFICATE-----\n    -----BEGIN PRIVATE KEY-----\n    MIIE\n"
            "    -----END PRIVATE KEY-----\n"
        ).encode(),
        7,
        "stringData.bundle holds a literal value",
        "only certificates alone are public; a private key beside one is not",
    ),
]


# (id, path, content, reason)
PASSES: list[tuple[str, str, bytes, str]] = [
    (
        "sealed-values",
        "s.yaml",
        sealed_secret({f"k{i}": envelope(i) for i in range(200)}).encode(),
        "SealedSecret encryptedData is never reported (200 random sealed-layout values; no "
        "entropy detector is enabled)",
    ),
    (
        "sealed-real",
        "s.yaml",
        sealed_secret({"password": real_sealed()}).encode(),
        "a value sealed by the real envelope code",
    ),
    (
        "sealed-multi-recipient",
        "s.yaml",
        sealed_secret({"k": f"{envelope(1)},{envelope(2, rsa_bytes=256)}"}).encode(),
        "a value sealed for two clusters (comma-joined blobs)",
    ),
    (
        "sealed-token-shaped-ciphertext",
        "s.yaml",
        sealed_secret({"k": with_token_inside(envelope(3), AWS_KEY)}).encode(),
        "ciphertext whose base64 happens to contain a token shape: sealed lines are not scanned",
    ),
    (
        "sealed-bitnami",
        "s.yaml",
        sealed_secret(
            {"k": with_token_inside(envelope(4), AWS_KEY)}, api="bitnami.com/v1alpha1"
        ).encode(),
        "Bitnami SealedSecrets too",
    ),
    (
        "sealed-block-scalar",
        "s.yaml",
        sealed_secret(
            {
                "k": "|\n      "
                + "\n      ".join([envelope(5)[i : i + 60] for i in range(0, len(envelope(5)), 60)])
            }
        ).encode(),
        "a sealed value wrapped in a block scalar (Go's decoder skips newlines)",
    ),
    (
        "sealed-template-refs",
        "s.yaml",
        (
            sealed_secret({"password": envelope(6)}) + "  template:\n    data:\n"
            "      url: 'postgres://app:{{ .password }}@db/app'\n      empty: ''\n"
        ).encode(),
        "template.data that refers to sealed values",
    ),
    (
        "placeholders-alone",
        "s.yaml",
        secret(
            "stringData:\n  a: <path:secret/data/db#password>\n  b: <vault:secret/db#password>\n"
            "  c: <path:secret/data/db#password#1>\n"
            "  d: <path:secret/data/db#cfg | jsonPath {.user} | base64encode>\n"
        ).encode(),
        "inline placeholders, with versions and modifiers",
    ),
    (
        "placeholders-in-data",
        "s.yaml",
        secret(
            f"data:\n  a: {b64('<vault:secret/db#password>')}\n"
            "  b: <path:secret/data/db#raw | base64encode>\n"
        ).encode(),
        "data: base64 of a placeholder, or a placeholder the renderer base64-encodes",
    ),
    (
        "generic-with-avp-path",
        "s.yaml",
        secret(
            "stringData:\n  user: <username>\n  url: postgres://<user>:<password>@db:5432/app\n",
            annotations=AVP,
        ).encode(),
        "generic <key> placeholders with avp.kubernetes.io/path",
    ),
    (
        "structure-around-placeholders",
        "s.yaml",
        secret(
            "stringData:\n  auth: Bearer <vault:a#token>\n  key: sk-<vault:a#key>\n"
            "  host: https://<vault:a#host>.example.com:8443/v1\n"
            "  dsn: postgres://<vault:a#u>:<vault:a#p>@db:5432/app?sslmode=require\n"
            "  cfg: 'user=<vault:a#u> password=<vault:a#p>'\n"
            '  json: \'{"password": "<vault:a#p>", "port": 5432}\'\n'
        ).encode(),
        "literal text joined by punctuation or a space is structure: `Bearer `, `sk-`, a URL",
    ),
    (
        "empty-values",
        "s.yaml",
        secret("stringData:\n  a: ''\n  b:\n  c: ~\n  d: ' '\ndata: {}\n").encode(),
        "empty, null and blank values hold nothing",
    ),
    ("empty-sections", "s.yaml", secret("stringData:\ndata:\n").encode(), "stringData empty"),
    (
        "aws-documented-example",
        "c.yaml",
        b"key: AKIAIOSFODNN7EXAMPLE\n",
        "AWS's documented example key ID (EXAMPLE) is not a credential",
    ),
    (
        "filler-tokens",
        "c.yaml",
        b"gh: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\naws: AKIAXXXXXXXXXXXXXXXX\n",
        "fillers whose last 16 characters use at most 3 different ones",
    ),
    (
        "env-references-in-url",
        "d.yaml",
        b"value: postgres://app:$(DB_PASSWORD)@db/app\nurl: https://u:${TOKEN}@h/x\n",
        "Kubernetes and shell variable references are not values",
    ),
    (
        "prose-about-keys",
        "README.md",
        b"The key is PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1.\n",
        "naming a key format in prose is not a key",
    ),
    (
        "configmap",
        "c.yaml",
        b"kind: ConfigMap\nmetadata: {name: c}\ndata: {password: x}\n",
        "ConfigMaps are not Secrets (tokens in them are still found)",
    ),
    (
        "kustomize-placeholders",
        "kustomization.yaml",
        b"secretGenerator:\n- name: db\n  literals: [user=<vault:kv/db#user>, empty=]\n"
        b"  envs: [missing.env]\n  files: [missing.key]\n",
        "placeholder literals, and files that are not in the repository",
    ),
    (
        "jsonc-config",
        "tsconfig.json",
        b'{\n  // comments are allowed here\n  "compilerOptions": {"strict": true}\n}\n',
        "JSON with comments that is no Kubernetes object (no kind/apiVersion) is not failed",
    ),
    (
        "markdown-not-yaml",
        "README.md",
        b"# Title\n\n```yaml\nkey: : value\n```\n",
        "a non-YAML file that does not parse as YAML is not an error",
    ),
    (
        "list-of-sealed",
        "l.yaml",
        (
            "apiVersion: v1\nkind: List\nitems:\n- "
            + sealed_secret({"k": envelope(7)}).replace("\n", "\n  ")
        ).encode(),
        "sealed values inside a List",
    ),
    (
        "certificate-in-tls-secret",
        "s.yaml",
        secret(
            "type: kubernetes.io/tls\nstringData:\n  tls.key: <vault:kv/tls#key>\n"
            "  tls.crt: |\n    -----BEGIN CERTIFICATE-----\n    MIIBszCCAVmgAwIBAgIU\n"
            "    -----END CERTIFICATE-----\n    -----BEGIN CERTIFICATE-----\n    MIIB\n"
            "    -----END CERTIFICATE-----\n" + f"data:\n  ca.crt: {b64(CERT)}\n"
        ).encode(),
        "certificates (and public keys) are public",
    ),
    (
        "nested-credential-objects",
        "s.yaml",
        secret(
            'stringData:\n  .dockerconfigjson: \'{"auths": {"r.io": {"auth": "<vault:a#b>"}}, '
            '"credentials": {"user": "<vault:a#u>"}, "tokens": ["<vault:a#t>"]}\'\n'
            "  cfg: 'bypass: true, host=<vault:a#h>, secretName: app'\n"
        ).encode(),
        "a credential key whose value is an object or a list, and words that only contain one",
    ),
    (
        "directives-before-marker",
        "c.yaml",
        b"%YAML 1.1\n# comment\n---\nkind: ConfigMap\n---\n---\n# only a comment\n",
        "a %YAML directive belongs to the document after its `---`; empty documents are fine",
    ),
]


def _ids(table: Sequence[tuple[object, ...]]) -> list[str]:
    return [str(row[0]) for row in table]


@pytest.mark.parametrize(
    ("path", "content", "line", "fragment", "reason"), [c[1:] for c in FINDS], ids=_ids(FINDS)
)
def test_finds(path: str, content: bytes, line: int, fragment: str, reason: str) -> None:
    findings = scan(path, content)
    assert any(f.line == line and fragment in f.message for f in findings), (reason, findings)
    for finding in findings:
        assert not any(value in str(finding) for value in PLANTED), (reason, finding)


@pytest.mark.parametrize(("path", "content", "reason"), [c[1:] for c in PASSES], ids=_ids(PASSES))
def test_passes(path: str, content: bytes, reason: str) -> None:
    assert scan(path, content) == [], reason


@pytest.mark.parametrize(
    ("value", "generic", "expected"),
    [
        ("hunter2", False, "holds a literal value"),
        ("<vault:a#b>", False, None),
        ("<vault:a#b>x", False, "holds literal text joined to a placeholder"),
        ("x<path:a#b>", False, "holds literal text joined to a placeholder"),
        ("prefix-<vault:a#b>", False, None),
        ("<vault:a#b> password=x", False, "holds a literal credential beside a placeholder"),
        ("token: '<vault:a#b>'", False, None),
        ("pg://<u>:<p>@h", True, None),
        ("pg://<u>:<p>@h", False, "holds a literal value"),
        ("pg://<u>:x@h", True, "holds a literal credential beside a placeholder"),
        ("{{ .x }}", False, "holds a literal value"),
        (
            "<password>",
            False,
            "holds a generic placeholder but no avp.kubernetes.io/path to fill it from",
        ),
        ("<password>", True, None),
        ("", False, None),
    ],
    ids=[
        "literal",
        "placeholder",
        "glued-after",
        "glued-before",
        "punctuation-prefix",
        "credential-pair",
        "quoted-placeholder-pair",
        "generic-url",
        "generic-without-avp-path",
        "generic-url-literal-password",
        "template-expression-in-a-secret",
        "generic-whole-value-without-avp-path",
        "generic-whole-value",
        "empty",
    ],
)
def test_judge_rule(value: str, generic: bool, expected: str | None) -> None:
    """The documented rule for literal text beside a placeholder, case by case."""
    assert judge(value, generic=generic) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ .x }}", None),
        ("postgres://app:{{ .password }}@db/app", None),
        ("user={{ .user }}&password=hunter2", "holds a literal credential beside a placeholder"),
        ("{{ .x }}hunter2", "holds literal text joined to a placeholder"),
    ],
    ids=["expression", "url-password-expression", "literal-credential", "glued"],
)
def test_judge_rule_in_template_data(value: str, expected: str | None) -> None:
    """In template data (a SealedSecret's, a VaultSecret's) ``{{ }}`` is the reference."""
    assert judge(value, generic=False, templates=True) == expected


def test_unparsable_reason_never_quotes_the_input() -> None:
    """PyYAML's messages quote input (an alias name, a character): only its fixed words are
    used."""
    for content in (b"a: *hunter2\n", b"a: 'x\n  hunter2", b"a: !hunter2 [\n", b"hunter2: [\n"):
        (finding,) = scan("f.yaml", content)
        assert "cannot be parsed as YAML" in finding.message
        assert "hunter2" not in str(finding)


def test_allow_unparsable_checks_as_text_only() -> None:
    helm = b"{{- if .Values.on }}\n" + PLAIN.encode() + b"{{- end }}\n"
    findings = scan("s.yaml", helm, allow_unparsable=True)
    assert [f.message for f in findings] == [
        "plaintext Secret prod/db: stringData.password holds a literal value"
    ]
    assert scan("s.yaml", b"a: b: c\n", allow_unparsable=True) == []


def test_alias_bomb_is_cheap() -> None:
    """Nine nested levels of aliases (a billion nodes expanded): nothing is expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    bomb = ("kind: List\nitems: *a9\n" + "\n".join(lines) + "\n").encode()
    began = time.monotonic()
    scan("bomb.yaml", bomb)
    assert time.monotonic() - began < 10


def _chart(tmp_path: Path, template: str) -> Path:
    chart = tmp_path / "charts" / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    (chart / "templates" / "secret.yaml").write_text(template)
    return chart


def test_helm_chart_templates_are_read_as_templates(tmp_path: Path) -> None:
    """Under a chart's templates/, a file is a template: not failed as unparsable, and its
    `{{ }}` are placeholders; a literal in it is still found."""
    template = (
        "{{- if .Values.enabled }}\napiVersion: v1\nkind: Secret\nmetadata:\n"
        '  name: {{ include "app.fullname" . }}\nstringData:\n'
        "  url: {{ .Values.url | quote }}\n  password: {{ .Values.password }}\n"
        "  {{- toYaml .Values.extra | nindent 2 }}\n{{- end }}\n"
    )
    chart = _chart(tmp_path, template)
    assert check_paths([str(tmp_path)]) == []
    (chart / "templates" / "secret.yaml").write_text(
        template.replace("{{ .Values.password }}", "hunter2")
    )
    (finding,) = check_paths([str(tmp_path)])
    assert finding.line == 8 and "stringData.password holds a literal value" in finding.message
    # The same file outside a chart fails closed.
    (tmp_path / "charts" / "app" / "Chart.yaml").unlink()
    messages = [f.message for f in check_paths([str(tmp_path)])]
    assert any("cannot be parsed as YAML" in m for m in messages), messages


def test_kustomize_files_in_the_repository(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text(
        "secretGenerator:\n- name: db\n  envs: [db.env, refs.env]\n"
        "  files: [tls.key, id=ref.txt, ../../outside.key]\n"
    )
    (tmp_path / "base" / "db.env").write_text(
        "# comment\nUSER=<vault:kv/db#user>\nPASSWORD=hunter2\n"
    )
    (tmp_path / "base" / "refs.env").write_text("USER=<vault:kv/db#user>\n")
    (tmp_path / "base" / "tls.key").write_text("hunter2\n")
    (tmp_path / "base" / "ref.txt").write_text("<vault:kv/db#cert>\n")
    (tmp_path.parent / "outside.key").write_text("hunter2\n")
    findings = [str(f) for f in check_paths([str(tmp_path / "base")], root=tmp_path)]
    kust = f"{tmp_path}/base/kustomization.yaml"
    assert findings == [
        f"{kust}:3: kustomize secretGenerator db: envs[0] (db.env) line 3 (PASSWORD) "
        "holds a literal value, in the repository",
        f"{kust}:4: kustomize secretGenerator db: files[0] (tls.key) holds a literal value, "
        "in the repository",
    ]


def test_too_large_fails_closed(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    (finding,) = check_paths([str(big)])
    assert "too large to check" in finding.message
    assert check_paths([str(big)], allow_unparsable=["*.bin"]) == []


def test_cli_allow_unparsable(seal: Seal, tmp_path: Path) -> None:
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "t.yaml").write_text("{{- if .Values.x }}\nkind: ConfigMap\n{{ end }}\n")
    run = seal("check", "legacy")
    assert run.code == 1
    assert run.stdout.decode().startswith("legacy/t.yaml:1: cannot be parsed as YAML (")
    assert seal.ok("check", "--allow-unparsable", "legacy/*.yaml", "legacy").stdout == b""


def test_pre_commit_hook_scans_every_file_type() -> None:
    """identify tags a UTF-16 file `binary`, so the hook takes every file, not only text."""
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["types"] == ["file"]
    assert "types_or" not in hook and "exclude" not in hook


def test_detect_secrets_is_imported_only_when_scanning() -> None:
    probe = (
        "import sys\nfrom sealer.cli import cli\nimport sealer.check\n"
        "print('detect_secrets' in sys.modules)\n"
        "sealer.check.scan('f', b'x')\nprint('detect_secrets' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, check=True, timeout=60
    ).stdout.split()
    assert out == [b"False", b"True"]


def test_every_example_still_passes() -> None:
    """Fix the rule, not the example: every file under examples/ passes."""
    assert check_paths([str(ROOT / "examples")]) == []


def _shape(node: object) -> object:
    """A node tree as plain data: tag, value and lines, for comparing two composers."""
    import yaml

    assert isinstance(node, yaml.Node)
    if isinstance(node, yaml.ScalarNode):  # a scalar's end decides which lines are sealed
        return (node.tag, node.value, node.start_mark.line, node.end_mark.line)
    lines = node.start_mark.line  # a collection's end mark differs between parsers, unused
    if isinstance(node, yaml.SequenceNode):
        return (node.tag, [_shape(n) for n in node.value], lines)
    return (node.tag, [(_shape(k), _shape(v)) for k, v in node.value], lines)


@pytest.mark.parametrize(
    "content",
    [c[2] for c in FINDS]
    + [c[2] for c in PASSES]
    + [b"a: &x [1, ~, {b: *x}]\nc: *x\n", b"- !!str 1\n- '2'\n- null\n- ~\n- |\n  x\n- 3\n"],
    ids=[c[0] for c in FINDS] + [c[0] for c in PASSES] + ["aliases", "tags-and-styles"],
)
def test_composer_matches_pyyaml(content: bytes) -> None:
    """The node trees built from parser events (libyaml's, and PyYAML's own parser) are the
    ones PyYAML's recursive composer builds, for every document above that parses."""
    import yaml

    from sealer.check.nodes import compose
    from sealer.detectors import decode

    text = decode(content).text
    try:
        expected = [_shape(n) for n in yaml.compose_all(text, Loader=yaml.SafeLoader)]
    except (yaml.YAMLError, RecursionError):
        return  # not YAML as a whole: the per-document tests above cover it
    for parser in {yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)}:
        nodes, problem = compose(text, parser)
        assert problem is None
        assert [_shape(n) for n in nodes] == expected


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["/dev/zero"], "is not a regular file"),
        (["missing.yaml"], "not found"),
    ],
    ids=["device-file", "missing-file"],
)
def test_cli_refuses_what_it_cannot_read(seal: Seal, args: list[str], fragment: str) -> None:
    """One `Error:` line, and no unbounded read of a device."""
    assert fragment in error_line(seal("check", *args))
