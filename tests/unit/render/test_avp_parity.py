"""argocd-vault-plugin's semantics where sealops used to differ, against the in-memory FakeVault.

Each case is one of avp's rules (from its ``pkg/kube`` code and tests): value types, versions,
paths, ``remove-missing``, modifiers on maps, jsonPath ``range`` and step slices,
``AVP_PATH_VALIDATION``, ``AVP_TYPE`` / ``AVP_AUTH_TYPE``, empty and non-Kubernetes input. Every
error is checked for the planted values (``PLANT-…``) the Vault holds: none may appear.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from sealer.errors import InputError, SealopsError
from sealer.render import RenderFailed, RenderOptions, load_stream, render
from sealer.render.config import check_application_env, check_backend
from sealer.render.errors import ModifierError, PlaceholderError
from sealer.render.jsonpath import MAX_OUTPUT, MAX_STEPS, evaluate
from sealer.render.modifiers import apply_modifiers
from sealer.render.pathcheck import path_validation
from sealer.render.pipeline import load
from sealer.render.placeholders import Placeholder, split
from sealer.vault.errors import VaultConfigError
from sealer.vault.resolver import Resolver
from tests.fakes.vault import FakeVault

PLANTED = {
    "user": "PLANT-user-9f3",
    "port": 8443,
    "tls": True,
    "ratio": 0.25,
    "map": {"password": "PLANT-map-pw-77", "n": 1},
    "gone": None,
}


def vault() -> FakeVault:
    fake = FakeVault()
    fake.mount("secret", kv_version=2)
    fake.mount("kv1", kv_version=1)
    fake.put("secret/app", {"user": "PLANT-old-user"})
    fake.put("secret/app", PLANTED)
    fake.put("kv1/app", {"token": "PLANT-v1-token"})
    return fake


def run(text: str, **options: Any) -> list[dict[str, Any]]:
    fake = vault()

    def make() -> Resolver:
        return fake

    return render(load_stream(text.encode(), source="app.yaml"), resolver=make, **options)


def failure(text: str, **options: Any) -> str:
    with pytest.raises(SealopsError) as caught:
        run(text, **options)
    message = str(caught.value)
    assert "\n" not in message
    for value in ("PLANT-user-9f3", "PLANT-map-pw-77", "PLANT-old-user", "PLANT-v1-token"):
        assert value not in message, message
    return message


ANNOTATED = "metadata: {name: x, annotations: {avp.kubernetes.io/path: secret/data/app}}\n"


# -- types --------------------------------------------------------------------------------------


def test_whole_values_keep_vaults_type() -> None:
    """avp inserts a non-string value as it is: ``replicas: <replicas>`` stays a number."""
    (svc,) = run(
        "kind: Service\n" + ANNOTATED + "spec: {port: <port>, tls: <tls>, ratio: <ratio>, "
        "cfg: <map>, name: <user>}"
    )
    spec = svc["spec"]
    assert spec == {
        "port": 8443,
        "tls": True,
        "ratio": 0.25,
        "cfg": PLANTED["map"],
        "name": PLANTED["user"],
    }
    assert type(spec["port"]) is int and type(spec["tls"]) is bool


def test_secret_data_keeps_scalars_configmap_stringifies() -> None:
    """avp's secret_remove_missing fixture gives ``PORT: 80`` (a number) in a Secret's data;
    a ConfigMap's data and a base64 placeholder are stringified (its configReplacement)."""
    secret, config = run(
        "kind: Secret\n" + ANNOTATED + "data: {PORT: <port>, B64: PHBvcnQ+}\n---\n"
        "kind: ConfigMap\n" + ANNOTATED + "data: {PORT: <port>, TLS: <tls>}"
    )
    assert secret["data"] == {"PORT": 8443, "B64": "ODQ0Mw=="}
    assert config["data"] == {"PORT": "8443", "TLS": "true"}


def test_structured_value_in_secret_data_is_refused() -> None:
    message = failure("kind: Secret\n" + ANNOTATED + "data: {M: <map>}")
    assert "gives structured data" in message and "data.M" in message


def test_number_inside_text_stays_text() -> None:
    """Deliberate difference: avp replaces the whole string by the number; we keep the text."""
    (svc,) = run("kind: Service\n" + ANNOTATED + "spec: {url: 'https://h:<port>/'}")
    assert svc["spec"]["url"] == "https://h:8443/"


@pytest.mark.parametrize("modifier", ["base64encode", "jsonParse", "sha256sum", "indent 2"])
def test_text_modifiers_refuse_a_map(modifier: str) -> None:
    """avp: ``invalid datatype map[string]interface {}``; not the map's JSON text."""
    message = failure("kind: Service\n" + ANNOTATED + f"spec: {{v: '<map | {modifier}>'}}")
    assert f"{modifier.split()[0]}: expects text, got an object" in message


