"""The ``seal`` CLI, run as a user runs it: the fixed invocations, round trips, and bad input."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.unit.conftest import Seal, error_line


def secret_yaml(
    data: dict[str, bytes], *, name: str = "db", namespace: str | None = "prod", **meta: Any
) -> bytes:
    metadata: dict[str, Any] = {"name": name, **meta}
    if namespace:
        metadata["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }
    return yaml.safe_dump(doc).encode()


def unsealed_data(run_stdout: bytes) -> dict[str, bytes]:
    docs = [d for d in yaml.safe_load_all(run_stdout) if d]
    assert len(docs) == 1
    return {k: base64.b64decode(v) for k, v in (docs[0].get("data") or {}).items()}


# ---------------------------------------------------------------------------------------------
# The fixed invocations and round trips


def test_keygen_seal_unseal_round_trip(seal: Seal, tmp_path: Path) -> None:
    seal.ok("keygen", "--private-key", "KEY.pem", "--cert", "CERT.pem")
    assert (tmp_path / "KEY.pem").stat().st_mode & 0o777 == 0o600
    assert b"BEGIN RSA PRIVATE KEY" in (tmp_path / "KEY.pem").read_bytes()
    cert = x509.load_pem_x509_certificate((tmp_path / "CERT.pem").read_bytes())
    assert cert.public_key().key_size == 4096  # type: ignore[union-attr]
    validity = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert validity >= dt.timedelta(days=3649)

    values = {
        "binary": bytes(range(256)) * 3,
        "empty": b"",
        "big": os.urandom(1024 * 1024),
        "text": "ünïcode\n".encode(),
    }
    sealed = seal.ok("--cert", "CERT.pem", "-o", "yaml", stdin=secret_yaml(values))
    assert b"kind: SealedSecret" in sealed.stdout
    opened = seal.ok("unseal", "--private-key", "KEY.pem", "-o", "yaml", stdin=sealed.stdout)
    assert unsealed_data(opened.stdout) == values


def test_keygen_refuses_to_overwrite(seal: Seal, tmp_path: Path) -> None:
    (tmp_path / "KEY.pem").write_text("keep me")
    line = error_line(seal("keygen", "--private-key", "KEY.pem", "--cert", "CERT.pem"))
    assert "KEY.pem" in line and "--force" in line
    assert (tmp_path / "KEY.pem").read_text() == "keep me"


@pytest.mark.parametrize(
    "value",
    [b"\x00\xff binary\n", b"x" * (1024 * 1024), b"trailing newline\n"],
    ids=["binary", "1MiB", "newline-kept"],
)
def test_raw_round_trip_keeps_bytes(seal: Seal, keys: dict[str, Path], value: bytes) -> None:
    scope = ("--scope", "strict", "--namespace", "prod", "--name", "db")
    blob = seal.ok("raw", "--cert", str(keys["cert-4096.pem"]), *scope, stdin=value).stdout
    assert b"\n" not in blob and base64.b64decode(blob)
    plain = seal.ok(
        "unseal", "--raw", "--private-key", str(keys["key-4096.pem"]), *scope, stdin=blob
    ).stdout
    assert plain == value


def test_raw_blob_opens_only_in_its_scope(seal: Seal, keys: dict[str, Path]) -> None:
    blob = seal.ok(
        "raw",
        "--cert",
        str(keys["cert-4096.pem"]),
        "--scope",
        "namespace-wide",
        "-n",
        "prod",
        stdin=b"v",
    ).stdout
    key = str(keys["key-4096.pem"])
    ok = seal.ok(
        "unseal",
        "--raw",
        "--private-key",
        key,
        "--scope",
        "namespace-wide",
        "-n",
        "prod",
        stdin=blob,
    )
    assert ok.stdout == b"v"
    line = error_line(
        seal(
            "unseal",
            "--raw",
            "--private-key",
            key,
            "--scope",
            "namespace-wide",
            "-n",
            "dev",
            stdin=blob,
        )
    )
    assert "cannot decrypt" in line


def test_several_clusters_each_key_opens(seal: Seal, keys: dict[str, Path]) -> None:
    sealed = seal.ok(
        "--cert",
        str(keys["cert-4096.pem"]),
        "--cert",
        str(keys["cert-2048.pem"]),
        stdin=secret_yaml({"a": b"1"}),
    ).stdout
    doc = yaml.safe_load(sealed)
    assert len(doc["spec"]["encryptedData"]["a"].split(",")) == 2
    hint = doc["metadata"]["annotations"]["sealops.dev/sealed-with"]
    fps = dict(
        line.split()
        for line in (Path(__file__).parents[1] / "data" / "fingerprints.txt")
        .read_text()
        .splitlines()
    )
    assert hint == f"{fps['key-4096.pem']},{fps['key-2048.pem']}"
    for key in ("key-4096.pem", "key-2048.pem"):
        out = seal.ok("unseal", "--private-key", str(keys[key]), stdin=sealed).stdout
        assert unsealed_data(out) == {"a": b"1"}


def test_json_output_and_multi_document_input(seal: Seal, keys: dict[str, Path]) -> None:
    stream = secret_yaml({"a": b"1"}, name="one") + b"---\n" + secret_yaml({"b": b"2"}, name="two")
    out = seal.ok("--cert", str(keys["cert-4096.pem"]), "-o", "json", stdin=stream).stdout
    doc = json.loads(out)
    assert doc["kind"] == "List"
    assert [i["metadata"]["name"] for i in doc["items"]] == ["one", "two"]
    json_in = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "j", "namespace": "n"},
            "stringData": {"k": "v"},
        }
    ).encode()
    single = json.loads(
        seal.ok("--cert", str(keys["cert-4096.pem"]), "-o", "json", stdin=json_in).stdout
    )
    assert single["kind"] == "SealedSecret"


def test_bitnami_scope_annotation_is_honoured(seal: Seal, keys: dict[str, Path]) -> None:
    stream = secret_yaml(
        {"a": b"1"}, annotations={"sealedsecrets.bitnami.com/namespace-wide": "true"}
    )
    sealed = seal.ok("--cert", str(keys["cert-4096.pem"]), stdin=stream).stdout
    doc = yaml.safe_load(sealed)
    assert doc["metadata"]["annotations"]["sealops.dev/scope"] == "namespace-wide"
    # Namespace-wide: the blob opens under another name in the same namespace.
    renamed = sealed.replace(b"name: db", b"name: other")
    out = seal.ok("unseal", "--private-key", str(keys["key-4096.pem"]), stdin=renamed).stdout
    assert unsealed_data(out) == {"a": b"1"}


def test_metadata_is_cleaned_and_template_kept(seal: Seal, keys: dict[str, Path]) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/basic-auth",
        "metadata": {
            "name": "db",
            "namespace": "prod",
            "creationTimestamp": None,
            "labels": {"app": "shop"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": '{"stringData":{"a":"1"}}',
                "team": "payments",
            },
            "ownerReferences": [{"kind": "X", "name": "y", "uid": "z", "apiVersion": "v1"}],
        },
        "stringData": {"username": "u", "password": "p"},
        "status": {},
    }
    out = seal.ok("--cert", str(keys["cert-4096.pem"]), stdin=yaml.safe_dump(doc).encode()).stdout
    sealed = yaml.safe_load(out)
    assert "status" not in sealed
    assert "creationTimestamp" not in sealed["metadata"]
    assert "ownerReferences" not in sealed["metadata"]
    assert b"last-applied" not in out
    assert sealed["spec"]["template"]["type"] == "kubernetes.io/basic-auth"
    assert sealed["spec"]["template"]["metadata"] == {
        "labels": {"app": "shop"},
        "annotations": {"team": "payments"},
    }
    back = yaml.safe_load(
        seal.ok("unseal", "--private-key", str(keys["key-4096.pem"]), stdin=out).stdout
    )
    assert back["type"] == "kubernetes.io/basic-auth"
    assert back["metadata"]["labels"] == {"app": "shop"}


def test_create_from_literals_files_and_env_file(
    seal: Seal, keys: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "tls.crt").write_bytes(b"CERT\n")
    (tmp_path / "app.env").write_text("# comment\nUSER=admin\nPASS=a=b\n")
    out = seal.ok(
        "create",
        "web",
        "-n",
        "shop",
        "--cert",
        str(keys["cert-4096.pem"]),
        "--from-literal",
        "token=abc",
        "--from-file",
        "tls.crt",
        "--from-file",
        "ca=tls.crt",
        "--from-env-file",
        "app.env",
    ).stdout
    back = seal.ok("unseal", "--private-key", str(keys["key-4096.pem"]), stdin=out).stdout
    assert unsealed_data(back) == {
        "token": b"abc",
        "tls.crt": b"CERT\n",
        "ca": b"CERT\n",
        "USER": b"admin",
        "PASS": b"a=b",
    }


def test_write_flag_writes_whole_file_atomically(
    seal: Seal, keys: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("previous content\n")
    # A failure leaves the previous file as it was and no temporary file behind.
    bad = secret_yaml({"a": b"1"}).replace(b"kind: Secret", b"kind: ConfigMap")
    error_line(seal("--cert", str(keys["cert-4096.pem"]), "-w", "out.yaml", stdin=bad))
    assert target.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    # Success replaces it whole.
    run = seal.ok(
        "--cert", str(keys["cert-4096.pem"]), "-w", "out.yaml", stdin=secret_yaml({"a": b"1"})
    )
    assert run.stdout == b""
    assert yaml.safe_load(target.read_text())["kind"] == "SealedSecret"
    # A folder that does not exist: one error line, nothing written.
    line = error_line(
        seal(
            "--cert",
            str(keys["cert-4096.pem"]),
            "-w",
            "missing/out.yaml",
            stdin=secret_yaml({"a": b"1"}),
        )
    )
    assert "missing/out.yaml" in line
    assert not (tmp_path / "missing").exists()


# ---------------------------------------------------------------------------------------------
# merge-into, reencrypt, migrate


def test_merge_into_keeps_other_values_and_exact_hint(
    seal: Seal, keys: dict[str, Path], tmp_path: Path
) -> None:
    cert_a, cert_b = str(keys["cert-4096.pem"]), str(keys["cert-2048.pem"])
    seal.ok("--cert", cert_a, "-w", "sealed.yaml", stdin=secret_yaml({"a": b"1", "b": b"2"}))
    before = yaml.safe_load((tmp_path / "sealed.yaml").read_text())
    # After a rotation: the new value is sealed with another certificate.
    seal.ok(
        "--cert", cert_b, "--merge-into", "sealed.yaml", stdin=secret_yaml({"b": b"new", "c": b"3"})
    )
    after = yaml.safe_load((tmp_path / "sealed.yaml").read_text())
    assert after["spec"]["encryptedData"]["a"] == before["spec"]["encryptedData"]["a"]
    hint = after["metadata"]["annotations"]["sealops.dev/sealed-with"]
    fp_a = before["metadata"]["annotations"]["sealops.dev/sealed-with"]
    b_parts = dict(part.split("=", 1) for part in hint.split(";"))
    assert b_parts["a"] == fp_a
    assert b_parts["b"] == b_parts["c"] != fp_a
    out = seal.ok(
        "unseal",
        "--private-key",
        str(keys["key-4096.pem"]),
        "--private-key",
        str(keys["key-2048.pem"]),
        "sealed.yaml",
    ).stdout
    assert unsealed_data(out) == {"a": b"1", "b": b"new", "c": b"3"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": "other"}, "is named 'db'"),
        ({"namespace": "dev"}, "namespace 'prod'"),
        ({"annotations": {"sealops.dev/scope": "namespace-wide"}}, "is sealed strict"),
    ],
    ids=["other-name", "other-namespace", "other-scope"],
)
def test_merge_into_refuses_another_scope_or_name(
    seal: Seal, keys: dict[str, Path], tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    cert = str(keys["cert-4096.pem"])
    seal.ok("--cert", cert, "-w", "sealed.yaml", stdin=secret_yaml({"a": b"1"}))
    before = (tmp_path / "sealed.yaml").read_bytes()
    args: dict[str, Any] = {"name": "db", "namespace": "prod", **change}
    line = error_line(
        seal("--cert", cert, "--merge-into", "sealed.yaml", stdin=secret_yaml({"b": b"2"}, **args))
    )
    assert expected in line and "sealed.yaml" in line
    assert (tmp_path / "sealed.yaml").read_bytes() == before


def test_offline_reencrypt_moves_values_to_the_new_key(seal: Seal, keys: dict[str, Path]) -> None:
    old_key, new_cert = str(keys["key-4096.pem"]), str(keys["cert-2048.pem"])
    sealed = seal.ok("--cert", str(keys["cert-4096.pem"]), stdin=secret_yaml({"a": b"1"})).stdout
    moved = seal.ok("reencrypt", "--private-key", old_key, "--cert", new_cert, stdin=sealed).stdout
    doc = yaml.safe_load(moved)
    fp_new = yaml.safe_load(seal.ok("--cert", new_cert, stdin=secret_yaml({"x": b""})).stdout)[
        "metadata"
    ]["annotations"]["sealops.dev/sealed-with"]
    assert doc["metadata"]["annotations"]["sealops.dev/sealed-with"] == fp_new
    assert doc["metadata"]["annotations"]["sealops.dev/scope"] == "strict"
    out = seal.ok("unseal", "--private-key", str(keys["key-2048.pem"]), stdin=moved).stdout
    assert unsealed_data(out) == {"a": b"1"}
    refused = error_line(seal("unseal", "--private-key", old_key, stdin=moved))
    assert "made for a 2048-bit key, not the given 4096-bit" in refused  # the old key's size


def test_migrate_bitnami_keeps_ciphertexts(seal: Seal, keys: dict[str, Path]) -> None:
    vectors = json.loads((Path(__file__).parents[1] / "data" / "vectors.json").read_text())
    case = next(
        c
        for c in vectors
        if c["scope"] == "namespace-wide"
        and c["key_file"] == "key-4096.pem"
        and not c.get("expect_fail")
    )
    bitnami = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {
            "name": case["name"] or "any",
            "namespace": case["namespace"],
            "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"},
            "creationTimestamp": None,
        },
        "spec": {
            "encryptedData": {"value": case["ciphertext_b64"]},
            "template": {"metadata": {"labels": {"app": "x"}}, "type": "Opaque"},
        },
    }
    out = seal.ok("migrate", stdin=yaml.safe_dump(bitnami).encode()).stdout
    doc = yaml.safe_load(out)
    assert doc["apiVersion"] == "sealops.dev/v1alpha1"
    assert doc["metadata"]["annotations"] == {"sealops.dev/scope": "namespace-wide"}
    assert doc["spec"]["encryptedData"]["value"] == case["ciphertext_b64"]
    assert doc["spec"]["template"]["metadata"] == {"labels": {"app": "x"}}
    back = seal.ok("unseal", "--private-key", str(keys["key-4096.pem"]), stdin=out).stdout
    assert unsealed_data(back) == {"value": base64.b64decode(case["plaintext_b64"])}


def test_unseal_accepts_a_bitnami_key_backup_list(
    seal: Seal, keys: dict[str, Path], tmp_path: Path
) -> None:
    def tls_secret(name: str, key: str, cert: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {
                "name": name,
                "namespace": "kube-system",
                "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
            },
            "data": {
                "tls.key": base64.b64encode(keys[key].read_bytes()).decode(),
                "tls.crt": base64.b64encode(keys[cert].read_bytes()).decode(),
            },
        }

    backup = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            tls_secret("sealed-secrets-key1", "key-2048.pem", "cert-2048.pem"),
            tls_secret("sealed-secrets-key2", "key-4096.pem", "cert-4096.pem"),
        ],
    }
    (tmp_path / "backup.yaml").write_text(yaml.safe_dump(backup))
    sealed = seal.ok("--cert", str(keys["cert-4096.pem"]), stdin=secret_yaml({"a": b"1"})).stdout
    out = seal.ok("unseal", "--private-key", "backup.yaml", stdin=sealed).stdout
    assert unsealed_data(out) == {"a": b"1"}


# ---------------------------------------------------------------------------------------------
# Bad input: one line, non-zero exit, nothing written


def _expired_cert(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=20))
        .not_valid_after(now - dt.timedelta(days=10))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "expired.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


BAD_INPUT: list[tuple[str, bytes, list[str], str, str]] = [
    # (id, stdin, extra args, expected fragment, reason)
    (
        "non-secret",
        secret_yaml({"a": b"1"}).replace(b"kind: Secret", b"kind: ConfigMap"),
        [],
        "expected a v1 Secret",
        "only Secrets can be sealed",
    ),
    (
        "malformed-yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: [\n",
        [],
        "malformed YAML at line",
        "the parser's position is reported, not the text",
    ),
    (
        "not-base64",
        secret_yaml({"a": b"1"}).replace(b"a: MQ==", b"a: '%%%'"),
        [],
        "data.a: is not valid base64",
        "data values must be base64",
    ),
    (
        "strict-without-namespace",
        secret_yaml({"a": b"1"}, namespace=None),
        [],
        "metadata.namespace",
        "strict scope binds the namespace into the label",
    ),
    (
        "scalar-document",
        b"just a string\n",
        [],
        "not a Kubernetes object",
        "a manifest is a mapping",
    ),
    (
        "unknown-scope",
        secret_yaml({"a": b"1"}, annotations={"sealops.dev/scope": "galaxy-wide"}),
        [],
        "unknown scope",
        "annotation values are checked",
    ),
]


@pytest.mark.parametrize(
    ("stdin", "extra", "expected", "reason"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_manifest_input(
    seal: Seal, keys: dict[str, Path], stdin: bytes, extra: list[str], expected: str, reason: str
) -> None:
    line = error_line(seal("--cert", str(keys["cert-4096.pem"]), *extra, stdin=stdin))
    assert expected in line, reason


def test_secret_value_never_in_error(seal: Seal, keys: dict[str, Path]) -> None:
    leaky = (
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: x, namespace: y}\n"
        b"stringData: {pw: hunter2-very-secret}\n: broken: [\n"
    )
    line = error_line(seal("--cert", str(keys["cert-4096.pem"]), stdin=leaky))
    assert "hunter2" not in line


def test_expired_certificate(seal: Seal, tmp_path: Path) -> None:
    expired = _expired_cert(tmp_path)
    line = error_line(seal("--cert", str(expired), stdin=secret_yaml({"a": b"1"})))
    assert "expired" in line and "expired.pem" in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"hello, not a certificate\n", "not a PEM certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "not a valid certificate",
        ),
    ],
    ids=["text", "broken-pem"],
)
def test_cert_that_is_not_a_certificate(
    seal: Seal, tmp_path: Path, content: bytes, expected: str
) -> None:
    (tmp_path / "bad.pem").write_bytes(content)
    assert expected in error_line(seal("--cert", "bad.pem", stdin=secret_yaml({"a": b"1"})))


def test_private_key_given_as_cert(seal: Seal, keys: dict[str, Path]) -> None:
    line = error_line(seal("--cert", str(keys["key-4096.pem"]), stdin=secret_yaml({"a": b"1"})))
    assert "private key" in line


def test_unreadable_file(seal: Seal, keys: dict[str, Path], tmp_path: Path) -> None:
    line = error_line(seal("--cert", str(keys["cert-4096.pem"]), "missing.yaml"))
    assert "missing.yaml" in line and "not found" in line
    (tmp_path / "adir").mkdir()
    assert "is a directory" in error_line(seal("--cert", str(keys["cert-4096.pem"]), "adir"))


def test_empty_stdin(seal: Seal, keys: dict[str, Path]) -> None:
    # A manifest must be there; a raw value may be empty (tests/unit/test_kubeseal_parity.py).
    assert "stdin is empty" in error_line(seal("--cert", str(keys["cert-4096.pem"]), stdin=b""))


def test_no_certificate(seal: Seal) -> None:
    assert "no certificate" in error_line(seal(stdin=secret_yaml({"a": b"1"})))


def test_tampered_sealed_secret(seal: Seal, keys: dict[str, Path]) -> None:
    sealed = seal.ok("--cert", str(keys["cert-4096.pem"]), stdin=secret_yaml({"a": b"1"})).stdout
    doc = yaml.safe_load(sealed)
    blob = bytearray(base64.b64decode(doc["spec"]["encryptedData"]["a"]))
    blob[-1] ^= 1
    doc["spec"]["encryptedData"]["a"] = base64.b64encode(bytes(blob)).decode()
    line = error_line(
        seal(
            "unseal", "--private-key", str(keys["key-4096.pem"]), stdin=yaml.safe_dump(doc).encode()
        )
    )
    assert "spec.encryptedData.a" in line and "SealedSecret prod/db" in line
    doc["spec"]["encryptedData"]["a"] = "not base64!"
    line = error_line(
        seal(
            "unseal", "--private-key", str(keys["key-4096.pem"]), stdin=yaml.safe_dump(doc).encode()
        )
    )
    assert "not valid base64" in line
