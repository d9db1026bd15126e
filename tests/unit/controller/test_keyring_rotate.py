"""``KeyStore.rotate``: the one way a key is made, and the failure it keeps.

``rotate`` takes the Secret name as a required keyword: its one caller, ``ensure_current``, passes
the name ``due`` gives, so a made-up fallback name could never be used (mypy --strict proves no
caller omits it). What stays is reachable: the name is taken by a Secret the controller cannot
load, and there is no other key to seal with.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from controller.keyring import KeyPolicy, Keyring, KeyStore, key_secret
from sealer.api import LABEL_SEALING_KEY, SECRETS
from sealer.errors import KeyMaterialError
from tests.unit.controller.conftest import ORIGIN_KEY, Clock, small_key
from tests.unit.fakekube import FakeKube

NAMESPACE = "sealops-system"


def _store(kube: FakeKube) -> KeyStore:
    return KeyStore(
        kube=kube,
        keyring=Keyring(),
        clock=Clock(),
        policy=KeyPolicy(namespace=NAMESPACE, key_size=2048),
        origin_key=ORIGIN_KEY,
    )


def _opaque(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": NAMESPACE}, "data": {"x": "eA=="}}  # fmt: skip


def _foreign_key(name: str) -> dict[str, object]:
    return key_secret(small_key(7), name=name, namespace=NAMESPACE)  # no key-origin mark


# Secrets already holding the name the renewal slot gives, each with why the key is not loaded.
TAKEN: list[tuple[str, Callable[[str], dict[str, object]], str]] = [
    ("opaque-secret", _opaque, "not a key Secret at all (no label, wrong type)"),
    ("unmarked-key", _foreign_key, "a key Secret that appeared while running, not made by us"),
]


@pytest.mark.parametrize(("planted", "reason"), [t[1:] for t in TAKEN], ids=[t[0] for t in TAKEN])
def test_a_taken_name_and_no_other_key_is_a_clear_error(
    planted: Callable[[str], dict[str, object]], reason: str
) -> None:
    kube = FakeKube()
    keys = _store(kube)
    keys.load()  # started: nothing there yet
    name = keys.due()
    assert name is not None, "no key: one is due"
    kube.put(SECRETS, planted(name))
    before = kube.find(SECRETS, NAMESPACE, name)
    with pytest.raises(KeyMaterialError, match=f"Secret {NAMESPACE}/{name}") as info:
        keys.ensure_current()
    assert "could not be created" in str(info.value), reason
    assert kube.find(SECRETS, NAMESPACE, name) == before, "the Secret there is left as it was"
    assert keys.keyring.newest() is None


def test_the_name_is_the_one_due_gives() -> None:
    kube = FakeKube()
    keys = _store(kube)
    keys.load()
    name = keys.due()
    made = keys.ensure_current()
    assert made is not None and name is not None
    secret = kube.find(SECRETS, NAMESPACE, name)
    assert secret is not None and secret["metadata"]["labels"] == {LABEL_SEALING_KEY: "active"}
    assert secret["metadata"]["annotations"]["sealops.dev/fingerprint"] == made.fingerprint
