"""``seal check`` and ``seal render --deny-plaintext`` share one definition of a placeholder.

The pre-commit hook must refuse every Secret the renderer (what Argo CD runs) refuses, and
nothing it accepts. Each case, and each generated Secret, goes through both: the renderer's
engine on the parsed object, and the guard's scan of the same object written as YAML.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealer.check import scan
from sealer.render import RenderFailed, RenderOptions, load_stream, render
from sealer.render.errors import PlaintextError
from sealer.vault.resolver import Resolver

PATH = "avp.kubernetes.io/path"
IGNORE = "avp.kubernetes.io/ignore"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"


class _NoVault(Exception):
    """Raised where the renderer would read Vault: its plaintext check is behind it."""


def _no_vault() -> Resolver:
    raise _NoVault


def renderer_refuses(obj: dict[str, Any]) -> bool:
    docs = load_stream(yaml.safe_dump(obj).encode(), source="s.yaml")
    try:
        render(docs, resolver=_no_vault, options=RenderOptions(deny_plaintext=True))
    except RenderFailed as exc:
        return isinstance(exc.cause, PlaintextError)
    except _NoVault:
        return False
    return False


def guard_refuses(obj: dict[str, Any]) -> bool:
    findings = scan("s.yaml", yaml.safe_dump(obj).encode())
    return any(f.message.startswith("plaintext Secret") for f in findings)


def secret(
    string_data: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    *,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}}
    if annotations:
        obj["metadata"]["annotations"] = annotations
    if string_data is not None:
        obj["stringData"] = string_data
    if data is not None:
        obj["data"] = data
    return obj


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


AVP = {PATH: "secret/data/app"}
_ENCODED = b64("<vault:secret/app#pw>")
WRAPPED = _ENCODED[:8] + "\n" + _ENCODED[8:]  # a `|` block scalar

# (id, Secret, refused by both, reason)
CASES: list[tuple[str, dict[str, Any], bool, str]] = [
    (
        "generic-without-avp-path",
        secret({"password": "<password>"}),
        True,
        "the issue's case: nothing fills <password>, so the cluster would get that text",
    ),
    ("generic-with-avp-path", secret({"password": "<password>"}, annotations=AVP), False, "filled"),
    ("inline", secret({"password": "<vault:secret/app#pw>"}), False, "a placeholder"),
    ("literal", secret({"password": "hunter2"}), True, "a literal value"),
    (
        "glued",
        secret({"password": "<vault:secret/app#pw>hunter2"}),
        True,
        "once accepted by the renderer: a letter touching a placeholder is the same token",
    ),
    (
        "literal-credential-beside-a-placeholder",
        secret({"dsn": "user=<vault:secret/app#u>&password=hunter2"}),
        True,
        "once accepted by the renderer: the password is literal",
    ),
    (
        "url-with-literal-password",
        secret({"url": "postgres://<vault:secret/app#u>:hunter2@db/app"}),
        True,
        "once accepted by the renderer: a URL's password given as text",
    ),
    (
        "structure-around-placeholders",
        secret({"url": "postgres://<vault:secret/app#u>:<vault:secret/app#p>@db:5432/app"}),
        False,
        "the text around placeholders is a URL's structure",
    ),
    (
        "template-expression",
        secret({"password": "{{ .Values.password }}"}),
        True,
        "once accepted by the guard: outside a chart nothing fills {{ }}",
    ),
    ("blank", secret({"a": " ", "b": "", "c": None}), False, "once refused by the renderer: blank"),
    ("certificate", secret({"ca.crt": CERT}), False, "once refused by the renderer: public"),
    (
        "data-base64-of-a-placeholder",
        secret(data={"p": _ENCODED}),
        False,
        "the renderer decodes it, fills it and encodes it again",
    ),
    ("data-base64-of-a-literal", secret(data={"p": b64("hunter2")}), True, "decoded, then judged"),
    (
        "data-wrapped-base64",
        secret(data={"p": WRAPPED}),
        False,
        "CR and LF are skipped, as the API server skips them",
    ),
    ("data-not-base64", secret(data={"p": "not base64!"}), True, "judged as written"),
    ("data-binary", secret(data={"p": base64.b64encode(b"\xff\xfe").decode()}), True, "bytes"),
    ("number", secret({"port": 5432}), True, "not a string: cannot be judged"),
    (
        "ignored-object",
        secret({"password": "hunter2"}, annotations={IGNORE: "true"}),
        True,
        "once a way past --deny-plaintext: ignore stops filling, not the guard",
    ),
    (
        "not-a-v1-secret",
        {"apiVersion": "example.com/v1", "kind": "Secret", "stringData": {"p": "hunter2"}},
        False,
        "a custom resource that happens to be called Secret holds no Secret data",
    ),
]


@pytest.mark.parametrize(
    ("obj", "refused", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_both_guards_agree(obj: dict[str, Any], refused: bool, reason: str) -> None:
    assert renderer_refuses(obj) is refused, ("renderer", reason)
    assert guard_refuses(obj) is refused, ("guard", reason)


# -- generated Secrets ---------------------------------------------------------------------

_PLACEHOLDERS = st.sampled_from(
    [
        "<vault:secret/app#user>",
        "<path:secret/data/app#pw>",
        "<path:secret/data/app#pw | base64encode>",
        "<user>",
        "<password | base64encode>",
        "<db.host>",
        "{{ .Values.x }}",
    ]
)
_TEXT = st.sampled_from(
    [
        "",
        " ",
        "x",
        "7",
        "-",
        ":",
        "@db:5432/app",
        "postgres://",
        "user=",
        "&password=",
        "password: ",
        '"token": "',
        '"',
        "Bearer ",
        "hunter2",
        "sk-",
        "<",
        ">",
        "{",
        "}",
        "#",
    ]
)
_PIECES = st.lists(st.one_of(_PLACEHOLDERS, _TEXT), max_size=5).map("".join)
_VALUES = st.one_of(
    _PIECES,
    st.just(CERT),
    st.none(),
    st.integers(min_value=0, max_value=9),
    st.text(alphabet="abc<>:/#=@ |-.", max_size=12),
)
_KEYS = st.sampled_from(["password", "url", "user", "token", "a"])


@st.composite
def _secrets(draw: st.DrawFn) -> dict[str, Any]:
    annotations: dict[str, str] = {}
    if draw(st.booleans()):
        annotations[PATH] = "secret/data/app"
    if draw(st.integers(0, 4)) == 0:
        annotations[IGNORE] = "true"
    string_data = draw(st.dictionaries(_KEYS, _VALUES, max_size=3))
    raw = draw(st.dictionaries(_KEYS, st.one_of(_PIECES, _VALUES), max_size=3))
    encode = draw(st.booleans())
    data = {
        k: b64(v) if encode and isinstance(v, str) else v for k, v in raw.items()
    }  # base64 of text, or the text itself (a raw placeholder, or not base64)
    return secret(string_data or None, data or None, annotations=annotations or None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_secrets())
def test_both_guards_agree_on_generated_secrets(obj: dict[str, Any]) -> None:
    assert renderer_refuses(obj) == guard_refuses(obj), obj
