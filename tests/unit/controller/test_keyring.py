"""Key management: load, generate on first start, renew, cutoff, racing replicas, Bitnami keys."""

from __future__ import annotations

import base64
import datetime as dt

from controller.keyring import KeyPolicy, Keyring, KeyStore, key_secret
from sealer.api import BITNAMI_KEY_LABEL, LABEL_SEALING_KEY, SECRETS
from tests.unit.controller.conftest import DATA, ORIGIN_KEY, Clock, small_key, upstream_key
from tests.unit.fakekube import FakeKube


def store(kube: FakeKube, clock: Clock, **policy: object) -> KeyStore:
    return KeyStore(
        kube=kube,
        keyring=Keyring(),
        clock=clock,
        policy=KeyPolicy(namespace="sealops-system", key_size=2048, **policy),  # type: ignore[arg-type]
        origin_key=ORIGIN_KEY,
    )


def test_first_start_generates_and_stores_a_key(kube: FakeKube, clock: Clock) -> None:
    keys = store(kube, clock)
    keys.load()
    assert len(keys.keyring) == 0
    created = keys.ensure_current()
    assert created is not None
    (secret,) = kube.list(SECRETS, "sealops-system", label_selector=LABEL_SEALING_KEY)
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["labels"][LABEL_SEALING_KEY] == "active"
    assert b"BEGIN RSA PRIVATE KEY" in base64.b64decode(secret["data"]["tls.key"])
    assert keys.keyring.newest() == created
    assert keys.ensure_current() is None, "nothing due right after"


def test_renewal_adds_a_key_and_keeps_the_old(kube: FakeKube, clock: Clock) -> None:
    keys = store(kube, clock, renew_period=30 * 86400.0)
    keys.load()
    first = keys.ensure_current()
    clock.advance(days=29)
    assert keys.ensure_current() is None
    clock.advance(days=2)
    second = keys.ensure_current()
    assert second is not None and first is not None
    assert second.fingerprint != first.fingerprint
    assert keys.keyring.newest() == second
    assert {k.fingerprint for k in keys.keyring.all()} == {first.fingerprint, second.fingerprint}


def test_renewal_off(kube: FakeKube, clock: Clock) -> None:
    keys = store(kube, clock, renew_period=0.0)
    keys.load()
    keys.ensure_current()
    clock.advance(days=3650)
    assert keys.ensure_current() is None


def test_cutoff_forces_a_new_key_once(kube: FakeKube, clock: Clock) -> None:
    keys = store(kube, clock, renew_period=0.0, cutoff=clock.now + dt.timedelta(days=1))
    keys.load()
    keys.ensure_current()
    assert keys.ensure_current() is None, "before the cutoff"
    clock.advance(days=2)
    assert keys.ensure_current() is not None, "newest key predates the cutoff"
    assert keys.ensure_current() is None, "the new key is after the cutoff"


def test_racing_replicas_make_one_key(kube: FakeKube, clock: Clock) -> None:
    a, b = store(kube, clock), store(kube, clock)
    a.load()
    b.load()
    key_a = a.ensure_current()
    key_b = b.ensure_current()  # same slot name: 409, then it loads a's key
    assert key_a is not None and key_b is not None
    assert key_a.fingerprint == key_b.fingerprint
    assert len(kube.list(SECRETS, "sealops-system", label_selector=LABEL_SEALING_KEY)) == 1


def test_restored_keys_load_and_newest_by_certificate(kube: FakeKube, clock: Clock) -> None:
    for index in (3, 1, 2):
        kube.put(
            SECRETS,
            key_secret(small_key(index), name=f"restored-{index}", namespace="sealops-system"),
        )
    keys = store(kube, clock)
    keys.load()
    assert [k.fingerprint for k in keys.keyring.all()] == [
        small_key(i).fingerprint for i in (3, 2, 1)
    ]
    newest = keys.keyring.newest()
    assert newest is not None and newest.fingerprint == small_key(3).fingerprint


def test_broken_key_secret_is_skipped_and_reported(kube: FakeKube, clock: Clock) -> None:
    kube.put(SECRETS, key_secret(small_key(1), name="good", namespace="sealops-system"))
    broken = key_secret(small_key(2), name="broken", namespace="sealops-system")
    broken["data"] = {"tls.key": base64.b64encode(b"not a key").decode()}
    kube.put(SECRETS, broken)
    keys = store(kube, clock)
    keys.load()
    assert len(keys.keyring) == 1
    assert len(keys.load_errors) == 1 and "broken" in keys.load_errors[0]


def test_bitnami_keys_unseal_but_never_seal(kube: FakeKube, clock: Clock) -> None:
    kube.put(
        SECRETS,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"name": "sealed-secrets-keyabc", "namespace": "kube-system",
                         "labels": {BITNAMI_KEY_LABEL: "active"}},
            "data": {"tls.key": base64.b64encode((DATA / "key-2048.pem").read_bytes()).decode(),
                     "tls.crt": base64.b64encode((DATA / "cert-2048.pem").read_bytes()).decode()},
        },
    )  # fmt: skip
    without = store(kube, clock)
    without.load()
    assert len(without.keyring) == 0
    keys = store(kube, clock, bitnami_namespace="kube-system")
    keys.load()
    assert keys.keyring.get(upstream_key(2048).fingerprint) is not None
    assert keys.keyring.newest() is None, "a Bitnami key never becomes the sealing key"


def test_a_removed_key_is_reported(kube: FakeKube, clock: Clock) -> None:
    removed: list[str] = []
    keys = store(kube, clock)
    keys.on_removed = lambda pair: removed.append(pair.fingerprint)
    kube.put(SECRETS, key_secret(small_key(1), name="k1", namespace="sealops-system"))
    kube.put(SECRETS, key_secret(small_key(2), name="k2", namespace="sealops-system"))
    keys.load()
    assert removed == []
    del kube.objects[("", "secrets", "sealops-system", "k2")]
    keys.load()
    assert removed == [small_key(2).fingerprint]
    assert keys.keyring.get(small_key(1).fingerprint) is not None


def test_a_new_key_never_takes_the_name_of_a_removed_one(kube: FakeKube, clock: Clock) -> None:
    """Found by tests/integration/reliability/test_key_loss.py: the key made after a loss took
    the lost key's slot name, so restoring the lost key's backup collided with it."""
    keys = store(kube, clock)
    keys.load()
    lost = keys.ensure_current()
    assert lost is not None
    (secret,) = kube.list(SECRETS, "sealops-system", label_selector=LABEL_SEALING_KEY)
    backup = dict(secret)
    del kube.objects[("", "secrets", "sealops-system", secret["metadata"]["name"])]
    keys.load()
    replacement = keys.ensure_current()  # same renewal slot as the lost key
    assert replacement is not None and replacement.fingerprint != lost.fingerprint
    names = [s["metadata"]["name"] for s in kube.list(SECRETS, "sealops-system")]
    assert secret["metadata"]["name"] not in names
    kube.put(SECRETS, backup)  # the restore: no collision, both keys load
    keys.load()
    assert {k.fingerprint for k in keys.keyring.all()} == {
        lost.fingerprint,
        replacement.fingerprint,
    }
