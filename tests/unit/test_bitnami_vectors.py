"""Every ciphertext made by Bitnami's Go ``HybridEncrypt`` opens (or is refused) exactly."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from sealer.envelope import Scope, decode_blob, hybrid_decrypt, label_for
from sealer.errors import EnvelopeError
from sealer.keys import KeyPair, load_private_keys, load_recipient

DATA = Path(__file__).parents[1] / "data"
CASES: list[dict[str, Any]] = json.loads((DATA / "vectors.json").read_text())


@cache
def _key(name: str) -> KeyPair:
    return load_private_keys((DATA / name).read_bytes())[0]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_vector(case: dict[str, Any]) -> None:
    label = label_for(Scope(case["scope"]), case["namespace"], case["name"])
    assert label == case["label"].encode()
    key = _key(case["key_file"]).private_key
    if case.get("expect_fail"):
        with pytest.raises(EnvelopeError) as info:
            hybrid_decrypt(key, decode_blob(case["ciphertext_b64"]), label)
        assert str(info.value)  # a clear, non-empty message
        return
    plaintext = hybrid_decrypt(key, decode_blob(case["ciphertext_b64"]), label)
    assert plaintext == base64.b64decode(case["plaintext_b64"])


@pytest.mark.parametrize("size", ["2048", "4096"])
def test_fingerprints_match_upstream(size: str) -> None:
    expected = dict(
        line.split() for line in (DATA / "fingerprints.txt").read_text().splitlines() if line
    )[f"key-{size}.pem"]
    assert _key(f"key-{size}.pem").fingerprint == expected
    assert load_recipient((DATA / f"cert-{size}.pem").read_bytes()).fingerprint == expected
    assert load_recipient((DATA / f"pub-{size}.pem").read_bytes()).fingerprint == expected
