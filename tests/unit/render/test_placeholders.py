"""The placeholder grammar: what is a placeholder, what it reads, and what it refuses.

Table-driven, each case with the reason it exists; hypothesis shows that no text, however odd,
makes the parser raise anything but our own errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealer.errors import SealopsError
from sealer.render.errors import PlaceholderError
from sealer.render.placeholders import KvVersion, Modifier, Placeholder, split


@dataclass(frozen=True)
class Ok:
    id: str
    reason: str
    text: str
    #: (kind, path, field, version, modifier names) per placeholder, literals as str
    want: tuple[object, ...]
    generic: bool = True
    kv: KvVersion | None = None


def shape(segment: object) -> object:
    if isinstance(segment, str):
        return segment
    assert isinstance(segment, Placeholder)
    mods = tuple(m.name for m in segment.modifiers)
    if segment.ref is None:
        return ("generic", segment.key, mods)
    loc = segment.ref.location
    return (segment.kind, loc.path, segment.ref.field, loc.version, loc.kv_version, mods)


OK = [
    Ok(
        "inline-v2",
        "avp's KV v2 API path drops data/ to the logical path",
        "<path:secret/data/app#pw>",
        (("path", "secret/app", "pw", None, 2, ()),),
    ),
    Ok(
        "inline-version",
        "the third part is the version",
        "<path:secret/data/app#pw#3>",
        (("path", "secret/app", "pw", 3, 2, ()),),
    ),
    Ok(
        "inline-v1",
        "a path without data/ reads as KV v1",
        "<path:kv1/app#pw>",
        (("path", "kv1/app", "pw", None, 1, ()),),
    ),
    Ok(
        "kv1-annotation",
        "kv-version 1 takes the path as it is, even with a data segment",
        "<path:kv1/data/app#pw>",
        (("path", "kv1/data/app", "pw", None, 1, ()),),
        kv=1,
    ),
    Ok(
        "vault-logical",
        "our form takes the logical path",
        "<vault:secret/app#pw#2>",
        (("vault", "secret/app", "pw", 2, None, ()),),
    ),
    Ok(
        "generic",
        "a bare key is a generic placeholder when the path annotation exists",
        "<password>",
        (("generic", "password", ()),),
    ),
    Ok(
        "generic-off",
        "without the annotation, <KEY> is prose (CRD descriptions)",
        "metadata.labels['<KEY>']",
        ("metadata.labels['<KEY>']",),
        generic=False,
    ),
    Ok(
        "inline-when-generic-off",
        "inline placeholders work without the annotation",
        "a <KEY> <path:s/data/x#k>",
        ("a <KEY> ", ("path", "s/x", "k", None, 2, ())),
        generic=False,
    ),
    Ok(
        "embedded",
        "text around placeholders stays",
        "postgres://<user>:<pw>@db",
        ("postgres://", ("generic", "user", ()), ":", ("generic", "pw", ()), "@db"),
    ),
    Ok(
        "modifiers",
        "modifiers chain left to right, spaces around '|' ignored",
        "<path:s/data/x#k | jsonPath {.a} | base64encode>",
        (("path", "s/x", "k", None, 2, ("jsonPath", "base64encode")),),
    ),
    Ok("indent", "indent takes a number", "<k | indent 4>", (("generic", "k", ("indent",)),)),
    Ok("multiline", "a placeholder never spans lines", "<a\nb>", ("<a\nb>",)),
]


@pytest.mark.parametrize("case", OK, ids=[c.id for c in OK])
def test_split(case: Ok) -> None:
    got = split(case.text, generic=case.generic, kv_version=case.kv)
    assert tuple(shape(s) for s in got) == case.want, case.reason


def test_json_path_keeps_its_spaces() -> None:
    (only,) = split("<k | jsonPath {.a}{' '}{.b}>", generic=True)
    assert isinstance(only, Placeholder)
    assert only.modifiers == (Modifier("jsonPath", ("{.a}{' '}{.b}",)),)


@dataclass(frozen=True)
class Bad:
    id: str
    reason: str
    text: str
    says: str
    kv: KvVersion | None = None


BAD = [
    Bad("no-field", "a placeholder names one field", "<path:secret/data/app>", "names no field"),
    Bad(
        "bad-version",
        "KV v2 versions are numbers (Vault's rule)",
        "<path:s/data/a#k#v3>",
        "not a number",
    ),
    Bad("unknown-modifier", "a typo must not pass silently", "<k | base64>", "unknown modifier"),
    Bad("empty-modifier", "a dangling '|' is a mistake", "<k |>", "empty modifier"),
    Bad("indent-arg", "indent needs a count", "<k | indent>", "takes 1 argument"),
    Bad("indent-nan", "indent's count is a number", "<k | indent x>", "number of spaces"),
    Bad("extra-arg", "base64encode takes no arguments", "<k | base64encode 3>", "no arguments"),
    Bad("kv2-without-data", "kv-version 2 API paths need data/", "<path:kv/app#k>", "KV v2", kv=2),
    Bad("dotdot", "path traversal is refused", "<vault:secret/../x#k>", "not allowed"),
    Bad("empty-generic", "a generic placeholder needs a key", "< >", "names no key"),
]


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_refused(case: Bad) -> None:
    with pytest.raises(PlaceholderError) as caught:
        split(case.text, generic=True, kv_version=case.kv)
    assert case.says in str(caught.value), case.reason


@given(
    st.text(alphabet=st.sampled_from(list("<>|#:/ .{}$[]'\"\n\tpathvulkey0123-_é")), max_size=60),
    st.booleans(),
    st.sampled_from([None, 1, 2]),
)
def test_any_text_parses_or_raises_our_error(
    text: str, generic: bool, kv: KvVersion | None
) -> None:
    try:
        segments = split(text, generic=generic, kv_version=kv)
    except SealopsError:
        return
    rebuilt = "".join(s if isinstance(s, str) else s.text for s in segments)
    assert rebuilt == text  # splitting loses nothing


@given(st.text(max_size=80), st.booleans())
def test_unicode_text_never_raises_foreign_errors(text: str, generic: bool) -> None:
    try:
        segments = split(text, generic=generic)
    except SealopsError as exc:
        assert "\n" not in str(exc).replace(repr(text), "")  # one line, besides quoted input
    else:
        assert "".join(s if isinstance(s, str) else s.text for s in segments) == text
