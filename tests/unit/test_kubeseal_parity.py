"""Where kubeseal is the reference: empty raw values, small keys, scope annotations, key sizes.

Each table runs the real ``seal`` CLI (or the one loader every path goes through) with variants,
and a reason per case.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sealer.envelope import Scope
from sealer.errors import KeyMaterialError
from sealer.keys import MIN_KEY_SIZE, keys_from_secret, load_private_keys, load_recipient
from sealer.manifests import scope_from_annotations
from tests.unit.conftest import Seal, error_line
from tests.unit.test_cli import secret_yaml

# ---------------------------------------------------------------------------------------------
# seal raw: stdin is the value, however short (kubeseal --raw reads stdin whole and seals it)

RAW = [
    ("empty", b"", "kubeseal --raw seals an empty value"),
    ("newline", b"\n", "whitespace is a value: sealed byte for byte, not refused as empty"),
    ("spaces", b"  ", "same: only a missing stream is an error"),
    ("one-byte", b"x", "the ordinary case still works"),
]


@pytest.mark.parametrize(("value", "reason"), [c[1:] for c in RAW], ids=[c[0] for c in RAW])
def test_raw_seals_what_stdin_holds(
    seal: Seal, keys: dict[str, Path], value: bytes, reason: str
) -> None:
    where = ["-n", "shop", "--name", "db"]
    blob = seal.ok("raw", "--cert", str(keys["cert-2048.pem"]), *where, stdin=value).stdout
    assert blob.strip(), reason
    (keys["key-2048.pem"].parent / "blob").write_bytes(blob)
    opened = seal.ok("unseal", "--raw", "--private-key", str(keys["key-2048.pem"]), *where, "blob")
    assert opened.stdout == value, reason


def test_raw_from_an_empty_file_seals_an_empty_value(seal: Seal, keys: dict[str, Path]) -> None:
    (keys["cert-2048.pem"].parent / "empty").write_bytes(b"")
    where = ["-n", "shop", "--name", "db"]
    blob = seal.ok("raw", "--cert", str(keys["cert-2048.pem"]), *where, "--from-file", "empty")
    assert blob.stdout.strip()


# ---------------------------------------------------------------------------------------------
# Keys under 2048 bits: refused wherever a certificate or key is loaded


def _small_material(tmp: Path, bits: int) -> dict[str, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "small")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=10))
        .sign(key, hashes.SHA256())
    )
    out = {
        "cert": cert.public_bytes(serialization.Encoding.PEM),
        "pub": key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    }
    paths = {}
    for kind, data in out.items():
        paths[kind] = tmp / f"small-{kind}-{bits}.pem"
        paths[kind].write_bytes(data)
    return paths


SMALL = [
    ("seal-cert-1024", 1024, ["--cert", "{cert}"], "certificate has a 1024-bit", "seal --cert"),
    ("seal-pubkey-1024", 1024, ["--cert", "{pub}"], "public key has a 1024-bit", "PKIX key too"),
    ("raw-cert-1024", 1024, ["raw", "-n", "a", "--name", "b", "--cert", "{cert}"], "1024-bit",
     "seal raw loads certificates the same way"),
    ("seal-cert-2040", 2040, ["--cert", "{cert}"], "2040-bit", "just under the bound"),
    ("unseal-key-1024", 1024, ["unseal", "--private-key", "{key}", "{sealed}"],
     "private key has a 1024-bit", "keys to open with are checked as well"),
    ("keygen-1024", 1024, ["keygen", "--private-key", "k", "--cert", "c", "--key-size", "1024"],
     "1024", "seal keygen never makes one"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("bits", "args", "fragment", "reason"), [c[1:] for c in SMALL], ids=[c[0] for c in SMALL]
)
def test_small_keys_are_refused(
    seal: Seal,
    keys: dict[str, Path],
    tmp_path: Path,
    bits: int,
    args: list[str],
    fragment: str,
    reason: str,
) -> None:
    paths = _small_material(tmp_path, bits)
    sealed = tmp_path / "sealed.yaml"
    sealed.write_bytes(
        seal.ok("--cert", str(keys["cert-2048.pem"]), stdin=secret_yaml({"a": b"1"})).stdout
    )
    filled = [a.format(sealed=sealed, **{k: str(v) for k, v in paths.items()}) for a in args]
    run = seal(*filled, stdin=secret_yaml({"a": b"1"}))
    if filled[0] == "keygen":  # click's range check: a usage error, not our one line
        assert run.code != 0 and fragment in run.stderr and not (tmp_path / "k").exists(), reason
        return
    line = error_line(run)
    assert fragment in line and f"under {MIN_KEY_SIZE} bits are refused" in line, reason


def test_a_2048_bit_certificate_is_accepted() -> None:
    data = (Path(__file__).parents[1] / "data" / "cert-2048.pem").read_bytes()
    assert load_recipient(data).public_key.key_size == 2048


def test_a_small_key_secret_is_refused_for_the_controller(tmp_path: Path) -> None:
    """The controller's keyring loads key Secrets through keys_from_secret: refused there too."""
    import base64

    pem = _small_material(tmp_path, 1024)["key"].read_bytes()
    secret = {
        "kind": "Secret",
        "metadata": {"name": "old", "namespace": "sealops-system"},
        "data": {"tls.key": base64.b64encode(pem).decode()},
    }
    with pytest.raises(KeyMaterialError, match="1024-bit RSA key"):
        keys_from_secret(secret, source="Secret sealops-system/old")
    with pytest.raises(KeyMaterialError, match="1024-bit RSA key"):
        load_private_keys(pem)


