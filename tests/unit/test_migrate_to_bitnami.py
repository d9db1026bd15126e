"""``seal migrate --to bitnami``: what it writes opens in Bitnami's controller as ours opened it.

The output is opened by :mod:`tests.unit.bitnami_unseal`, a reader written from Bitnami's own
``Unseal``/``HybridDecrypt`` source that shares no code with sealops; it is first checked against
the ciphertexts upstream's Go code made (``tests/data/vectors.json``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sealer.sealing.bitnami import go_reference, go_template
from sealer.templating import render_template_data
from tests.unit import bitnami_unseal
from tests.unit.conftest import DATA, Seal, error_line

FP = dict(line.split() for line in (DATA / "fingerprints.txt").read_text().splitlines())
VALUES = {"username": b"admin", "password": "pä55\n".encode(), "true": b"t"}
TEMPLATE = "postgres://{{ username }}:{{password}}@db\r\nuser={{\tusername\n}} }} {x} %}"


def private_key(name: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((DATA / name).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def secret_yaml(scope: str, values: Mapping[str, bytes] = VALUES) -> bytes:
    annotations = {"sealops.dev/scope": scope, "team": "payments"}
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod", "labels": {"app": "shop"}},
        "type": "kubernetes.io/basic-auth",
        "immutable": True,
        "data": {k: base64.b64encode(v).decode() for k, v in values.items()},
    }
    doc["metadata"]["annotations"] = annotations  # type: ignore[index]
    return yaml.safe_dump(doc).encode()


def sealed_for(
    seal: Seal, scope: str, certs: list[str], template: str | None = TEMPLATE
) -> dict[str, Any]:
    args = [arg for cert in certs for arg in ("--cert", str(DATA / cert))]
    doc: dict[str, Any] = yaml.safe_load(seal.ok(*args, stdin=secret_yaml(scope)).stdout)
    if template is not None:
        doc["spec"].setdefault("template", {})["data"] = {"conf": template}
    return doc


def migrate(seal: Seal, doc: Mapping[str, Any], *args: str) -> dict[str, Any]:
    out = seal.ok("migrate", *args, stdin=yaml.safe_dump(dict(doc)).encode()).stdout
    result: dict[str, Any] = yaml.safe_load(out)
    return result


def ours_unsealed(seal: Seal, doc: Mapping[str, Any], key: str) -> dict[str, bytes]:
    stdin = yaml.safe_dump(dict(doc)).encode()
    out = seal.ok("unseal", "--private-key", str(DATA / key), stdin=stdin).stdout
    return {k: base64.b64decode(v) for k, v in yaml.safe_load(out)["data"].items()}


# ---------------------------------------------------------------------------------------------
# The reader is Bitnami's: it opens what upstream's Go code sealed, and refuses what it refuses

VECTORS = json.loads((DATA / "vectors.json").read_text())
BITNAMI_ANNOTATIONS = {
    "strict": {},
    "namespace-wide": {"sealedsecrets.bitnami.com/namespace-wide": "true"},
    "cluster-wide": {"sealedsecrets.bitnami.com/cluster-wide": "true"},
}


@pytest.mark.parametrize("case", VECTORS, ids=[c["id"] for c in VECTORS])
def test_reader_agrees_with_upstream_vectors(case: dict[str, Any]) -> None:
    doc = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {
            "name": case["name"],
            "namespace": case["namespace"],
            "annotations": BITNAMI_ANNOTATIONS[case["scope"]],
        },
        "spec": {"encryptedData": {"v": case["ciphertext_b64"]}},
    }
    keys = {case["key_file"]: private_key(case["key_file"])}
    if case.get("expect_fail"):
        with pytest.raises(bitnami_unseal.UnsealError):
            bitnami_unseal.unseal(doc, keys)
    else:
        opened = bitnami_unseal.unseal(doc, keys)
        assert opened["data"] == {"v": base64.b64decode(case["plaintext_b64"])}


@pytest.mark.parametrize(
    ("annotations", "scope"),
    [
        ({"sealedsecrets.bitnami.com/cluster-wide": "true"}, "cluster-wide"),
        ({"sealedsecrets.bitnami.com/namespace-wide": "true"}, "namespace-wide"),
        (
            {
                "sealedsecrets.bitnami.com/namespace-wide": "true",
                "sealedsecrets.bitnami.com/cluster-wide": "true",
            },
            "cluster-wide",
        ),
        ({"sealedsecrets.bitnami.com/cluster-wide": "True"}, "strict"),
        ({"sealedsecrets.bitnami.com/namespace-wide": "yes"}, "strict"),
        ({"sealops.dev/scope": "cluster-wide"}, "strict"),
    ],
    ids=[
        "cluster-wide",
        "namespace-wide",
        "cluster-wide-wins",
        "True-is-not-true",
        "yes-is-not-true",
        "our-annotation-unknown-to-bitnami",
    ],
)
def test_reader_scope_is_upstreams(annotations: dict[str, str], scope: str) -> None:
    assert bitnami_unseal.secret_scope(annotations) == scope


# ---------------------------------------------------------------------------------------------
# The way back, for every scope, with one recipient and with several

CASES = [
    ("strict", ["cert-4096.pem"], None, "key-4096.pem"),
    ("namespace-wide", ["cert-4096.pem"], None, "key-4096.pem"),
    ("cluster-wide", ["cert-2048.pem"], None, "key-2048.pem"),
    ("strict", ["cert-4096.pem", "cert-2048.pem"], "cert-2048.pem", "key-2048.pem"),
    ("namespace-wide", ["cert-4096.pem", "cert-2048.pem"], "cert-4096.pem", "key-4096.pem"),
    ("cluster-wide", ["cert-2048.pem", "cert-4096.pem"], "cert-2048.pem", "key-2048.pem"),
    ("strict", ["cert-4096.pem"], "cert-4096.pem", "key-4096.pem"),
]


@pytest.mark.parametrize(
    ("scope", "certs", "cert", "key"),
    CASES,
    ids=[
        "strict-one",
        "namespace-wide-one",
        "cluster-wide-one",
        "strict-several-second",
        "namespace-wide-several-first",
        "cluster-wide-several-first",
        "strict-one-with-its-cert",
    ],
)
def test_way_back_opens_in_bitnami_as_in_sealops(
    seal: Seal, scope: str, certs: list[str], cert: str | None, key: str
) -> None:
    ours = sealed_for(seal, scope, certs)
    doc = migrate(seal, ours, "--to", "bitnami", *(["--cert", str(DATA / cert)] if cert else []))
    assert doc["apiVersion"] == "bitnami.com/v1alpha1"
    meta, template = doc["metadata"], doc["spec"]["template"]
    # Bitnami's scope, exactly as its SecretScope reads it, on the object and on the template.
    assert bitnami_unseal.secret_scope(meta.get("annotations")) == scope
    assert bitnami_unseal.secret_scope(template["metadata"].get("annotations")) == scope
    assert meta["annotations"] == {"team": "payments", **BITNAMI_ANNOTATIONS[scope]}
    assert template["metadata"]["annotations"] == {"team": "payments", **BITNAMI_ANNOTATIONS[scope]}
    assert template["metadata"]["labels"] == {"app": "shop"}
    assert (template["type"], template["immutable"]) == ("kubernetes.io/basic-auth", True)
    assert "sealops.dev" not in json.dumps(doc)

    opened = bitnami_unseal.unseal(doc, {key: private_key(key)})
    assert opened["data"] == ours_unsealed(seal, ours, key)  # the template too, byte for byte
    assert opened["data"]["conf"] == b"postgres://admin:p\xc3\xa455\n@db\nuser=admin }} {x} %}"
    assert opened["type"] == "kubernetes.io/basic-auth" and opened["immutable"] is True
    assert opened["metadata"]["labels"] == {"app": "shop"}
    for other in {"key-4096.pem", "key-2048.pem"} - {key}:
        with pytest.raises(bitnami_unseal.UnsealError):  # only the chosen ciphertext is kept
            bitnami_unseal.unseal(doc, {other: private_key(other)})


@pytest.mark.parametrize(
    ("scope", "certs"),
    [
        ("namespace-wide", ["cert-4096.pem"]),
        ("cluster-wide", ["cert-4096.pem"]),
        ("strict", ["cert-4096.pem", "cert-2048.pem"]),
    ],
    ids=["namespace-wide-label-lost", "cluster-wide-label-lost", "several-not-base64"],
)
def test_changing_only_the_apiversion_fails_in_bitnami(
    seal: Seal, scope: str, certs: list[str]
) -> None:
    """The issue's report, seen by the reader: what ``--to bitnami`` exists to avoid."""
    ours = sealed_for(seal, scope, certs, template=None)
    renamed = {**ours, "apiVersion": "bitnami.com/v1alpha1"}
    with pytest.raises(bitnami_unseal.UnsealError):
        bitnami_unseal.unseal(renamed, {"k": private_key("key-4096.pem")})
    fixed = migrate(seal, ours, "--to", "bitnami", "--cert", str(DATA / "cert-4096.pem"))
    assert bitnami_unseal.unseal(fixed, {"k": private_key("key-4096.pem")})["data"] == VALUES


