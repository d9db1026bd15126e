"""Bitnami's Go templates keep working after ``seal migrate``: the output is marked
``sealops.dev/template-engine: go``, and ``seal unseal`` (the same ``unsealed_secret`` the
controller uses) renders it with the Go engine, as Bitnami's controller renders it.

Also: a bad marker is refused with one line naming the annotation; ``seal migrate --to bitnami``
of a marked object gives back ``template.data`` byte for byte and drops the marker; the marker
never reaches the Secret.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from sealer.api import ANN_TEMPLATE_ENGINE, BITNAMI_API_VERSION
from sealer.gotemplate import render_go_template_data
from tests.unit.conftest import DATA, Seal, error_line

VALUES = {
    "user": b"admin",
    "password": "pä55\n".encode(),
    "tls.crt": b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "db-host": b"db.prod",
}

# (key in template.data, Go template, the bytes Bitnami's controller writes, why it matters)
GO_CASES = [
    (
        "auth",
        "{{ .user }}:{{ .password | b64enc }}",
        b"admin:" + base64.b64encode(VALUES["password"]),
        "a Sprig pipe: Jinja2 reads `.user` as a syntax error",
    ),
    (
        "cert",
        '{{ index . "tls.crt" }}',
        VALUES["tls.crt"],
        "a key with a dot, reached through index",
    ),
    (
        "dsn",
        '{{ printf "postgres://%s@%s" .user (index . "db-host") }}',
        b"postgres://admin@db.prod",
        "printf and a key with a dash",
    ),
    (
        "shout",
        "{{ .user | upper | quote }}",
        b'"ADMIN"',
        "chained Sprig functions",
    ),
    (
        "fallback",
        '{{ .missing | default "none" }}',
        b"none",
        "a missing key is Go's empty string, so default applies",
    ),
    (
        "branch",
        "{{ if .user }}user={{ .user }}{{ else }}none{{ end }}\n",
        b"user=admin\n",
        "an if/else action: Jinja2 would say `unknown tag`",
    ),
    (
        "trimmed",
        "a  {{- .user -}}  b",
        b"aadminb",
        "Go's whitespace trim markers",
    ),
]
TEMPLATES = {key: source for key, source, _, _ in GO_CASES}


def secret_yaml() -> bytes:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "data": {k: base64.b64encode(v).decode() for k, v in VALUES.items()},
    }
    return yaml.safe_dump(doc).encode()


def as_bitnami(sealops_doc: dict[str, Any], templates: dict[str, str] | None) -> dict[str, Any]:
    """What Bitnami's kubeseal would have written: same ciphertexts, strict scope."""
    spec: dict[str, Any] = {"encryptedData": sealops_doc["spec"]["encryptedData"]}
    template: dict[str, Any] = {"metadata": {"labels": {"app": "shop"}}, "type": "Opaque"}
    if templates is not None:
        template["data"] = dict(templates)
    spec["template"] = template
    return {
        "apiVersion": BITNAMI_API_VERSION,
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "prod", "annotations": {"team": "payments"}},
        "spec": spec,
    }


