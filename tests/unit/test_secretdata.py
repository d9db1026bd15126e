"""One decoder of Secret ``data`` (sealer.secretdata), and every call site that uses it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from controller.secretwriter import decode_data as writer_decode_data
from sealer.errors import KeyMaterialError, ManifestError
from sealer.keys import load_private_keys
from sealer.manifests import parse_secret
from sealer.secretdata import SecretDataError, decode_data, decode_value, text_of

DATA = Path(__file__).parents[1] / "data"
SECRET_TEXT = "hunter2-correct-horse!"  # 22 bytes: the base64 ends in ==
ENCODED = base64.b64encode(SECRET_TEXT.encode()).decode()

# (id, value, reason): none of these is base64 as the API server reads it.
BAD = [
    ("outside-the-alphabet", SECRET_TEXT, "'-' and letters past the padding: not base64"),
    ("missing-padding", ENCODED.rstrip("="), "Go's StdEncoding wants the padding"),
    ("excess-padding", ENCODED + "=", "more '=' than the length needs"),
    ("space-inside", ENCODED[:4] + " " + ENCODED[4:], "only CR and LF are skipped"),
    ("tab-inside", ENCODED[:4] + "\t" + ENCODED[4:], "only CR and LF are skipped"),
    ("url-safe-alphabet", base64.urlsafe_b64encode(b"\xfb\xff\xfe").decode(), "'-' and '_'"),
    ("padding-in-the-middle", "YQ==YQ==", "data after the padding"),
]


@pytest.mark.parametrize(("value", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_base64_names_the_key_and_never_the_value(value: str, reason: str) -> None:
    with pytest.raises(SecretDataError) as caught:
        decode_value(value, key="db.password", where="Secret shop/db")
    assert str(caught.value) == "Secret shop/db: data.db.password: is not valid base64", reason
    assert value not in str(caught.value) and SECRET_TEXT not in str(caught.value), reason
    assert isinstance(caught.value, ManifestError), "an InvalidSpec, like every manifest error"


# (id, value, expected bytes, reason)
GOOD = [
    ("plain", ENCODED, SECRET_TEXT.encode(), "the standard alphabet, padded"),
    ("wrapped-lf", ENCODED[:8] + "\n" + ENCODED[8:] + "\n", SECRET_TEXT.encode(), "a | block"),
    ("wrapped-crlf", ENCODED[:8] + "\r\n" + ENCODED[8:], SECRET_TEXT.encode(), "Go skips CR"),
    ("empty", "", b"", "an empty value is empty"),
    ("null", None, b"", "YAML's `key:` is an empty value"),
    ("binary", base64.b64encode(b"\x00\xff").decode(), b"\x00\xff", "bytes, not only text"),
]


@pytest.mark.parametrize(
    ("value", "expected", "reason"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD]
)
def test_good_base64(value: str | None, expected: bytes, reason: str) -> None:
    assert decode_value(value, key="k") == expected, reason


@pytest.mark.parametrize("value", [12, ["YQ=="], {"a": "YQ=="}, True], ids=repr)
def test_a_value_that_is_not_a_string_names_the_key(value: object) -> None:
    with pytest.raises(SecretDataError, match=r"^data\.k: is not a string$"):
        decode_value(value, key="k")


def test_a_key_is_shown_on_one_line() -> None:
    with pytest.raises(SecretDataError) as caught:
        decode_value("!", key="a\nb\x1b")
    assert str(caught.value) == "data.a\\nb\\x1b: is not valid base64"


def test_decode_data_names_the_bad_key_among_good_ones() -> None:
    data = {"user": base64.b64encode(b"app").decode(), "password": SECRET_TEXT}
    with pytest.raises(SecretDataError, match=r"^data\.password: is not valid base64$"):
        decode_data(data)
    assert decode_data({"user": data["user"]}) == {"user": b"app"}
    assert decode_data(None) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ENCODED, SECRET_TEXT),
        (base64.b64encode(b"\xff\xfe").decode(), None),  # not UTF-8
        (SECRET_TEXT, None),  # not base64
        ("", ""),
    ],
    ids=["text", "not-utf-8", "not-base64", "empty"],
)
def test_text_of(value: str, expected: str | None) -> None:
    assert text_of(value) == expected


# -- the call sites --------------------------------------------------------------------------


def _secret(data: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": data}


def test_seal_reading_a_manifest() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_secret(_secret({"password": SECRET_TEXT}), source="", default_namespace="shop")
    assert str(caught.value) == "Secret db: data.password: is not valid base64"
    wrapped = ENCODED[:8] + "\n" + ENCODED[8:]
    secret = parse_secret(_secret({"password": wrapped}), source="", default_namespace="shop")
    assert secret.data == {"password": SECRET_TEXT.encode()}


def test_a_key_backup() -> None:
    backup = _secret({"tls.key": "not base64!"}) | {"type": "kubernetes.io/tls"}
    with pytest.raises(KeyMaterialError) as caught:
        load_private_keys(repr(backup).replace("'", '"').encode(), source="backup.json")
    assert str(caught.value) == "Secret db: data.tls.key: is not valid base64"
    pem = (DATA / "key-2048.pem").read_bytes()
    good = _secret({"tls.key": base64.encodebytes(pem).decode()})  # wrapped every 76 characters
    (pair,) = load_private_keys(repr(good).replace("'", '"').encode(), source="backup.json")
    assert pair.private_key.key_size == 2048


def test_the_secret_writer_counts_bad_data_as_drift() -> None:
    """Too lax before (no validation: stray characters were dropped); now any value the API
    server would not have written reads as data that matches nothing."""
    decoded = writer_decode_data({"data": {"a": ENCODED, "b": ENCODED + "!", "c": None}})
    assert decoded == {"a": SECRET_TEXT.encode(), "b": b"\x00invalid", "c": b""}
