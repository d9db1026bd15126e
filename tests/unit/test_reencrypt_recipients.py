"""Re-encryption keeps every other cluster's ciphertext: 1, 2 and 3 clusters, hint or not.

Cluster 1 has key ``A`` (old) and ``N`` (new); clusters 2 and 3 have ``B`` and ``C``. Each case
seals a value for some clusters, re-encrypts with cluster 1's old key for the new one, and checks
the blobs of the other clusters are the same bytes, every cluster still opens the value, the old
key no longer does, and the ``sealed-with`` hint is exact (or absent when it cannot be).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sealer.api import ANN_SEALED_WITH
from sealer.errors import DecryptError, EnvelopeError, SealopsError
from sealer.keys import KeyPair, load_private_keys
from sealer.manifests import PlainSecret, parse_sealed_secret
from sealer.sealing import merge_into, reencrypt, seal_secret, unseal

DATA = Path(__file__).parents[1] / "data"
SECRET = PlainSecret(name="db", namespace="prod", data={"password": b"hunter2-value"})


@cache
def key(name: str) -> KeyPair:
    if name == "A":
        return load_private_keys((DATA / "key-2048.pem").read_bytes())[0]
    return KeyPair(private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048))


def fp(name: str) -> str:
    return key(name).fingerprint


def sealed_for(names: str, *, hint: bool = True, wrong_hint: str = "") -> dict[str, Any]:
    doc = seal_secret(SECRET, [key(n).recipient for n in names])
    annotations = doc["metadata"]["annotations"]
    if wrong_hint:
        annotations[ANN_SEALED_WITH] = ",".join(fp(n) for n in wrong_hint)
    elif not hint:
        del annotations[ANN_SEALED_WITH]
    return doc


def blobs(doc: dict[str, Any], field: str = "password") -> list[str]:
    return [b.strip() for b in str(doc["spec"]["encryptedData"][field]).split(",")]


# (id, sealed for, hint?, wrong hint, old keys, new recipients, expected recipients after,
#  hint expected, reason)
CASES = [
    ("1-cluster-hint", "A", True, "", "A", "N", "N", True, "the one blob is ours: replaced"),
    ("1-cluster-no-hint", "A", False, "", "A", "N", "N", True, "every blob opened: hint known"),
    ("2-ours-first", "AB", True, "", "A", "N", "NB", True, "B kept in its place, hint updated"),
    ("2-ours-second", "BA", True, "", "A", "N", "BN", True, "the new blob takes A's place"),
    ("2-no-hint", "AB", False, "", "A", "N", "NB", False, "B kept; its key is unknown: no hint"),
    ("3-ours-middle", "BAC", True, "", "A", "N", "BNC", True, "both others kept"),
    ("3-no-hint", "CBA", False, "", "A", "N", "CBN", False, "tried every blob; two kept"),
    ("2-wrong-hint", "AB", True, "BA", "A", "N", "NB", False, "hint lied: found A, drop hint"),
    ("online-2-keys", "AB", True, "", "AN", "N", "NB", True, "controller holds old and new key"),
    ("new-is-kept", "AB", True, "", "A", "NB", "NB", True, "B given again: not added twice"),
    ("2-new-certs", "AB", True, "", "A", "NC", "NCB", True, "two new certs at A's place"),
]


@pytest.mark.parametrize(
    ("before", "hint", "wrong", "old", "new", "after", "hinted", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_other_clusters_ciphertexts_survive(
    before: str, hint: bool, wrong: str, old: str, new: str, after: str, hinted: bool, reason: str
) -> None:
    doc = sealed_for(before, hint=hint, wrong_hint=wrong)
    out = reencrypt(
        parse_sealed_secret(doc), [key(n) for n in old], [key(n).recipient for n in new]
    )
    got = blobs(out)
    assert len(got) == len(after), reason
    original = dict(zip(before, blobs(doc), strict=True))
    for name, blob in zip(after, got, strict=True):
        if name in before and name not in old:
            assert blob == original[name], f"{reason}: {name}'s blob must stay byte for byte"
        else:
            assert blob not in original.values(), f"{reason}: {name} must be a new blob"
    sealed = parse_sealed_secret(out)
    for name in after:  # every recipient after the rotation opens it, alone
        assert unseal(sealed, [key(name)]).values == SECRET.data, f"{reason}: {name}"
    if "A" not in after:
        with pytest.raises(DecryptError):
            unseal(sealed, [key("A")])
    annotation = out["metadata"].get("annotations", {}).get(ANN_SEALED_WITH)
    if hinted:
        assert annotation == ",".join(fp(n) for n in after), reason
    else:
        assert annotation is None, f"{reason}: an inexact hint must not be written"


def test_a_value_old_cannot_open_is_kept_with_its_hint() -> None:
    # password for clusters 1 and 2; token (added later) for cluster 2 only.
    both = parse_sealed_secret(sealed_for("AB"))
    only_b = PlainSecret(name="db", namespace="prod", data={"token": b"t0ken-value"})
    doc = merge_into(both, only_b, [key("B").recipient])
    out = reencrypt(parse_sealed_secret(doc), [key("A")], [key("N").recipient])
    assert out["spec"]["encryptedData"]["token"] == doc["spec"]["encryptedData"]["token"]
    assert blobs(out)[1] == blobs(doc)[1]
    assert out["metadata"]["annotations"][ANN_SEALED_WITH] == (
        f"password={fp('N')},{fp('B')};token={fp('B')}"
    )
    opened = unseal(parse_sealed_secret(out), [key("B")])
    assert opened.values == {"password": b"hunter2-value", "token": b"t0ken-value"}


# (id, make the SealedSecret, field named, fragment, reason)
REFUSED = [
    (
        "nothing-opens",
        lambda: sealed_for("BC"),
        "spec.encryptedData:",
        "none of its values opens",
        "a wrong OLD key must not give back the input as if re-sealed",
    ),
    (
        "hinted-ours-altered",
        lambda: _altered_blob_for_a(),
        "spec.encryptedData.password:",
        "none of 1 key(s) opens it",
        "the hint says A sealed it, A cannot open it: refused, not kept silently",
    ),
    (
        "over-16-recipients",
        lambda: _sixteen_recipients(),
        "spec.encryptedData.password:",
        "would hold 17 recipients",
        "two new blobs for one replaced would pass the bound: refused, nothing dropped",
    ),
]


def _altered_blob_for_a() -> dict[str, Any]:
    doc = sealed_for("AB")
    a, b = blobs(doc)
    altered = a[:-8] + ("A" if a[-8] != "A" else "B") + a[-7:]
    doc["spec"]["encryptedData"]["password"] = f"{altered},{b}"
    return doc


def _sixteen_recipients() -> dict[str, Any]:
    doc = sealed_for("AB")
    a, b = blobs(doc)
    doc["spec"]["encryptedData"]["password"] = ",".join([a] + [b] * 15)
    doc["metadata"]["annotations"][ANN_SEALED_WITH] = ",".join([fp("A")] + [fp("B")] * 15)
    return doc


@pytest.mark.parametrize(
    ("make", "field", "fragment", "reason"),
    [c[1:] for c in REFUSED],
    ids=[c[0] for c in REFUSED],
)
def test_what_cannot_be_kept_is_refused_naming_the_field(
    make: Any, field: str, fragment: str, reason: str
) -> None:
    sealed = parse_sealed_secret(make())
    new = [key("N").recipient, key("C").recipient]
    with pytest.raises(SealopsError) as caught:
        reencrypt(sealed, [key("A")], new)
    message = str(caught.value)
    assert message.startswith(f"SealedSecret prod/db: {field}"), reason
    assert fragment in message and "\n" not in message, reason
    assert isinstance(caught.value, DecryptError | EnvelopeError), reason
