"""The renderer's core against the in-memory FakeVault: filling, annotations, errors, reads.

Each case renders a small stream and checks the result field by field (or the one error line).
The same stream through ``--mode reference`` and the controller's template engine must give the
same Secret bytes as ``--mode inline``: that pins the VaultSecret translation to avp semantics.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sealer.render import ConnectionRef, RenderFailed, RenderOptions, load_stream, render
from sealer.render.errors import PlaintextError
from sealer.templating import render_template_data
from sealer.vault import NotFound
from sealer.vault.resolver import Resolver
from tests.fakes.vault import FakeVault

CRD = Path(__file__).parents[3] / "deploy" / "crds" / "vaultsecrets.sealops.dev.yaml"
SECRET_VALUES = {"user": "app-user", "pw": "pa55-word", "blob": "eyJhIjogMX0=", "json": '{"r": 3}'}


def vault() -> FakeVault:
    fake = FakeVault()
    fake.mount("secret", kv_version=2)
    fake.mount("kv1", kv_version=1)
    fake.put("secret/app", {"user": "old", "pw": "old"})
    fake.put("secret/app", SECRET_VALUES)
    fake.put("kv1/app", {"token": "v1-token"})
    return fake


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def run(text: str, fake: FakeVault | None = None, **options: Any) -> list[dict[str, Any]]:
    fake = fake or vault()

    def make() -> Resolver:
        return fake

    docs = load_stream(text.encode(), source="app.yaml")
    return render(docs, resolver=make, options=RenderOptions(**options))


@dataclass(frozen=True)
class Case:
    id: str
    reason: str
    manifest: str
    #: dotted path -> expected value
    want: dict[str, Any] = field(default_factory=dict)
    absent: tuple[str, ...] = ()


def get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


ANN = "annotations: {avp.kubernetes.io/path: secret/data/app}"
CASES = [
    Case(
        "configmap-inline",
        "inline-path placeholders in a ConfigMap",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {u: '<path:secret/data/app#user>'}",
        {"data.u": "app-user"},
    ),
    Case(
        "vault-form",
        "our logical <vault:…> form",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {u: '<vault:secret/app#user>'}",
        {"data.u": "app-user"},
    ),
    Case(
        "generic",
        "generic placeholders read the annotated path",
        f"kind: Secret\nmetadata: {{name: s, {ANN}}}\nstringData: {{u: <user>, p: <pw>}}",
        {"stringData.u": "app-user", "stringData.p": "pa55-word"},
    ),
    Case(
        "secret-version",
        "secret-version pins generic placeholders",
        f"kind: Secret\nmetadata:\n  name: s\n  {ANN[:-1]}, avp.kubernetes.io/secret-version: '1'}}\n"
        "stringData: {u: <user>}",
        {"stringData.u": "old"},
    ),
    Case(
        "inline-version",
        "#version pins one placeholder",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {u: '<path:secret/data/app#user#1>'}",
        {"data.u": "old"},
    ),
    Case(
        "helper-name-taken",
        "a template's fetched values never take, nor land in, a key of the Secret",
        "kind: Secret\nmetadata: {name: s}\n"
        "stringData: {sealops_ref_0: lit, dsn: 'u=<vault:secret/app#user>', p: 'x<vault:secret/app#pw>'}",
    ),
    Case(
        "kv1",
        "KV v1 API paths have no data/",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {t: '<path:kv1/app#token>'}",
        {"data.t": "v1-token"},
    ),
    Case(
        "kv-version-annotation",
        "kv-version 1 reads the path as it is",
        "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/path: kv1/app, "
        "avp.kubernetes.io/kv-version: '1'}}\nstringData: {t: <token>}",
        {"stringData.t": "v1-token"},
    ),
    Case(
        "data-raw",
        "a raw placeholder in data takes the Vault value as it is (base64 in Vault)",
        f"kind: Secret\nmetadata: {{name: s, {ANN}}}\ndata: {{b: <blob>}}",
        {"data.b": "eyJhIjogMX0="},
    ),
    Case(
        "data-base64",
        "base64 placeholders are decoded, filled and re-encoded",
        f"kind: Secret\nmetadata: {{name: s, {ANN}}}\ndata: {{url: {b64('db://<user>:<pw>@h')}}}",
        {"data.url": b64("db://app-user:pa55-word@h")},
    ),
    Case(
        "data-encode",
        "base64encode for plain values in data",
        "kind: Secret\nmetadata: {name: s}\ndata: {p: '<path:secret/data/app#pw | base64encode>'}",
        {"data.p": b64("pa55-word")},
    ),
    Case(
        "deployment",
        "placeholders anywhere in other kinds, lists included",
        "kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: '<path:secret/data/app#json | "
        "jsonPath {.r} | jsonParse>'\n  template:\n    spec:\n      containers:\n      - name: a\n"
        "        args: ['--user=<vault:secret/app#user>']",
        {"spec.replicas": 3, "spec.template.spec.containers.0.args.0": "--user=app-user"},
    ),
    Case(
        "crd-prose",
        "without a path annotation <KEY> in prose stays",
        "kind: CustomResourceDefinition\nmetadata: {name: x}\nspec: {d: \"labels['<KEY>']\", "
        "c: '<path:secret/data/app#user>'}",
        {"spec.d": "labels['<KEY>']", "spec.c": "app-user"},
    ),
    Case(
        "ignore",
        "avp.kubernetes.io/ignore leaves the object untouched",
        "kind: ConfigMap\nmetadata: {name: c, annotations: {avp.kubernetes.io/ignore: 'true'}}\n"
        "data: {u: '<path:secret/data/app#nope>'}",
        {"data.u": "<path:secret/data/app#nope>"},
    ),
    Case(
        "remove-missing",
        "remove-missing drops keys whose generic placeholder has no value",
        "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/path: secret/data/app, "
        "avp.kubernetes.io/remove-missing: 'true'}}\nstringData: {u: <user>, gone: <nope>}",
        {"stringData.u": "app-user"},
        absent=("stringData.gone",),
    ),
    Case(
        "configmap-stringify",
        "ConfigMap data stays text even after jsonParse",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {r: '<path:secret/data/app#json | jsonPath {.r} | jsonParse>'}",
        {"data.r": "3"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_inline(case: Case) -> None:
    (obj,) = run(case.manifest)
    for path, want in case.want.items():
        assert get(obj, path) == want, f"{case.reason}: {path}"
    for path in case.absent:
        with pytest.raises(KeyError):
            get(obj, path)


ERRORS = [
    Case(
        "missing-field",
        "a missing key names file, object and field (never a value)",
        "kind: ConfigMap\nmetadata: {name: ok}\ndata: {u: '<vault:secret/app#user>'}\n---\n"
        "kind: Secret\nmetadata: {name: s, namespace: n}\nstringData: {x: '<vault:secret/app#nope>'}",
        {
            "text": "app.yaml: Secret n/s: stringData.x: Vault secret 'secret/app' has no field 'nope'"
        },
    ),
    Case(
        "missing-secret",
        "a missing secret is an error even with remove-missing",
        "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/path: secret/data/none, "
        "avp.kubernetes.io/remove-missing: 'true'}}\nstringData: {u: <user>}",
        {"text": "no Vault secret at 'secret/none'"},
    ),
    Case(
        "remove-missing-kind",
        "remove-missing only on Secrets and ConfigMaps (as avp)",
        "kind: Deployment\nmetadata: {name: d, annotations: {avp.kubernetes.io/remove-missing: 'true'}}",
        {"text": "works only on Secrets and ConfigMaps"},
    ),
    Case(
        "bad-modifier-input",
        "a modifier's error names the field",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {u: '<vault:secret/app#user | jsonParse>'}",
        {"text": "ConfigMap c: data.u: jsonParse: the value is not valid JSON"},
    ),
    Case(
        "structured-in-text",
        "structured data cannot sit inside text",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {u: 'x<vault:secret/app#json | jsonParse>'}",
        {"text": "gives structured data"},
    ),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c.id for c in ERRORS])
def test_errors_are_one_located_line(case: Case) -> None:
    with pytest.raises(RenderFailed) as caught:
        run(case.manifest)
    message = str(caught.value)
    assert case.want["text"] in message, case.reason
    assert "\n" not in message
    assert not any(value in message for value in SECRET_VALUES.values())


def test_one_read_per_distinct_location() -> None:
    fake = vault()
    stream = "\n---\n".join(
        f"kind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{u: '<vault:secret/app#user>', "
        f"p: '<path:secret/data/app#pw>', o: '<vault:secret/app#pw#1>'}}"
        for i in range(20)
    )
    run(stream, fake)
    assert sorted(str(loc) for loc in fake.reads) == ["secret/app", "secret/app#1"]


def test_no_placeholders_needs_no_vault() -> None:
    def refuse() -> Resolver:
        raise AssertionError("no resolver may be made without placeholders")

    docs = load_stream(b"kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '<b>'}", source="x")
    assert render(docs, resolver=refuse)[0]["data"] == {"a": "<b>"}


def test_deny_plaintext() -> None:
    manifest = (
        "kind: Secret\nmetadata: {name: s}\nstringData: {ok: '<vault:secret/app#pw>', bad: hunter2}"
    )
    with pytest.raises(RenderFailed) as caught:
        run(manifest, deny_plaintext=True)
    assert isinstance(caught.value.cause, PlaintextError)
    assert "Secret s: stringData.bad: holds a literal value" in str(caught.value)
    assert "hunter2" not in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Reference mode

SCHEMA = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
REFERENCE = [
    Case(
        "whole-values",
        "whole placeholders become data refs",
        "kind: Secret\nmetadata: {name: s, namespace: n}\nstringData: {u: '<vault:secret/app#user>', "
        "p: '<path:secret/data/app#pw#1>'}",
    ),
    Case(
        "generic",
        "generic placeholders use the annotation's path and version",
        f"kind: Secret\nmetadata:\n  name: s\n  {ANN[:-1]}, avp.kubernetes.io/secret-version: '2'}}\n"
        "stringData: {u: <user>}",
    ),
    Case(
        "mixed",
        "text around placeholders becomes a template",
        f"kind: Secret\nmetadata: {{name: s, labels: {{a: b}}, {ANN}}}\n"
        'stringData: {dsn: "pg://<user>:<pw>@h/{{x}}\'q\\\\", lit: "{{ not a template }}"}',
    ),
    Case(
        "base64-placeholder",
        "base64 placeholders in data",
        f"kind: Secret\nmetadata: {{name: s, {ANN}}}\ndata: {{url: {b64('db://<user>@h')}}}",
    ),
    Case(
        "raw-data",
        "a raw placeholder in data holds base64 from Vault",
        f"kind: Secret\nmetadata: {{name: s, {ANN}}}\ndata: {{b: <blob>, lit: {b64('x')}}}",
    ),
    Case(
        "encode",
        "base64encode becomes the b64enc filter",
        "kind: Secret\nmetadata: {name: s}\ndata: {p: '<path:secret/data/app#pw | base64encode>'}",
    ),
    Case(
        "helper-name-taken",
        "a template's fetched values never take, nor land in, a key of the Secret",
        "kind: Secret\nmetadata: {name: s}\n"
        "stringData: {sealops_ref_0: lit, dsn: 'u=<vault:secret/app#user>', p: 'x<vault:secret/app#pw>'}",
    ),
    Case(
        "kv1",
        "KV v1 paths stay as they are",
        "kind: Secret\nmetadata: {name: s}\n"
        "type: kubernetes.io/basic-auth\nstringData: {password: '<path:kv1/app#token>'}",
    ),
]


def secret_bytes(obj: dict[str, Any]) -> dict[str, bytes]:
    out = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    out.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
    return out


def controller_bytes(vault_secret: dict[str, Any], fake: FakeVault) -> dict[str, bytes]:
    """What the controller would write: data refs read, then the template over them; the
    templateOnly entries seen by the templates only."""
    from sealer.vault import parse_ref, resolve_value

    spec = vault_secret["spec"]
    read = {e["key"]: resolve_value(fake, parse_ref(e["ref"])).encode() for e in spec["data"]}
    data = {e["key"]: read[e["key"]] for e in spec["data"] if not e.get("templateOnly")}
    templates = spec["target"].get("template", {}).get("data") or {}
    data.update(render_template_data(templates, read))
    return data


@pytest.mark.parametrize("case", REFERENCE, ids=[c.id for c in REFERENCE])
def test_reference_mode_matches_inline(case: Case) -> None:
    fake = vault()
    (inline,) = run(case.manifest, fake)
    fake.reads.clear()
    (vs,) = run(case.manifest, fake, mode="reference", connection=ConnectionRef("vault"))
    assert not fake.reads, "reference mode reads nothing"
    jsonschema.validate(vs, SCHEMA)
    assert vs["kind"] == "VaultSecret"
    assert vs["spec"]["target"]["name"] == inline["metadata"]["name"]
    assert vs["spec"]["target"]["type"] == inline.get("type", "Opaque")
    rendered = yaml.safe_dump(vs)
    assert not any(v in rendered for v in [*SECRET_VALUES.values(), "v1-token"]), case.reason
    assert "&id" not in rendered and "*id" not in rendered, "no YAML anchors or aliases"
    assert controller_bytes(vs, fake) == secret_bytes(inline), case.reason


def test_reference_mode_keeps_kpt_annotations_out_of_the_secret() -> None:
    """kpt and kustomize annotate each item with its file; the VaultSecret keeps them (kpt
    writes it back by them), its Secret's template does not (kpt strips metadata only)."""
    tool = {
        "config.kubernetes.io/path": "db.yaml",
        "config.kubernetes.io/index": "0",
        "internal.config.kubernetes.io/path": "db.yaml",
        "config.k8s.io/id": "1",
        "kustomize.config.k8s.io/id": "x",
    }
    manifest = yaml.safe_dump(
        {
            "kind": "Secret",
            "metadata": {"name": "s", "annotations": {**tool, "note": "kept"}},
            "stringData": {"u": "<vault:secret/app#user>"},
        }
    )
    (vs,) = run(manifest, mode="reference", connection=ConnectionRef("vault"))
    assert vs["metadata"]["annotations"] == {**tool, "note": "kept"}
    assert vs["spec"]["target"]["template"]["metadata"] == {"annotations": {"note": "kept"}}


