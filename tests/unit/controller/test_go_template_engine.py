"""The controller renders a sealops SealedSecret marked ``sealops.dev/template-engine: go``
(``seal migrate`` output) with the Go engine, as Bitnami's controller would; ``jinja2`` or no
marker keeps Jinja2; any other value is InvalidSpec naming the annotation; the marker stays on the
SealedSecret and never reaches the Secret."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from controller.keyring import key_secret
from sealer.api import ANN_TEMPLATE_ENGINE, SEALED_SECRETS, SECRETS
from sealer.gotemplate import render_go_template_data
from sealer.keys import KeyPair
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.fakekube import FakeKube

PLAIN = {"password": b"hunter2", "user": b"admin", "tls.crt": b"CERT\n", "db-host": b"db"}


def marked_body(
    kube: FakeKube, key: KeyPair, templates: dict[str, str], engine: str | None
) -> dict[str, Any]:
    doc = seal_secret(PlainSecret(name="db", namespace="prod", data=dict(PLAIN)), [key.recipient])
    doc["spec"]["template"]["data"] = dict(templates)
    if engine is not None:
        doc["metadata"]["annotations"][ANN_TEMPLATE_ENGINE] = engine
    return kube.put(SEALED_SECRETS, doc)


def install_key(harness: Harness, pair: KeyPair) -> None:
    harness.kube.put(SECRETS, key_secret(pair, name="key-0", namespace="sealops-system"))
    harness.keystore.load()


def secret_data(kube: FakeKube) -> dict[str, bytes]:
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    return {k: base64.b64decode(v) for k, v in secret["data"].items()}


# (Go template, the bytes Bitnami's controller writes, why)
GO_CASES = [
    ("{{ .user }}:{{ .password | b64enc }}", b"admin:aHVudGVyMg==", "a Sprig pipe"),
    ('{{ index . "tls.crt" }}', b"CERT\n", "a key with a dot through index"),
    ('{{ index . "db-host" | upper }}', b"DB", "a key with a dash, then Sprig"),
    ("{{ range $k, $v := . }}{{ $k }};{{ end }}", b"db-host;password;tls.crt;user;", "range"),
]


@pytest.mark.parametrize(
    ("source", "expected"),
    [(source, expected) for source, expected, _ in GO_CASES],
    ids=[why for *_, why in GO_CASES],
)
def test_marked_go_renders_as_bitnami(
    harness: Harness, kube: FakeKube, source: str, expected: bytes
) -> None:
    install_key(harness, small_key(1))
    verdict = harness.sealed.reconcile(marked_body(kube, small_key(1), {"conf": source}, "go"))
    assert verdict.verdict.ready, verdict.verdict.message
    data = secret_data(kube)
    assert data["conf"] == expected
    assert data["conf"] == render_go_template_data({"conf": source}, PLAIN)["conf"]
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    assert ANN_TEMPLATE_ENGINE not in (secret["metadata"].get("annotations") or {})


@pytest.mark.parametrize("engine", ["jinja2", None], ids=["jinja2-named", "no-marker-means-jinja2"])
def test_jinja2_stays_jinja2(harness: Harness, kube: FakeKube, engine: str | None) -> None:
    install_key(harness, small_key(1))
    body = marked_body(kube, small_key(1), {"conf": "{{ user }}:{{ password | b64enc }}"}, engine)
    assert harness.sealed.reconcile(body).verdict.ready
    assert secret_data(kube)["conf"] == b"admin:aHVudGVyMg=="


@pytest.mark.parametrize(
    ("engine", "source"),
    [
        ("go", "{{ user }}"),
        (None, "{{ .user }}"),
        ("Go", "{{ .user }}"),
        ("sprig", "{{ .user }}"),
        ("", "{{ .user }}"),
    ],
    ids=[
        "jinja-source-under-go-is-a-go-error",
        "go-source-unmarked-is-a-jinja-error",
        "marker-case-differs",
        "marker-unknown-engine",
        "marker-empty",
    ],
)
def test_wrong_dialect_or_marker_is_invalid_spec_and_keeps_the_secret(
    harness: Harness, kube: FakeKube, engine: str | None, source: str
) -> None:
    install_key(harness, small_key(1))
    harness.sealed.reconcile(marked_body(kube, small_key(1), {}, None))
    before = kube.find(SECRETS, "prod", "db")
    verdict = harness.sealed.reconcile(
        marked_body(kube, small_key(1), {"conf": source}, engine)
    ).verdict
    assert verdict.reason == "InvalidSpec"
    assert "hunter2" not in verdict.message and "admin" not in verdict.message
    field = "template.data.conf" if engine in ("go", None) else ANN_TEMPLATE_ENGINE
    assert field in verdict.message
    assert kube.find(SECRETS, "prod", "db") == before