# -- remove-missing, null -----------------------------------------------------------------------


def test_remove_missing_applies_to_inline_placeholders() -> None:
    (secret,) = run(
        "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/remove-missing: 'true'}}\n"
        "stringData: {a: '<path:secret/data/app#user>', b: '<path:secret/data/app#nope>', "
        "c: 'x-<path:secret/data/app#nope>'}"
    )
    assert secret["stringData"] == {"a": PLANTED["user"]}


def test_missing_secret_is_still_an_error_with_remove_missing() -> None:
    message = failure(
        "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/remove-missing: 'true'}}\n"
        "stringData: {a: '<path:secret/data/none#user>'}"
    )
    assert "secret/none" in message


def test_null_is_missing() -> None:
    """avp treats a nil value as missing: an error, or removed with remove-missing."""
    assert "is null" in failure("kind: Service\n" + ANNOTATED + "spec: {v: <gone>}")
    (secret,) = run(
        "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/path: secret/data/app, "
        "avp.kubernetes.io/remove-missing: 'true'}}\nstringData: {v: <gone>, u: <user>}"
    )
    assert secret["stringData"] == {"u": PLANTED["user"]}


# -- versions and paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("placeholder", "want"),
    [
        ("<path:kv1/app#token#version>", "PLANT-v1-token"),  # KV v1 ignores any version
        ("<path:kv1/app#token#7>", "PLANT-v1-token"),
        ("<path:secret/data/app#user#0>", PLANTED["user"]),  # 0: Vault's current version
        ("<path:secret/data/app#user#1>", "PLANT-old-user"),
        ("<path:/secret/data/app#user>", PLANTED["user"]),  # a leading '/', as avp
    ],
)
def test_versions_and_leading_slash(placeholder: str, want: str) -> None:
    (cm,) = run(f"kind: ConfigMap\nmetadata: {{name: c}}\ndata: {{v: '{placeholder}'}}")
    assert cm["data"]["v"] == want


def test_non_numeric_kv2_version_is_refused() -> None:
    message = failure(
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {v: '<path:secret/data/app#user#latest>'}"
    )
    assert "version 'latest' is not a number" in message and "data.v" in message


def test_secret_version_annotation_as_avp_reads_it() -> None:
    (kv1,) = run(
        "kind: ConfigMap\nmetadata: {name: c, annotations: {avp.kubernetes.io/path: kv1/app, "
        "avp.kubernetes.io/secret-version: 'v9'}}\ndata: {t: <token>}"
    )
    assert kv1["data"]["t"] == "PLANT-v1-token"
    message = failure(
        "kind: ConfigMap\nmetadata: {name: c, annotations: {avp.kubernetes.io/path: /secret/data/app, "
        "avp.kubernetes.io/secret-version: 'v9'}}\ndata: {u: <user>}"
    )
    assert "avp.kubernetes.io/path" in message and "not a number" in message


def test_secret_version_without_a_path_is_refused() -> None:
    """Deliberate difference: avp ignores it; it pins nothing, so it is a mistake."""
    message = failure(
        "kind: ConfigMap\nmetadata: {name: c, annotations: {avp.kubernetes.io/secret-version: '2'}}\n"
        "data: {v: '<path:secret/data/app#user>'}"
    )
    assert "needs avp.kubernetes.io/path" in message


def test_empty_path_annotation_is_no_path() -> None:
    """``avp.kubernetes.io/path: ""``: no generic placeholders, inline ones still filled."""
    (cm,) = run(
        "kind: ConfigMap\nmetadata: {name: c, annotations: {avp.kubernetes.io/path: ''}}\n"
        "data: {doc: 'write <key>', v: '<path:secret/data/app#user>'}"
    )
    assert cm["data"] == {"doc": "write <key>", "v": PLANTED["user"]}


def test_placeholder_in_a_key_is_refused() -> None:
    message = failure("kind: Secret\nmetadata: {name: s}\ndata: {'<path:secret/data/app#user>': x}")
    assert "a placeholder in a key is not filled" in message


# -- jsonPath -------------------------------------------------------------------------------------


DATA = {"ports": [80, 8080, 9090], "items": [{"n": "a", "v": [1, 2]}, {"n": "b", "v": [3]}]}


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ("{range .ports[*]}[{@}]{end}", "[80][8080][9090]"),
        ("{range .ports[0:-1:1]}{@},{end}{.ports[-1]}", "80,8080,9090"),
        ("{.ports[0:3:2]}", "80 9090"),
        ("{.ports[::2]}", "80 9090"),
        ("{range .items[*]}{.n}={range .v[*]}{@};{end} {end}", "a=1;2; b=3; "),
        ("{range .items[*]}{@.n}{end}", "ab"),
        ("{.ports[1:1]}", ""),
        ("{range .items[5:5]}x{end}done", "done"),
    ],
)
def test_jsonpath_range_and_slices(template: str, want: str) -> None:
    assert evaluate(template, DATA) == want


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{.ports[0:9]}", "out of range"),
        ("{.ports[2:1]}", "starts after it ends"),
        ("{.ports[0:2:0]}", "step must be > 0"),
        ("{range .ports[*]}x", "{range} without {end}"),
        ("x{end}", "{end} without {range}"),
        ("{..ports}", "recursive descent"),
    ],
)
def test_jsonpath_refusals(template: str, says: str) -> None:
    with pytest.raises(ModifierError, match=re.escape(says)):
        evaluate(template, DATA)


