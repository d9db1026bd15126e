"""Whole-manifest sealing: the key hint, fallback, multi-recipient values, templates."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from sealer.errors import DecryptError, TemplateError
from sealer.keys import KeyPair, load_private_keys
from sealer.manifests import (
    PlainSecret,
    format_sealed_with,
    parse_sealed_secret,
    parse_sealed_with,
)
from sealer.sealing import seal_secret, unseal, unsealed_secret

DATA = Path(__file__).parents[1] / "data"


@cache
def key(size: int) -> KeyPair:
    return load_private_keys((DATA / f"key-{size}.pem").read_bytes())[0]


SECRET = PlainSecret(name="db", namespace="prod", data={"a": b"1", "b": b"2", "c": b"3"})


def test_hint_opens_each_value_with_one_rsa_operation() -> None:
    sealed = parse_sealed_secret(seal_secret(SECRET, [key(2048).recipient]))
    # Many keys in the ring, the right one last: the hint goes straight to it.
    decoys = [key(4096)] * 5
    opened = unseal(sealed, [*decoys, key(2048)])
    assert opened.values == SECRET.data
    assert opened.private_key_ops == 3
    assert set(opened.opened_with.values()) == {key(2048).fingerprint}


def test_without_hint_every_key_is_tried() -> None:
    doc = seal_secret(SECRET, [key(4096).recipient])
    del doc["metadata"]["annotations"]["sealops.dev/sealed-with"]
    other = load_private_keys((DATA / "key-4096.pem").read_bytes())[0]
    # Same size keys: no shortcut by size. Put a generated same-size decoy first.
    from cryptography.hazmat.primitives.asymmetric import rsa

    decoy = KeyPair(private_key=rsa.generate_private_key(public_exponent=65537, key_size=4096))
    opened = unseal(parse_sealed_secret(doc), [decoy, other])
    assert opened.values == SECRET.data
    assert opened.private_key_ops == 6  # two tries per value


def test_a_wrong_hint_falls_back() -> None:
    doc = seal_secret(SECRET, [key(2048).recipient])
    doc["metadata"]["annotations"]["sealops.dev/sealed-with"] = key(4096).fingerprint
    opened = unseal(parse_sealed_secret(doc), [key(4096), key(2048)])
    assert opened.values == SECRET.data


def test_multi_recipient_value_uses_own_blob() -> None:
    doc = seal_secret(SECRET, [key(4096).recipient, key(2048).recipient])
    sealed = parse_sealed_secret(doc)
    for own in (key(4096), key(2048)):
        opened = unseal(sealed, [own])
        assert opened.values == SECRET.data
        assert opened.private_key_ops == 3


def test_no_key_fits() -> None:
    sealed = parse_sealed_secret(seal_secret(SECRET, [key(2048).recipient]))
    # No RSA work is spent on a key of another size, and the error says which sizes.
    with pytest.raises(DecryptError, match="made for a 2048-bit key, not the given 4096-bit"):
        unseal(sealed, [key(4096)])


@pytest.mark.parametrize(
    ("hint", "keys", "expected"),
    [
        ("SHA256:x", ["a", "b"], {"a": ["SHA256:x"], "b": ["SHA256:x"]}),
        ("SHA256:x,SHA256:y", ["a"], {"a": ["SHA256:x", "SHA256:y"]}),
        (
            "a=SHA256:x;b=SHA256:y,SHA256:z",
            ["a", "b"],
            {"a": ["SHA256:x"], "b": ["SHA256:y", "SHA256:z"]},
        ),
        ("a=SHA256:x;gone=SHA256:y", ["a"], {"a": ["SHA256:x"]}),
        ("", ["a"], {}),
        (";;=", ["a"], {}),
    ],
    ids=["common", "multi-recipient", "per-value", "stale-key-dropped", "empty", "garbage-ignored"],
)
def test_parse_sealed_with(hint: str, keys: list[str], expected: dict[str, list[str]]) -> None:
    assert parse_sealed_with(hint, keys) == expected


def test_format_sealed_with_round_trips() -> None:
    per_key = {"b": ["SHA256:y"], "a": ["SHA256:x", "SHA256:z"]}
    text = format_sealed_with(per_key, per_key)
    assert text == "a=SHA256:x,SHA256:z;b=SHA256:y"
    assert text is not None and parse_sealed_with(text, per_key) == per_key
    assert format_sealed_with({"a": ["SHA256:x"], "b": ["SHA256:x"]}, ["a", "b"]) == "SHA256:x"


def test_template_renders_over_values() -> None:
    doc = seal_secret(SECRET, [key(2048).recipient])
    doc["spec"]["template"]["data"] = {"dsn": "db://{{ a }}:{{ b }}@host"}
    sealed = parse_sealed_secret(doc)
    secret = unsealed_secret(sealed, unseal(sealed, [key(2048)]).values)
    assert secret.data["dsn"] == b"db://1:2@host"
    doc["spec"]["template"]["data"] = {"dsn": "{{ missing }}"}
    sealed = parse_sealed_secret(doc)
    with pytest.raises(
        TemplateError, match=r"template.data.dsn: line 1: undefined name.*'missing'"
    ):
        unsealed_secret(sealed, unseal(sealed, [key(2048)]).values)


def test_template_sandbox_blocks_attribute_escape() -> None:
    doc = seal_secret(SECRET, [key(2048).recipient])
    doc["spec"]["template"]["data"] = {"x": "{{ a.__class__.__mro__ }}"}
    sealed = parse_sealed_secret(doc)
    with pytest.raises(TemplateError) as info:
        unsealed_secret(sealed, unseal(sealed, [key(2048)]).values)
    assert "1" not in str(info.value).split(":")[-1]  # the value is not quoted