@pytest.mark.parametrize(
    ("scope", "certs", "cert"),
    [
        ("strict", ["cert-4096.pem"], None),
        ("namespace-wide", ["cert-2048.pem"], None),
        ("cluster-wide", ["cert-4096.pem"], None),
        ("namespace-wide", ["cert-4096.pem", "cert-2048.pem"], "cert-2048.pem"),
    ],
    ids=["strict", "namespace-wide", "cluster-wide", "several-recipients"],
)
def test_round_trip_keeps_ciphertexts_byte_for_byte(
    seal: Seal, scope: str, certs: list[str], cert: str | None
) -> None:
    ours = sealed_for(seal, scope, certs, template=None)
    there = migrate(seal, ours, "--to", "bitnami", *(["--cert", str(DATA / cert)] if cert else []))
    back = migrate(seal, there)
    position = certs.index(cert) if cert else 0
    kept = {k: v.split(",")[position] for k, v in ours["spec"]["encryptedData"].items()}
    assert there["spec"]["encryptedData"] == kept
    assert back["spec"]["encryptedData"] == kept
    assert back["apiVersion"] == "sealops.dev/v1alpha1"
    assert back["metadata"]["annotations"]["sealops.dev/scope"] == scope
    assert back["spec"]["template"]["metadata"]["labels"] == {"app": "shop"}
    key = "key-2048.pem" if (cert or certs[0]) == "cert-2048.pem" else "key-4096.pem"
    assert ours_unsealed(seal, back, key) == VALUES


