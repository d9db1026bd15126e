"""argocd-vault-plugin's modifiers and the JSONPath subset, case by case, plus a fuzz of both."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealer.errors import SealopsError
from sealer.render.errors import ModifierError
from sealer.render.modifiers import apply_modifiers
from sealer.render.placeholders import Modifier, Placeholder, split


def mods(text: str) -> tuple[Modifier, ...]:
    (only,) = split(f"<k | {text}>", generic=True)
    assert isinstance(only, Placeholder)
    return only.modifiers


@dataclass(frozen=True)
class Case:
    id: str
    reason: str
    pipeline: str
    value: Any
    want: Any


CASES = [
    Case("b64enc", "plain text to base64 for Secret.data", "base64encode", "pass", "cGFzcw=="),
    Case("b64dec", "a base64 value to text", "base64decode", "cGFzcw==", "pass"),
    Case(
        "jsonpath-field",
        "pick a field of a JSON value",
        "jsonPath {.user}",
        '{"user": "app", "pw": "x"}',
        "app",
    ),
    Case(
        "jsonpath-template",
        "literals and several fields",
        "jsonPath {.user}{':'}{.pw}",
        '{"user": "app", "pw": "x"}',
        "app:x",
    ),
    Case(
        "jsonpath-index",
        "list indexes, negative from the end",
        "jsonPath {.hosts[-1]}",
        '{"hosts": ["a", "b"]}',
        "b",
    ),
    Case(
        "jsonpath-star",
        "several results join with spaces",
        "jsonPath {.hosts[*].n}",
        '{"hosts": [{"n": 1}, {"n": 2}]}',
        "1 2",
    ),
    Case(
        "jsonpath-quoted",
        "quoted names reach keys with dots",
        "jsonPath {['a.b']}",
        '{"a.b": true}',
        "true",
    ),
    Case("jsonparse", "JSON text to data, for typed fields", "jsonParse", '{"r": 3}', {"r": 3}),
    Case(
        "jsonpath-then-parse",
        "avp's documented replicas example",
        "jsonPath {.replicas} | jsonParse",
        '{"replicas": 3}',
        3,
    ),
    Case(
        "yamlparse-then-path",
        "YAML values read with jsonPath",
        "yamlParse | jsonPath {.username}",
        "username: app\npassword: x\n",
        "app",
    ),
    Case(
        "indent",
        "later lines indented, first trimmed, empty lines dropped (as avp)",
        "indent 2",
        "a\n  b\n\nc\n",
        "a\n  b\n  c\n",
    ),
    Case("sha256", "lowercase hex digest", "sha256sum", "x", hashlib.sha256(b"x").hexdigest()),
    Case(
        "chain",
        "modifiers apply left to right",
        "jsonPath {.u} | base64encode",
        '{"u": "app"}',
        "YXBw",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_modifier(case: Case) -> None:
    assert apply_modifiers(case.value, mods(case.pipeline)) == case.want, case.reason


FAILS = [
    Case(
        "b64dec-invalid", "invalid base64 is an error, not garbage", "base64decode", "@@@", "base64"
    ),
    Case("jsonparse-invalid", "invalid JSON", "jsonParse", "{", "not valid JSON"),
    Case(
        "jsonpath-missing",
        "missing keys are errors (allowMissingKeys=false)",
        "jsonPath {.nope}",
        '{"a": 1}',
        "'nope' is not found",
    ),
    Case(
        "jsonpath-filter",
        "filters are refused, not guessed",
        "jsonPath {.a[?(@.x)]}",
        "{}",
        "not supported",
    ),
    Case(
        "b64enc-of-data", "structured data is not text", "jsonParse | base64encode", "[1]", "a list"
    ),
]


@pytest.mark.parametrize("case", FAILS, ids=[c.id for c in FAILS])
def test_modifier_failure_names_no_value(case: Case) -> None:
    with pytest.raises(ModifierError) as caught:
        apply_modifiers(case.value, mods(case.pipeline))
    assert case.want in str(caught.value), case.reason
    if len(str(case.value)) > 3:
        assert str(case.value) not in str(caught.value)


PIPELINES = [
    "base64encode",
    "base64decode",
    "jsonParse",
    "yamlParse",
    "sha256sum",
    "indent 3",
    "jsonPath {.a}",
    "jsonPath {.a[0]}{'-'}{.b[*]}",
    "yamlParse | jsonPath {.a}",
    "jsonParse | jsonPath {[*]}",
]


@given(st.sampled_from(PIPELINES), st.text(max_size=60))
def test_any_value_gives_a_result_or_our_error(pipeline: str, value: str) -> None:
    try:
        result = apply_modifiers(value, mods(pipeline))
    except SealopsError as exc:
        assert str(exc)
    else:
        assert result is None or isinstance(result, str | int | float | bool | list | dict)


@given(st.text(alphabet=st.sampled_from(list("{}[]().*$'\"ab01:-? ")), max_size=30))
def test_any_json_path_template_gives_a_result_or_our_error(template: str) -> None:
    try:
        result = apply_modifiers(
            '{"a": [1, {"b": 2}], "b": "x"}', (Modifier("jsonPath", (template,)),)
        )
    except SealopsError as exc:
        assert str(exc).startswith("jsonPath")
    else:
        assert isinstance(result, str)