def test_jsonpath_cost_is_bounded() -> None:
    """Nested ranges multiply: 100**3 bodies are refused by the step budget, though they print
    nothing; a result over the output bound is refused before it is built further."""
    level: Any = 0
    for _ in range(3):
        level = {"a": [level] * 100}
    with pytest.raises(ModifierError, match=f"more than {MAX_STEPS} steps"):
        evaluate("{range .a[*]}" * 3 + "{end}" * 3, level)
    big = {"a": ["x" * 4096] * 4096}
    with pytest.raises(ModifierError, match=f"would pass {MAX_OUTPUT // 2**20} MiB"):
        evaluate("{range .b[*]}{.a}{end}", {"b": [big] * 4})


# -- AVP_PATH_VALIDATION -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        (r"^\/(?!\/)(.*?)", "lookaround"),  # avp's own generate_test case
        (r"^(?<=x)a", "lookaround"),
        (r"^(a)\1$", "backreferences"),
        (r"^(?>a)", "atomic groups"),
        (r"^a++$", "possessive"),
        (r"^(", "missing )"),
        (r"^[[:alpha:]]+/", "POSIX classes"),
        (r"^\pL+/", "bad escape"),
    ],
)
def test_path_validation_refuses_what_re2_refuses(expression: str, says: str) -> None:
    with pytest.raises(VaultConfigError) as caught:
        path_validation({"AVP_PATH_VALIDATION": expression})
    assert "AVP_PATH_VALIDATION" in str(
        caught.value
    ) and "is not a valid regular expression" in str(caught.value)
    assert says in str(caught.value)


def test_path_validation_applies_to_every_path() -> None:
    pattern = path_validation({"AVP_PATH_VALIDATION": r"^secret/data/app$"})
    assert pattern is not None and path_validation({}) is None
    options = {"options": RenderOptions(path_validation=pattern)}
    (cm,) = run("kind: ConfigMap\n" + ANNOTATED + "data: {u: <user>}", **options)
    assert cm["data"]["u"] == PLANTED["user"]
    for manifest, field in [
        ("kind: ConfigMap\nmetadata: {name: c}\ndata: {t: '<path:kv1/app#token>'}", "data.t"),
        ("kind: ConfigMap\nmetadata: {name: c}\ndata: {t: '<vault:kv1/app#token>'}", "data.t"),
        (
            "kind: ConfigMap\nmetadata: {name: c, annotations: {avp.kubernetes.io/path: kv1/app}}\n"
            "data: {t: <token>}",
            "metadata.annotations.avp.kubernetes.io/path",
        ),
    ]:
        message = failure(manifest, **options)
        assert "'kv1/app' is disallowed by AVP_PATH_VALIDATION restriction" in message
        assert field in message


def test_an_application_may_not_set_path_validation() -> None:
    with pytest.raises(VaultConfigError, match="ARGOCD_ENV_AVP_PATH_VALIDATION"):
        check_application_env({"ARGOCD_ENV_AVP_PATH_VALIDATION": ".*"})


# -- AVP_TYPE, AVP_AUTH_TYPE --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"AVP_TYPE": "awssecretsmanager"}, "AVP_TYPE=awssecretsmanager is not supported"),
        ({"ARGOCD_ENV_AVP_TYPE": "gcpsecretmanager"}, "ARGOCD_ENV_AVP_TYPE=gcpsecretmanager"),
        ({"AVP_AUTH_TYPE": "github"}, "AVP_AUTH_TYPE=github is not supported"),
        ({"AVP_AUTH_TYPE": "userpass"}, "AVP_AUTH_TYPE=userpass is not supported"),
        ({"SEALOPS_AUTH": "github"}, "SEALOPS_AUTH must be token, approle or kubernetes"),
    ],
)
def test_unsupported_backends_and_auth_types(environ: dict[str, str], says: str) -> None:
    with pytest.raises(VaultConfigError) as caught:
        check_backend(environ)
    assert says in str(caught.value)
    if "AVP_AUTH_TYPE" in environ:
        assert "SEALOPS_AUTH" not in str(caught.value)


