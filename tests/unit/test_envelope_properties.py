"""Properties of the sealed-value envelope: what opens, what is refused, and how it is refused.

Every way of damaging an envelope (one changed byte, a truncation, appended bytes, another label,
another key) must end in :class:`EnvelopeError` (or its subclass :class:`DecryptError`): never
success and never another exception type, because callers convert exactly that type into a
``DecryptFailed`` condition or an ``Error: …`` line. RSA-2048 keeps the many examples fast; the
4096-bit test key (the production size) runs a few.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sealer.envelope import (
    Scope,
    decode_blob,
    encode_blob,
    hybrid_decrypt,
    hybrid_encrypt,
    join_recipients,
    label_for,
    split_recipients,
)
from sealer.errors import EnvelopeError, ScopeError
from sealer.keys import load_private_keys

DATA = Path(__file__).parents[1] / "data"

KEY_2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY_2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_4096 = load_private_keys((DATA / "key-4096.pem").read_bytes())[0].private_key

MIB = 1 << 20
LARGE_RANDOM = random.Random(4096).randbytes(MIB)

#: RSA decryption dominates each example; these budgets keep the module well under 20 s.
RSA_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
RSA_4096_SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CHEAP_SETTINGS = settings(max_examples=300, deadline=None)

plaintexts = st.binary(max_size=2048)
labels = st.binary(max_size=300)
BASE64_TEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\n,-_"


def _refused(open_envelope: Callable[[], bytes]) -> EnvelopeError:
    """Call ``open_envelope``; it must raise EnvelopeError (any other exception propagates)."""
    with pytest.raises(EnvelopeError) as info:
        open_envelope()
    assert str(info.value), "a refusal must say why"
    return info.value


# --- round trips --------------------------------------------------------------------------------


@RSA_SETTINGS
@given(plaintext=plaintexts, label=labels)
@example(plaintext=b"", label=b"")
@example(plaintext=b"", label=b"default/my-secret")
@example(plaintext=bytes(MIB), label=b"ns")
@example(plaintext=LARGE_RANDOM, label=b"prod/db")
def test_hybrid_round_trip(plaintext: bytes, label: bytes) -> None:
    envelope = hybrid_encrypt(KEY_2048.public_key(), plaintext, label)
    assert hybrid_decrypt(KEY_2048, envelope, label) == plaintext


@RSA_SETTINGS
@given(plaintext=plaintexts, label=labels)
@example(plaintext=b"", label=b"")
@example(plaintext=LARGE_RANDOM, label=b"prod/db")
def test_blob_round_trip(plaintext: bytes, label: bytes) -> None:
    blob = encode_blob(hybrid_encrypt(KEY_2048.public_key(), plaintext, label))
    assert blob.isascii()
    assert hybrid_decrypt(KEY_2048, decode_blob(blob), label) == plaintext


@RSA_4096_SETTINGS
@given(plaintext=plaintexts, label=labels)
@example(plaintext=b"", label=b"")
@example(plaintext=LARGE_RANDOM, label=b"default/my-secret")
def test_round_trip_with_4096_test_key(plaintext: bytes, label: bytes) -> None:
    blob = encode_blob(hybrid_encrypt(KEY_4096.public_key(), plaintext, label))
    assert hybrid_decrypt(KEY_4096, decode_blob(blob), label) == plaintext


@RSA_SETTINGS
@given(plaintext=plaintexts)
def test_layout_is_header_rsa_part_gcm_part(plaintext: bytes) -> None:
    envelope = hybrid_encrypt(KEY_2048.public_key(), plaintext, b"ns/name")
    assert envelope[:2] == (256).to_bytes(2, "big"), "the header is len(R), big-endian"
    assert len(envelope) == 2 + 256 + len(plaintext) + 16, "R, then ciphertext and 16-byte tag"


@CHEAP_SETTINGS
@given(raw=st.binary(min_size=1, max_size=4096))
@example(raw=LARGE_RANDOM)
def test_encode_decode_blob_round_trip(raw: bytes) -> None:
    blob = encode_blob(raw)
    assert blob == base64.b64encode(raw).decode("ascii"), "standard alphabet, padded"
    assert decode_blob(blob) == raw
    assert decode_blob(f" \n{blob}\n") == raw, "surrounding whitespace (YAML folding) is ignored"


def test_empty_blob_is_refused_not_decoded_to_empty() -> None:
    # No envelope is empty (the header alone is 2 bytes), so an empty encryptedData value is a
    # mistake in the manifest, reported as such instead of failing later as "truncated".
    assert encode_blob(b"") == ""
    err = _refused(lambda: decode_blob(encode_blob(b"")))
    assert "empty" in str(err)


# --- damaged envelopes --------------------------------------------------------------------------


@RSA_SETTINGS
@given(plaintext=plaintexts, label=labels, data=st.data())
def test_any_single_byte_change_is_refused(
    plaintext: bytes, label: bytes, data: st.DataObject
) -> None:
    envelope = bytearray(hybrid_encrypt(KEY_2048.public_key(), plaintext, label))
    index = data.draw(st.integers(0, len(envelope) - 1), label="index")
    envelope[index] ^= data.draw(st.integers(1, 255), label="xor")
    _refused(lambda: hybrid_decrypt(KEY_2048, bytes(envelope), label))


@pytest.mark.parametrize(
    "index",
    [0, 1, 2, 2 + 255, 2 + 256, 2 + 256 + 2, -16, -1],
    ids=[
        "header-high: claims a much longer R",
        "header-low: claims a slightly different R",
        "R-first: top byte of the OAEP block",
        "R-last: last byte of the OAEP block",
        "G-first: first ciphertext byte",
        "G-middle: inside the ciphertext",
        "tag-first: first byte of the GCM tag",
        "tag-last: last byte of the GCM tag",
    ],
)
def test_a_changed_byte_in_each_part_is_refused(index: int) -> None:
    envelope = bytearray(hybrid_encrypt(KEY_2048.public_key(), b"secret", b"ns/name"))
    envelope[index] ^= 0x01
    _refused(lambda: hybrid_decrypt(KEY_2048, bytes(envelope), b"ns/name"))


@RSA_SETTINGS
@given(plaintext=plaintexts, label=labels, data=st.data())
def test_any_truncation_is_refused(plaintext: bytes, label: bytes, data: st.DataObject) -> None:
    envelope = hybrid_encrypt(KEY_2048.public_key(), plaintext, label)
    cut = data.draw(st.integers(0, len(envelope) - 1), label="keep")
    _refused(lambda: hybrid_decrypt(KEY_2048, envelope[:cut], label))


@pytest.mark.parametrize(
    "keep",
    [0, 1, 2, 3, 2 + 256 - 1, 2 + 256, 2 + 256 + 15],
    ids=[
        "empty: nothing at all",
        "half-header: one byte of the length",
        "header-only: no RSA part",
        "one-byte-of-R: RSA part cut short",
        "R-minus-one: RSA part one byte short",
        "R-only: no GCM part",
        "tag-cut: GCM tag one byte short",
    ],
)
def test_truncation_at_each_boundary_is_refused(keep: int) -> None:
    envelope = hybrid_encrypt(KEY_2048.public_key(), b"", b"ns/name")
    assert len(envelope) == 2 + 256 + 16
    _refused(lambda: hybrid_decrypt(KEY_2048, envelope[:keep], b"ns/name"))


@RSA_SETTINGS
@given(plaintext=plaintexts, label=labels, extra=st.binary(min_size=1, max_size=64))
def test_appended_bytes_are_refused(plaintext: bytes, label: bytes, extra: bytes) -> None:
    envelope = hybrid_encrypt(KEY_2048.public_key(), plaintext, label)
    _refused(lambda: hybrid_decrypt(KEY_2048, envelope + extra, label))


@RSA_SETTINGS
@given(plaintext=plaintexts, label=labels, other=labels)
@example(plaintext=b"x", label=b"prod/db", other=b"dev/db")
@example(plaintext=b"x", label=b"prod", other=b"")
@example(plaintext=b"x", label=b"", other=b"prod")
def test_any_other_label_is_refused(plaintext: bytes, label: bytes, other: bytes) -> None:
    if other == label:
        other += b"/"
    envelope = hybrid_encrypt(KEY_2048.public_key(), plaintext, label)
    _refused(lambda: hybrid_decrypt(KEY_2048, envelope, other))


@pytest.mark.parametrize(
    ("sealed_for", "opened_with"),
    [
        (KEY_2048, OTHER_KEY_2048),
        (KEY_4096, KEY_2048),
        (KEY_2048, KEY_4096),
    ],
    ids=[
        "same-size: another 2048-bit key fails in OAEP",
        "smaller-key: the length header names a 4096-bit key",
        "larger-key: the length header names a 2048-bit key",
    ],
)
def test_another_key_is_refused(
    sealed_for: rsa.RSAPrivateKey, opened_with: rsa.RSAPrivateKey
) -> None:
    envelope = hybrid_encrypt(sealed_for.public_key(), b"secret", b"ns/name")
    _refused(lambda: hybrid_decrypt(opened_with, envelope, b"ns/name"))


@RSA_SETTINGS
@given(envelope=st.binary(max_size=600), label=labels)
@example(envelope=(256).to_bytes(2, "big") + bytes(256 + 16), label=b"")
def test_arbitrary_bytes_are_refused(envelope: bytes, label: bytes) -> None:
    _refused(lambda: hybrid_decrypt(KEY_2048, envelope, label))


# --- blobs and recipients -----------------------------------------------------------------------


@CHEAP_SETTINGS
@given(text=st.one_of(st.text(), st.text(alphabet=BASE64_TEXT)))
@example(text="")
@example(text="====")
@example(text="QQ==\nQQ==")
@example(text="é")
def test_decode_blob_returns_bytes_or_raises_envelope_error(text: str) -> None:
    try:
        decoded = decode_blob(text)
    except EnvelopeError as err:
        assert str(err)
        return
    assert isinstance(decoded, bytes)
    assert isinstance(decoded, bytes)
    assert decode_blob(encode_blob(decoded)) == decoded


#: How Go's ``base64.StdEncoding.DecodeString`` (Bitnami's controller) treats each spelling.
GO_BASE64_CASES = [
    pytest.param("QQ==", b"A", id="canonical: what encode_blob writes"),
    pytest.param(" QQ==\n", b"A", id="outer-whitespace: YAML may leave a trailing newline"),
    pytest.param("QR==", b"A", id="trailing-bits: Go's non-strict StdEncoding ignores them too"),
    pytest.param("QQ", None, id="unpadded: Go's StdEncoding requires padding"),
    pytest.param("QQ===", None, id="extra-pad-char: data after padding"),
    pytest.param("QQ==QQ==", None, id="two-blobs-glued: data after padding"),
    pytest.param("Q-_=", None, id="url-alphabet: not the standard alphabet"),
    pytest.param("AAAA=", None, id="excess-padding: a full quantum then '='"),
    pytest.param("QU\nFB\r\n", b"AAA", id="wrapped-lines: Go skips CR and LF anywhere"),
]


@pytest.mark.parametrize(("text", "expected"), GO_BASE64_CASES)
def test_decode_blob_accepts_what_go_accepts(text: str, expected: bytes | None) -> None:
    if expected is None:
        _refused(lambda: decode_blob(text))
    else:
        assert decode_blob(text) == expected


blobs = st.binary(min_size=1, max_size=600).map(encode_blob)


@CHEAP_SETTINGS
@given(parts=st.lists(blobs, min_size=1, max_size=5))
def test_join_split_recipients_round_trip(parts: list[str]) -> None:
    joined = join_recipients(parts)
    assert split_recipients(joined) == parts
    assert split_recipients(joined.replace(",", " ,\n ")) == parts, "whitespace around , is ignored"


def test_single_recipient_value_is_the_bare_blob() -> None:
    # Bitnami's controller reads a single-recipient value, so joining must not change it.
    blob = encode_blob(hybrid_encrypt(KEY_2048.public_key(), b"v", b"ns/name"))
    assert join_recipients([blob]) == blob
    assert split_recipients(blob) == [blob]


# --- labels -------------------------------------------------------------------------------------

LABEL_CASES = [
    ("strict", Scope.STRICT, "default", "my-secret", b"default/my-secret",
     "strict binds namespace and name"),
    ("namespace-wide", Scope.NAMESPACE_WIDE, "default", "my-secret", b"default",
     "namespace-wide binds the namespace only"),
    ("namespace-wide-no-name", Scope.NAMESPACE_WIDE, "default", None, b"default",
     "the name is not needed when it is not bound"),
    ("cluster-wide", Scope.CLUSTER_WIDE, "default", "my-secret", b"",
     "cluster-wide binds nothing: an empty label"),
    ("cluster-wide-nothing-given", Scope.CLUSTER_WIDE, None, None, b"",
     "cluster-wide needs neither namespace nor name"),
    ("strict-utf8", Scope.STRICT, "ns", "café", "ns/café".encode(),
     "labels are UTF-8, as Go's []byte(string)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "namespace", "name", "label"),
    [case[1:5] for case in LABEL_CASES],
    ids=[f"{case[0]}: {case[5]}" for case in LABEL_CASES],
)
def test_label_for(scope: Scope, namespace: str | None, name: str | None, label: bytes) -> None:
    assert label_for(scope, namespace, name) == label


SCOPE_ERROR_CASES = [
    ("strict-no-namespace", Scope.STRICT, None, "db", "namespace",
     "strict needs the namespace"),
    ("strict-empty-namespace", Scope.STRICT, "", "db", "namespace",
     "an empty namespace is a missing one"),
    ("strict-no-name", Scope.STRICT, "prod", None, "name",
     "strict needs the name"),
    ("strict-empty-name", Scope.STRICT, "prod", "", "name",
     "an empty name is a missing one"),
    ("namespace-wide-no-namespace", Scope.NAMESPACE_WIDE, None, "db", "namespace",
     "namespace-wide needs the namespace"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "namespace", "name", "field"),
    [case[1:5] for case in SCOPE_ERROR_CASES],
    ids=[f"{case[0]}: {case[5]}" for case in SCOPE_ERROR_CASES],
)
def test_label_for_names_the_missing_field(
    scope: Scope, namespace: str | None, name: str | None, field: str
) -> None:
    with pytest.raises(ScopeError) as info:
        label_for(scope, namespace, name)
    # The caller adds where the value came from (metadata.namespace, --name, ...).
    assert f"a {field} is required" in str(info.value)


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=63)


@CHEAP_SETTINGS
@given(namespace=names, name=names)
def test_labels_of_distinct_objects_differ(namespace: str, name: str) -> None:
    strict = label_for(Scope.STRICT, namespace, name)
    assert strict == f"{namespace}/{name}".encode()
    assert label_for(Scope.NAMESPACE_WIDE, namespace, name) == namespace.encode()
    assert strict != label_for(Scope.STRICT, namespace, name + "x"), "another name, another label"
    assert strict != label_for(Scope.STRICT, namespace + "x", name), "another ns, another label"


@pytest.mark.parametrize(
    ("text", "scope"),
    [("strict", Scope.STRICT), ("namespace-wide", Scope.NAMESPACE_WIDE),
     ("cluster-wide", Scope.CLUSTER_WIDE)],
    ids=["strict: the default spelling", "namespace-wide: annotation spelling",
         "cluster-wide: annotation spelling"],
)  # fmt: skip
def test_scope_parse(text: str, scope: Scope) -> None:
    assert Scope.parse(text) is scope


def test_scope_parse_unknown_lists_the_allowed_spellings() -> None:
    with pytest.raises(ScopeError) as info:
        Scope.parse("namespace")
    assert "strict, namespace-wide, cluster-wide" in str(info.value)


# --- the random source --------------------------------------------------------------------------


def _seeded(seed: int) -> Callable[[int], bytes]:
    rng = random.Random(seed)
    return rng.randbytes


@RSA_SETTINGS
@given(plaintext=plaintexts, label=labels, seed=st.integers(0, 2**32))
def test_random_source_decides_the_session_key(plaintext: bytes, label: bytes, seed: int) -> None:
    first = hybrid_encrypt(KEY_2048.public_key(), plaintext, label, random=_seeded(seed))
    second = hybrid_encrypt(KEY_2048.public_key(), plaintext, label, random=_seeded(seed))
    assert first[258:] == second[258:], "same random source, same AES-GCM part"

    session_key = _seeded(seed)(32)
    oaep = padding.OAEP(
        mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None
    )
    assert KEY_2048.decrypt(first[2:258], oaep) == session_key, "R wraps the drawn key"
    assert KEY_2048.decrypt(second[2:258], oaep) == session_key
    expected = AESGCM(session_key).encrypt(bytes(12), plaintext, None)
    assert first[258:] == expected, "G is AES-256-GCM, zero nonce, no AAD, tag appended"
    assert hybrid_decrypt(KEY_2048, first, label) == plaintext


def test_round_trip_with_a_modulus_not_a_multiple_of_8_bits() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2050)
    assert key.key_size % 8 != 0, "precondition: R is ceil(2050 / 8) = 257 bytes"
    envelope = hybrid_encrypt(key.public_key(), b"secret", b"ns/name")
    assert hybrid_decrypt(key, envelope, b"ns/name") == b"secret"