def test_reference_mode_refuses_placeholders_outside_secrets() -> None:
    with pytest.raises(RenderFailed) as caught:
        run(
            "kind: ConfigMap\nmetadata: {name: c}\ndata: {u: '<vault:secret/app#user>'}",
            mode="reference",
            connection=ConnectionRef("v"),
        )
    assert "ConfigMap c: data.u: a placeholder outside a Secret" in str(caught.value)


def test_reference_mode_refuses_modifiers_without_template_equivalent() -> None:
    with pytest.raises(RenderFailed, match="sha256sum"):
        run(
            "kind: Secret\nmetadata: {name: s}\nstringData: {u: '<vault:secret/app#user | sha256sum>'}",
            mode="reference",
            connection=ConnectionRef("v"),
        )


def test_not_found_is_the_vault_error() -> None:
    with pytest.raises(RenderFailed) as caught:
        run("kind: ConfigMap\nmetadata: {name: c}\ndata: {u: '<vault:secret/nope#user>'}")
    assert isinstance(caught.value.cause, NotFound)


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c.d"]),
        st.text(alphabet=st.sampled_from(list("<>|#:/ .{}pathvuserwkyjsonP0123-\n")), max_size=40),
        max_size=3,
    ),
    st.sampled_from(["Secret", "ConfigMap", "Deployment"]),
    st.booleans(),
    st.sampled_from(["inline", "reference"]),
)
def test_any_values_render_or_fail_with_our_error(
    values: dict[str, str], kind: str, annotated: bool, mode: str
) -> None:
    meta: dict[str, Any] = {"name": "x"}
    if annotated:
        meta["annotations"] = {"avp.kubernetes.io/path": "secret/data/app"}
    field_name = "stringData" if kind == "Secret" else "data"
    doc = {"apiVersion": "v1", "kind": kind, "metadata": meta, field_name: values}
    options = RenderOptions(mode=mode, connection=ConnectionRef("v"))  # type: ignore[arg-type]
    fake = vault()
    try:
        (out,) = render(
            load_stream(yaml.safe_dump(doc).encode(), source="f"),
            resolver=lambda: fake,
            options=options,
        )
    except RenderFailed as exc:
        assert str(exc).startswith("f: ")  # located: file first
        assert not any(v in str(exc) for v in SECRET_VALUES.values())
    else:
        assert out["kind"] in (kind, "VaultSecret")