@pytest.mark.parametrize(
    "environ", [{}, {"AVP_TYPE": "vault"}, {"AVP_AUTH_TYPE": "k8s"}, {"SEALOPS_AUTH": "approle"}]
)
def test_supported_settings_pass(environ: dict[str, str]) -> None:
    check_backend(environ)


# -- input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream", [b"", b"---\n# only a comment\n---\n", b"kind: List\nitems: []\n"]
)
def test_empty_streams_are_errors(stream: bytes) -> None:
    with pytest.raises(InputError, match="holds no Kubernetes objects") as caught:
        load("-", stream, {})
    assert "stdin" in str(caught.value)


def test_a_document_without_kind_is_an_error_naming_the_file(tmp_path: Any) -> None:
    (tmp_path / "a.yaml").write_text("kind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "values.yaml").write_text("password: PLANT-user-9f3\n")
    with pytest.raises(InputError) as caught:
        load(str(tmp_path), None, {})
    message = str(caught.value)
    assert "values.yaml" in message and "not a Kubernetes object" in message
    assert "PLANT-user-9f3" not in message


def test_render_failures_stay_located() -> None:
    with pytest.raises(RenderFailed) as caught:
        run(
            "kind: ConfigMap\nmetadata: {name: c, namespace: n}\ndata: {v: '<path:secret/data/app#user#x>'}"
        )
    assert str(caught.value).startswith("app.yaml: ConfigMap n/c: data.v:")


# -- pkg/kube/modifiers_test.go, case for case ----------------------------------------------------

MAP = {"data": {"subkey": "secret"}}
MODIFIER_CASES = [
    # (avp test, value, modifiers, result or None for an error, what the error says)
    ("JsonPath_missingPath", MAP, "jsonPath {.missingPath}", None, "'missingPath' is not found"),
    ("JsonPath_invalidPath", MAP, "jsonPath {!invalidPath}", None, "jsonPath"),
    ("JsonPath_unmarshal_error", "hi, how are you", "jsonPath {.data.subkey}", None, "JSON"),
    ("JsonPath_unmarshal_succcess", '{"data": {"subkey": "secret"}}', "jsonPath {.data.subkey}",
     "secret", ""),
    ("JsonPath_succcess", MAP, "jsonPath {.data.subkey}", "secret", ""),
    ("Base64Encode_invalidDataType", MAP, "base64encode", None, "expects text"),
    ("Base64Encode_success", "mysecret", "base64encode", "bXlzZWNyZXQ=", ""),
    ("Base64Decode_invalidDataType", MAP, "base64decode", None, "expects text"),
    ("Base64Decode_success", "bXlzZWNyZXQ=", "base64decode", "mysecret", ""),
    ("JsonParse_invalidDataType", MAP, "jsonParse", None, "expects text"),
    ("JsonParse_invalidJSON", "hello", "jsonParse", None, "not valid JSON"),
    ("JsonParse_success", '{"data": {"subkey": "secret"}}', "jsonParse", MAP, ""),
    ("YAMLToJSON_success", "data: secret", "yamlParse", {"data": "secret"}, ""),
    ("YamlJsonPath_unmarshal_succcess", "---\nkey1: secret1\nkey2: secret2\nkey3: secret3",
     "yamlParse | jsonPath {.key2}", "secret2", ""),
    ("Indent_multiline", "a\nmulti-line\nstring", "indent 3", "a\n   multi-line\n   string", ""),
    ("Indent_singleline", "a-string", "indent 10", "a-string", ""),
    ("Sha256Sum_invalidDataType", MAP, "sha256sum", None, "expects text"),
    ("Sha256Sum_success", "mysecret", "sha256sum",
     "652c7dc687d98c9889304ed2e408c74b611e86a40caa51c4b43f1dd5913c5cd0", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "pipeline", "want", "says"),
    [case[1:] for case in MODIFIER_CASES],
    ids=[case[0] for case in MODIFIER_CASES],
)
def test_avp_modifier_cases(value: Any, pipeline: str, want: Any, says: str) -> None:
    (placeholder,) = split(f"<k | {pipeline}>", generic=True)
    assert isinstance(placeholder, Placeholder)
    if want is None:
        with pytest.raises(ModifierError, match=re.escape(says)):
            apply_modifiers(value, placeholder.modifiers)
    else:
        assert apply_modifiers(value, placeholder.modifiers) == want


@pytest.mark.parametrize(
    "pipeline",
    ["jsonPath", "base64encode astring", "base64decode astring", "jsonParse astring",
     "indent ten", "indent 10 10", "sha256sum astring"],
)  # fmt: skip
def test_avp_invalid_parameters(pipeline: str) -> None:
    """avp's ``*_invalidParams`` and ``Indent_invalid``: refused when the placeholder is read."""
    with pytest.raises(PlaceholderError):
        split(f"<k | {pipeline}>", generic=True)