# ---------------------------------------------------------------------------------------------
# Bitnami's scope annotations: exactly "true", as upstream's SecretScope compares

CW = "sealedsecrets.bitnami.com/cluster-wide"
NW = "sealedsecrets.bitnami.com/namespace-wide"
SCOPES = [
    ("cluster-true", {CW: "true"}, Scope.CLUSTER_WIDE, "the one spelling upstream honours"),
    ("namespace-true", {NW: "true"}, Scope.NAMESPACE_WIDE, "the same for namespace-wide"),
    ("both-true", {CW: "true", NW: "true"}, Scope.CLUSTER_WIDE, "upstream checks cluster first"),
    ("cluster-True", {CW: "True"}, None, 'upstream compares == "true": strict'),
    ("cluster-TRUE", {CW: "TRUE"}, None, "no case folding"),
    ("namespace-True", {NW: "True"}, None, "no case folding for namespace-wide either"),
    ("cluster-padded", {CW: " true"}, None, "no trimming"),
    ("cluster-yes", {CW: "yes"}, None, "no YAML-1.1 booleans"),
    ("cluster-false-ns-true", {CW: "false", NW: "true"}, Scope.NAMESPACE_WIDE, "false is no scope"),
    ("cluster-True-ns-true", {CW: "True", NW: "true"}, Scope.NAMESPACE_WIDE, "as upstream"),
]


@pytest.mark.parametrize(
    ("annotations", "expected", "reason"), [c[1:] for c in SCOPES], ids=[c[0] for c in SCOPES]
)
def test_bitnami_scope_annotations_compare_exactly(
    annotations: dict[str, str], expected: Scope | None, reason: str
) -> None:
    assert scope_from_annotations(annotations, where="Secret a/b") is expected, reason


def test_a_capitalised_annotation_seals_strict_as_kubeseal_does(
    seal: Seal, keys: dict[str, Path]
) -> None:
    manifest = secret_yaml({"a": b"1"}, annotations={CW: "True"})
    doc = yaml.safe_load(seal.ok("--cert", str(keys["cert-2048.pem"]), stdin=manifest).stdout)
    assert doc["metadata"]["annotations"]["sealops.dev/scope"] == "strict"


# ---------------------------------------------------------------------------------------------
# The key-size message reaches the user's one line

SIZES = [
    ("unseal-2048-for-4096", "cert-4096.pem", ["unseal", "--private-key", "{k2048}", "s.yaml"],
     "made for a 4096-bit key, not the given 2048-bit key(s)", "no key of the right size"),
    ("unseal-4096-for-2048", "cert-2048.pem", ["unseal", "--private-key", "{k4096}", "s.yaml"],
     "made for a 2048-bit key, not the given 4096-bit key(s)", "the other way round"),
    ("reencrypt-2048-for-4096", "cert-4096.pem",
     ["reencrypt", "--private-key", "{k2048}", "--cert", "{c2048}", "s.yaml"],
     "spec.encryptedData: sealed value was made for a 4096-bit key", "offline re-encryption"),
    ("right-size-wrong-key", "cert-2048.pem",
     ["unseal", "--private-key", "{other}", "s.yaml"],
     "cannot decrypt: wrong key", "same size: the size is not the reason, so not said"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cert", "args", "fragment", "reason"), [c[1:] for c in SIZES], ids=[c[0] for c in SIZES]
)
def test_key_size_message_reaches_the_cli(
    seal: Seal,
    keys: dict[str, Path],
    tmp_path: Path,
    cert: str,
    args: list[str],
    fragment: str,
    reason: str,
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(_small_material(tmp_path, 2048)["key"].read_bytes())
    sealed = seal.ok("--cert", str(keys[cert]), stdin=secret_yaml({"a": b"1"})).stdout
    (tmp_path / "s.yaml").write_bytes(sealed)
    names = {
        "k2048": keys["key-2048.pem"],
        "k4096": keys["key-4096.pem"],
        "c2048": keys["cert-2048.pem"],
        "other": other,
    }
    line = error_line(seal(*[a.format(**names) for a in args]))
    assert fragment in line and "SealedSecret prod/db" in line, reason