def unsealed(run_stdout: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(run_stdout)
    return doc


class Pipeline:
    """One Bitnami object sealed for the upstream 4096-bit key, migrated, and unsealed."""

    def __init__(self, seal: Seal) -> None:
        cert = str(DATA / "cert-4096.pem")
        ours = yaml.safe_load(seal.ok("--cert", cert, stdin=secret_yaml()).stdout)
        self.bitnami = as_bitnami(ours, TEMPLATES)
        self.migrated_text = seal.ok("migrate", stdin=yaml.safe_dump(self.bitnami).encode()).stdout
        self.migrated: dict[str, Any] = yaml.safe_load(self.migrated_text)
        key = str(DATA / "key-4096.pem")
        out = seal.ok("unseal", "--private-key", key, stdin=self.migrated_text).stdout
        self.secret = unsealed(out)
        self.data = {k: base64.b64decode(v) for k, v in self.secret["data"].items()}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return Pipeline(Seal(cwd=tmp_path_factory.mktemp("go-templates")))


@pytest.mark.parametrize(
    ("key", "expected"),
    [(key, expected) for key, _, expected, _ in GO_CASES],
    ids=[key for key, *_ in GO_CASES],
)
def test_migrated_go_template_unseals_as_bitnami_renders(
    pipeline: Pipeline, key: str, expected: bytes
) -> None:
    assert pipeline.data[key] == expected
    assert pipeline.data[key] == render_go_template_data({key: TEMPLATES[key]}, VALUES)[key]


def test_migrate_marks_go_and_keeps_ciphertexts_and_templates(pipeline: Pipeline) -> None:
    meta = pipeline.migrated["metadata"]
    assert meta["annotations"][ANN_TEMPLATE_ENGINE] == "go"
    assert meta["annotations"]["team"] == "payments"
    assert pipeline.migrated["spec"]["encryptedData"] == pipeline.bitnami["spec"]["encryptedData"]
    assert pipeline.migrated["spec"]["template"]["data"] == TEMPLATES
    # The values themselves are in the Secret too, as Bitnami writes them.
    assert {k: pipeline.data[k] for k in VALUES} == VALUES


def test_marker_stays_off_the_secret(pipeline: Pipeline) -> None:
    annotations = pipeline.secret["metadata"].get("annotations") or {}
    assert ANN_TEMPLATE_ENGINE not in annotations
    assert pipeline.secret["metadata"].get("labels") == {"app": "shop"}


@pytest.mark.parametrize(
    ("templates", "marked"),
    [
        (TEMPLATES, True),
        (None, False),
        ({}, False),
    ],
    ids=[
        "template-data-is-go-so-marked",
        "no-template-data-nothing-to-mark",
        "empty-template-data-nothing-to-mark",
    ],
)
def test_marker_only_when_there_are_templates(
    pipeline: Pipeline, seal: Seal, templates: dict[str, str] | None, marked: bool
) -> None:
    bitnami = as_bitnami(pipeline.bitnami, templates)
    out = yaml.safe_load(seal.ok("migrate", stdin=yaml.safe_dump(bitnami).encode()).stdout)
    assert (ANN_TEMPLATE_ENGINE in out["metadata"]["annotations"]) is marked


def test_round_trip_keeps_template_data_byte_for_byte(pipeline: Pipeline, seal: Seal) -> None:
    back = seal.ok("migrate", "--to", "bitnami", stdin=pipeline.migrated_text).stdout
    doc = yaml.safe_load(back)
    assert doc["apiVersion"] == BITNAMI_API_VERSION
    assert doc["spec"]["template"]["data"] == pipeline.bitnami["spec"]["template"]["data"]
    assert doc["spec"]["encryptedData"] == pipeline.bitnami["spec"]["encryptedData"]
    assert ANN_TEMPLATE_ENGINE not in (doc["metadata"].get("annotations") or {})
    tmeta = doc["spec"]["template"].get("metadata") or {}
    assert ANN_TEMPLATE_ENGINE not in (tmeta.get("annotations") or {})


@pytest.mark.parametrize(
    "value",
    ["Go", "jinja", "golang", " go", "", "go\n"],
    ids=[
        "case-differs",
        "jinja-is-not-jinja2",
        "another-name",
        "leading-space",
        "empty",
        "trailing-newline",
    ],
)
def test_bad_marker_is_refused_naming_the_annotation(
    pipeline: Pipeline, seal: Seal, value: str
) -> None:
    doc = yaml.safe_load(pipeline.migrated_text)
    doc["metadata"]["annotations"][ANN_TEMPLATE_ENGINE] = value
    stdin = yaml.safe_dump(doc).encode()
    line = error_line(seal("unseal", "--private-key", str(DATA / "key-4096.pem"), stdin=stdin))
    assert f"metadata.annotations.{ANN_TEMPLATE_ENGINE}" in line
    assert "SealedSecret prod/db" in line


def test_jinja2_marker_and_no_marker_render_jinja2(pipeline: Pipeline, seal: Seal) -> None:
    """``jinja2`` (or no marker) keeps today's Jinja2; the same Go source then fails to render,
    naming the field and never a value."""
    for marker in ("jinja2", None):
        doc = yaml.safe_load(pipeline.migrated_text)
        doc["spec"]["template"]["data"] = {"conf": "{{ user }}:{{ password | b64enc }}"}
        if marker is None:
            del doc["metadata"]["annotations"][ANN_TEMPLATE_ENGINE]
        else:
            doc["metadata"]["annotations"][ANN_TEMPLATE_ENGINE] = marker
        stdin = yaml.safe_dump(doc).encode()
        out = seal.ok("unseal", "--private-key", str(DATA / "key-4096.pem"), stdin=stdin).stdout
        data = {k: base64.b64decode(v) for k, v in unsealed(out)["data"].items()}
        assert data["conf"] == b"admin:" + base64.b64encode(VALUES["password"])


def test_go_render_failure_names_the_field_not_the_value(pipeline: Pipeline, seal: Seal) -> None:
    doc = yaml.safe_load(pipeline.migrated_text)
    doc["spec"]["template"]["data"] = {"conf": "{{ .password | nosuchfunc }}"}
    stdin = yaml.safe_dump(doc).encode()
    line = error_line(seal("unseal", "--private-key", str(DATA / "key-4096.pem"), stdin=stdin))
    assert "template.data.conf" in line
    assert "pä55" not in line and "admin" not in line


def test_a_secret_carrying_the_marker_does_not_mark_what_seal_writes(seal: Seal) -> None:
    """``kubectl get secret -o yaml`` of a Secret with the marker (reserved, as every
    ``sealops.dev/`` key): ``seal`` keeps it off the SealedSecret and off its template, so a
    Jinja2 object never turns Go by accident."""
    doc = yaml.safe_load(secret_yaml())
    doc["metadata"]["annotations"] = {ANN_TEMPLATE_ENGINE: "go", "team": "payments"}
    cert = str(DATA / "cert-4096.pem")
    out = yaml.safe_load(seal.ok("--cert", cert, stdin=yaml.safe_dump(doc).encode()).stdout)
    assert ANN_TEMPLATE_ENGINE not in out["metadata"]["annotations"]
    tmeta = out["spec"]["template"].get("metadata") or {}
    assert (tmeta.get("annotations") or {}) == {"team": "payments"}