# ---------------------------------------------------------------------------------------------
# Refusals: one line naming the object and the field, never a template or a value


@pytest.fixture
def other_cert(tmp_path: Path) -> Path:
    """A certificate of a third key, for which nothing was sealed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "other.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


REFUSED_TEMPLATES = [
    ("{{ password | upper }}", "a filter: Bitnami has Sprig's upper, but it is no plain reference"),
    ("{{ username ~ password }}", "an expression"),
    ("{% if username %}x{% endif %}", "a block"),
    ("{# note #}{{ password }}", "a comment"),
    ("{{- password }}", "whitespace control before"),
    ("{{ password -}}", "whitespace control after"),
    ("{{ other }}", "a name that is no value: Jinja fails, Go prints <no value>"),
    ("{{ true }}", "a constant in Jinja, though a value is named true"),
    ("{{{ password }}}", "Jinja reads a dict literal here"),
    ("{{ password[0] }}", "a subscript"),
    ("{{ password.upper() }}", "a method call"),
    ("{% raw %}{{ password }}{% endraw %}", "a raw block"),
    ("{{ password }", "an unclosed tag"),
]


@pytest.mark.parametrize(
    "source", [s for s, _ in REFUSED_TEMPLATES], ids=[r for _, r in REFUSED_TEMPLATES]
)
def test_untranslatable_template_is_refused_by_field(
    seal: Seal, tmp_path: Path, source: str
) -> None:
    ours = sealed_for(seal, "strict", ["cert-4096.pem"], template=source)
    (tmp_path / "in.yaml").write_text(yaml.safe_dump(ours))
    line = error_line(seal("migrate", "--to", "bitnami", "in.yaml", "-w", "out.yaml"))
    assert "in.yaml: SealedSecret prod/db: spec.template.data.conf: cannot be expressed" in line
    assert "Bitnami's Go template dialect" in line
    assert source not in line and "admin" not in line and "password" not in line
    assert not (tmp_path / "out.yaml").exists()


def without_hint(doc: dict[str, Any]) -> dict[str, Any]:
    doc["metadata"]["annotations"].pop("sealops.dev/sealed-with")
    return doc


@pytest.mark.parametrize(
    ("certs", "edit", "cert", "expected"),
    [
        (["cert-4096.pem", "cert-2048.pem"], None, None, "holds 2 ciphertexts (one per cluster)"),
        (["cert-4096.pem", "cert-2048.pem"], None, "other", "has no ciphertext for SHA256:"),
        (["cert-4096.pem"], None, "cert-2048.pem", f"has no ciphertext for {FP['key-2048.pem']}"),
        (["cert-4096.pem", "cert-2048.pem"], without_hint, "cert-2048.pem", "does not name each"),
    ],
    ids=[
        "several-without-cert: which cluster is a guess",
        "several-none-for-cert: another cluster's key",
        "one-for-another-key: the hint names another key",
        "several-without-hint: the blobs cannot be told apart",
    ],
)
def test_value_without_one_ciphertext_for_bitnami_is_refused(
    seal: Seal, other_cert: Path, certs: list[str], edit: Any, cert: str | None, expected: str
) -> None:
    ours = sealed_for(seal, "strict", certs, template=None)
    if edit:
        ours = edit(ours)
    cert_args = ["--cert", str(other_cert if cert == "other" else DATA / cert)] if cert else []
    stdin = yaml.safe_dump(ours).encode()
    line = error_line(seal("migrate", "--to", "bitnami", *cert_args, stdin=stdin))
    assert "SealedSecret prod/db: spec.encryptedData." in line and expected in line
    assert ours["spec"]["encryptedData"]["password"][:40] not in line


def test_bitnami_input_and_cert_without_to_are_refused(seal: Seal) -> None:
    bitnami = migrate(seal, sealed_for(seal, "strict", ["cert-4096.pem"]), "--to", "bitnami")
    stdin = yaml.safe_dump(bitnami).encode()
    line = error_line(seal("migrate", "--to", "bitnami", stdin=stdin))
    assert "SealedSecret prod/db: is already a bitnami.com/v1alpha1 SealedSecret" in line
    run = seal("migrate", "--cert", str(DATA / "cert-4096.pem"), stdin=stdin)
    assert run.code == 2 and run.stdout == b""
    assert "--cert is for --to bitnami only" in run.stderr


# ---------------------------------------------------------------------------------------------
# The translation renders what our Jinja2 renders, byte for byte

TRANSLATED = [
    ("{{ username }}", "{{ .username }}"),
    ("{{username}}", "{{ .username }}"),
    ("{{ \t\n username \n}}", "{{ .username }}"),
    ("a{{ username }}b{{ password }}c", "a{{ .username }}b{{ .password }}c"),
    ("{{ username }}{{ username }}", "{{ .username }}{{ .username }}"),
    ("line\r\nnext\rlast\n", "line\nnext\nlast\n"),
    ("} }} { %} #} {x}", "} }} { %} #} {x}"),
    ("", ""),
    ("plain text", "plain text"),
]


@pytest.mark.parametrize(("source", "go"), TRANSLATED, ids=[s for s, _ in TRANSLATED])
def test_translation_renders_what_jinja_renders(source: str, go: str) -> None:
    translated = go_template(source, sorted(VALUES))
    assert translated == go
    ours = render_template_data({"k": source}, VALUES)["k"]
    assert bitnami_unseal.go_render(translated, VALUES) == ours


@pytest.mark.parametrize(
    ("key", "action"),
    [
        ("tls.crt", '{{ index . "tls.crt" }}'),
        ("my-key", '{{ index . "my-key" }}'),
        ("9lives", '{{ index . "9lives" }}'),
        ("_under", "{{ ._under }}"),
    ],
    ids=["dot", "dash", "leading-digit", "identifier"],
)
def test_go_reference_reaches_every_key(key: str, action: str) -> None:
    assert go_reference(key) == action
    assert bitnami_unseal.go_render(action, {key: b"v", "other": b"x"}) == b"v"


# ---------------------------------------------------------------------------------------------
# The reader's key registry and ownership rule, which the live swap-back test relies on


def key_secret_body(name: str, label: str | None, pem_file: str = "key-2048.pem") -> dict[str, Any]:
    labels = {} if label is None else {bitnami_unseal.KEY_LABEL: label}
    pem = base64.b64encode((DATA / pem_file).read_bytes()).decode()
    cert = base64.b64encode((DATA / pem_file.replace("key-", "cert-")).read_bytes()).decode()
    return {"metadata": {"name": name, "labels": labels}, "data": {"tls.key": pem, "tls.crt": cert}}


def test_key_registry_takes_only_active_keys_with_their_certificates() -> None:
    secrets = [
        key_secret_body("active", "active"),
        key_secret_body("compromised", "compromised"),
        key_secret_body("unlabelled", None),
        key_secret_body("Active", "Active"),
    ]
    assert list(bitnami_unseal.key_registry(secrets)) == ["active"]
    no_cert = key_secret_body("active", "active")
    del no_cert["data"]["tls.crt"]
    with pytest.raises(KeyError):  # Bitnami's readKey needs both
        bitnami_unseal.key_registry([no_cert])


def test_update_secret_needs_control_or_the_managed_annotation(seal: Seal) -> None:
    bitnami = migrate(seal, sealed_for(seal, "strict", ["cert-2048.pem"], None), "--to", "bitnami")
    bitnami["metadata"]["uid"] = "uid-1"
    keys = {"k": private_key("key-2048.pem")}
    existing: dict[str, Any] = {"metadata": {"name": "db", "ownerReferences": []}}
    with pytest.raises(bitnami_unseal.UnsealError, match="is not managed by SealedSecret"):
        bitnami_unseal.accepts(bitnami, existing, keys)
    for annotation in ("True", "yes", ""):  # compared with == "true", as upstream
        existing["metadata"]["annotations"] = {bitnami_unseal.MANAGED: annotation}
        with pytest.raises(bitnami_unseal.UnsealError):
            bitnami_unseal.accepts(bitnami, existing, keys)
    other = {"uid": "uid-2", "controller": True}
    existing["metadata"] = {"name": "db", "ownerReferences": [other]}
    with pytest.raises(bitnami_unseal.UnsealError):
        bitnami_unseal.accepts(bitnami, existing, keys)
    existing["metadata"]["annotations"] = {bitnami_unseal.MANAGED: "true"}
    assert bitnami_unseal.accepts(bitnami, existing, keys)["data"] == VALUES
    existing["metadata"] = {"name": "db", "ownerReferences": [{**other, "uid": "uid-1"}]}
    assert bitnami_unseal.accepts(bitnami, existing, keys)["data"] == VALUES
    assert bitnami_unseal.accepts(bitnami, None, keys)["data"] == VALUES


def test_the_reader_renders_b64enc_and_refuses_it_on_a_missing_key() -> None:
    assert bitnami_unseal.go_render("{{ .a | b64enc }}!", {"a": b"\x00x"}) == b"AHg=!"
    with pytest.raises(NotImplementedError):
        bitnami_unseal.go_render("{{ .b | b64enc }}", {"a": b"x"})
