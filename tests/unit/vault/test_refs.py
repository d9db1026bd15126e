"""The reference grammar: table-driven cases with a reason each, and properties over any text."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealer.vault.errors import InvalidReference
from sealer.vault.refs import (
    RefSyntax,
    SecretLocation,
    first_segment_mount,
    parse_ref,
    split_mount,
)


@dataclass(frozen=True)
class Good:
    reason: str
    text: str
    want: SecretLocation
    field: str | None
    syntax: RefSyntax = "logical"


GOOD = [
    Good(
        "field of the current version",
        "secret/app/db#password",
        SecretLocation("secret/app/db"),
        "password",
    ),
    Good(
        "pinned version",
        "secret/app/db#password#3",
        SecretLocation("secret/app/db", version=3),
        "password",
    ),
    Good("no field: the whole secret (dataFrom)", "secret/app", SecretLocation("secret/app"), None),
    Good(
        "whole secret at a version", "secret/app##7", SecretLocation("secret/app", version=7), None
    ),
    Good("deeply nested path", "kv/team/a/b/c#k", SecretLocation("kv/team/a/b/c"), "k"),
    Good(
        "a logical path may contain a 'data' folder",
        "secret/data/app#k",
        SecretLocation("secret/data/app"),
        "k",
    ),
    Good(
        "fields may hold dots, slashes and spaces",
        "secret/app#tls.crt/x y",
        SecretLocation("secret/app"),
        "tls.crt/x y",
    ),
    Good(
        "API form with /data/ is KV v2, normalised",
        "secret/data/app#key",
        SecretLocation("secret/app", mount="secret", kv_version=2),
        "key",
        "api",
    ),
    Good(
        "API form with a version",
        "secret/data/app/db#key#2",
        SecretLocation("secret/app/db", version=2, mount="secret", kv_version=2),
        "key",
        "api",
    ),
    Good(
        "API form on a multi-segment mount",
        "team/kv/data/app#key",
        SecretLocation("team/kv/app", mount="team/kv", kv_version=2),
        "key",
        "api",
    ),
    Good(
        "API form without /data/ is a KV v1 path",
        "kv1/app#key",
        SecretLocation("kv1/app", kv_version=1),
        "key",
        "api",
    ),
    Good(
        "API form: only the first 'data' marks the mount",
        "secret/data/data/x#k",
        SecretLocation("secret/data/x", mount="secret", kv_version=2),
        "k",
        "api",
    ),
]


@pytest.mark.parametrize("case", GOOD, ids=[c.reason for c in GOOD])
def test_parses(case: Good) -> None:
    ref = parse_ref(case.text, syntax=case.syntax)
    assert ref.location == case.want
    assert ref.field == case.field
    assert str(ref) == case.text


@dataclass(frozen=True)
class Bad:
    reason: str
    text: str
    says: str
    syntax: RefSyntax = "logical"


BAD = [
    Bad("empty", "", "empty Vault reference"),
    Bad("mount only", "secret#k", "needs a mount and a secret path"),
    Bad("leading slash", "/secret/app#k", "must not start with '/' (at character 1)"),
    Bad("trailing slash is a folder", "secret/app/#k", "must not end with '/'"),
    Bad("empty segment", "secret//app#k", "empty segment"),
    Bad("dot-dot would walk out of the mount", "secret/../sys/raw#k", "'..' is not allowed"),
    Bad("dot segment", "secret/./app#k", "'.' is not allowed"),
    Bad("empty field", "secret/app#", "empty field after '#' (at character 12)"),
    Bad("version zero", "secret/app#k#0", "version '0' is not a positive integer"),
    Bad("negative version", "secret/app#k#-1", "is not a positive integer (at character 14)"),
    Bad("version with a sign", "secret/app#k#+1", "is not a positive integer"),
    Bad("non-ASCII digits", "secret/app#k#\u0663", "is not a positive integer"),
    Bad("version too large", "secret/app#k#1234567890123456789", "not a positive integer"),
    Bad("three hashes", "secret/app#k#1#2", "[#<version>] (at character 15)"),
    Bad("no path before the field", "#k", "has no path before '#'"),
    Bad("whitespace around", " secret/app#k", "leading or trailing whitespace"),
    Bad("newline inside", "secret/a\npp#k", "control character U+000A (at character 9)"),
    Bad("API form with nothing after /data/", "secret/data#k", "after '/data/'", "api"),
]


@pytest.mark.parametrize("case", BAD, ids=[c.reason for c in BAD])
def test_rejects(case: Bad) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_ref(case.text, syntax=case.syntax)
    message = str(caught.value)
    assert case.says in message
    assert "\n" not in message
    assert caught.value.reason == "InvalidSpec"


SPLITS = [
    ("longest mount wins", "team/kv/app", ["team", "team/kv/"], ("team/kv", "app")),
    ("trailing slashes as the server lists them", "secret/a/b", ["secret/"], ("secret", "a/b")),
    ("segment boundary, not string prefix", "secretary/x", ["secret/"], None),
    ("no mount matches", "other/x", ["secret/", "kv/"], None),
]


@pytest.mark.parametrize(
    ("path", "mounts", "want"),
    [s[1:] for s in SPLITS],
    ids=[s[0] for s in SPLITS],
)
def test_split_mount(path: str, mounts: list[str], want: tuple[str, str] | None) -> None:
    assert split_mount(path, mounts) == want


def test_split_mount_rejects_the_mount_itself() -> None:
    with pytest.raises(InvalidReference, match="names the mount itself"):
        split_mount("secret", ["secret/"])


def test_first_segment_mount() -> None:
    assert first_segment_mount("secret/a/b") == ("secret", "a/b")
    with pytest.raises(InvalidReference, match="no secret path"):
        first_segment_mount("secret")


@given(st.text(), st.sampled_from(["logical", "api"]))
def test_any_text_parses_or_raises_invalid_reference(text: str, syntax: RefSyntax) -> None:
    try:
        ref = parse_ref(text, syntax=syntax)
    except InvalidReference as exc:
        assert "\n" not in str(exc)
    else:
        assert ref.text == text
        assert ".." not in ref.path.split("/")


_segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Zs")),
    min_size=1,
    max_size=8,
).filter(lambda s: "/" not in s and "#" not in s and s not in (".", ".."))


@given(
    st.lists(_segment, min_size=2, max_size=5),
    _segment,
    st.one_of(st.none(), st.integers(min_value=1, max_value=10**12)),
)
def test_round_trip(segments: list[str], field: str, version: int | None) -> None:
    path = "/".join(segments)
    text = f"{path}#{field}" + ("" if version is None else f"#{version}")
    ref = parse_ref(text)
    assert (ref.path, ref.field, ref.version) == (path, field, version)
