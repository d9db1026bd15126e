"""Reconciling SealedSecrets with a fake API: verdicts, status, Events, metrics, key hints."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from controller.keyring import key_secret
from sealer.api import EVENTS, SEALED_SECRETS, SECRETS
from sealer.keys import KeyPair
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.fakekube import FakeKube

PLAIN = {"password": b"hunter2", "user": b"admin"}


def sealed_body(
    kube: FakeKube, key: KeyPair, *, name: str = "db", namespace: str = "prod", **template: Any
) -> dict[str, Any]:
    doc = seal_secret(
        PlainSecret(name=name, namespace=namespace, data=dict(PLAIN)), [key.recipient]
    )
    doc["spec"]["template"].update(template)
    return kube.put(SEALED_SECRETS, doc)


def install_keys(harness: Harness, *keys: KeyPair) -> None:
    for i, pair in enumerate(keys):
        harness.kube.put(SECRETS, key_secret(pair, name=f"key-{i}", namespace="sealops-system"))
    harness.keystore.load()


def events(kube: FakeKube) -> list[dict[str, Any]]:
    return sorted(kube.list(EVENTS), key=lambda e: int(e["metadata"]["resourceVersion"]))


def test_unseals_into_an_owned_secret(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    body = sealed_body(kube, small_key(1))
    verdict = harness.sealed.reconcile(body).verdict
    assert verdict.ready and verdict.reason == "Unsealed"
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    assert {k: base64.b64decode(v) for k, v in secret["data"].items()} == PLAIN
    assert secret["metadata"]["ownerReferences"][0]["uid"] == body["metadata"]["uid"]
    status = kube.find(SEALED_SECRETS, "prod", "db")["status"]  # type: ignore[index]
    assert status["observedGeneration"] == 1
    assert status["sealedWith"] == [small_key(1).fingerprint]
    assert status["secretName"] == "db"
    ready, reconciling, stalled = status["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Unsealed")
    assert (reconciling["type"], reconciling["status"]) == ("Reconciling", "False")
    assert (stalled["type"], stalled["status"]) == ("Stalled", "False")
    assert {c["observedGeneration"] for c in status["conditions"]} == {1}
    assert [e["reason"] for e in events(kube)] == ["Unsealed"]


def test_steady_state_writes_nothing_and_posts_no_event(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    body = sealed_body(kube, small_key(1))
    harness.sealed.reconcile(body)
    current = kube.find(SEALED_SECRETS, "prod", "db")
    assert current is not None
    kube.calls.clear()
    harness.sealed.reconcile(current)
    writes = [c for c in kube.calls if c[0] in ("create", "update", "patch")]
    assert writes == [], "nothing changed: no Secret write, no status patch, no Event"


def test_decrypt_failure_keeps_the_secret_and_reports(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    harness.sealed.reconcile(sealed_body(kube, small_key(1)))
    before = kube.find(SECRETS, "prod", "db")
    # Re-sealed with a key this controller does not have.
    verdict = harness.sealed.reconcile(sealed_body(kube, small_key(2))).verdict
    assert not verdict.ready and verdict.reason == "DecryptFailed"
    assert verdict.retry_after is not None
    assert kube.find(SECRETS, "prod", "db") == before
    status = kube.find(SEALED_SECRETS, "prod", "db")["status"]  # type: ignore[index]
    assert status["conditions"][0]["reason"] == "DecryptFailed"
    assert "spec.encryptedData." in status["conditions"][0]["message"]
    assert events(kube)[-1]["type"] == "Warning"


def test_scope_violation_is_decrypt_failed(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    body = sealed_body(kube, small_key(1))
    moved = dict(body, metadata={**body["metadata"], "name": "stolen", "uid": "u2"})
    moved = kube.put(SEALED_SECRETS, moved)
    verdict = harness.sealed.reconcile(moved).verdict
    assert verdict.reason == "DecryptFailed"
    assert kube.find(SECRETS, "prod", "stolen") is None


def test_secret_not_owned(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    kube.put(SECRETS, {"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "db", "namespace": "prod"}, "data": {}})  # fmt: skip
    verdict = harness.sealed.reconcile(sealed_body(kube, small_key(1))).verdict
    assert (verdict.ready, verdict.reason) == (False, "SecretNotOwned")
    assert kube.find(SECRETS, "prod", "db")["data"] == {}  # type: ignore[index]


def test_template_is_rendered(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    body = sealed_body(
        kube,
        small_key(1),
        data={"dsn": "pg://{{ user }}:{{ password }}@db"},
        metadata={"labels": {"a": "b"}},
    )
    assert harness.sealed.reconcile(body).verdict.ready
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    assert base64.b64decode(secret["data"]["dsn"]) == b"pg://admin:hunter2@db"
    assert secret["metadata"]["labels"]["a"] == "b"


def test_bad_template_is_invalid_spec_without_values(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    verdict = harness.sealed.reconcile(
        sealed_body(kube, small_key(1), data={"x": "{{ password | nope }}"})
    ).verdict
    assert verdict.reason == "InvalidSpec"
    assert "hunter2" not in verdict.message


@pytest.mark.parametrize("hint", [True, False], ids=["with-hint", "without-hint"])
def test_twelve_keys_oldest_sealed(harness: Harness, kube: FakeKube, hint: bool) -> None:
    keys = [small_key(i) for i in range(12)]
    install_keys(harness, *keys)
    for n in range(5):
        body = sealed_body(kube, keys[0], name=f"s{n}")
        if not hint:
            del body["metadata"]["annotations"]["sealops.dev/sealed-with"]
            body = kube.put(SEALED_SECRETS, body)
        assert harness.sealed.reconcile(body).verdict.ready
    ops = harness.metrics.private_key_ops._value.get()
    values = harness.metrics.values_unsealed._value.get()
    assert values == 10
    if hint:
        assert ops == values, "exactly one private-key operation per value"
    else:
        # Keys are tried newest first and keys[0] is the oldest: every key, for every value.
        assert ops == len(keys) * values


def test_invalid_spec(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    body = kube.put(SEALED_SECRETS, {"apiVersion": "sealops.dev/v1alpha1", "kind": "SealedSecret",
                                     "metadata": {"name": "x", "namespace": "prod"},
                                     "spec": {"encryptedData": {"a": "%%%"}}})  # fmt: skip
    verdict = harness.sealed.reconcile(body).verdict
    assert verdict.reason == "DecryptFailed"
    body = kube.put(SEALED_SECRETS, {"apiVersion": "sealops.dev/v1alpha1", "kind": "SealedSecret",
                                     "metadata": {"name": "y", "namespace": "prod"}, "spec": "nope"})  # fmt: skip
    assert harness.sealed.reconcile(body).verdict.reason == "InvalidSpec"


def test_lost_key_restored_from_backup_is_picked_up(harness: Harness, kube: FakeKube) -> None:
    """A key the controller had loaded, deleted, then applied again from its backup, loads
    without a restart (a key it never saw does not: tests/unit/controller/test_tenancy.py)."""
    install_keys(harness, small_key(1), small_key(2))
    backup = kube.objects.pop(("", "secrets", "sealops-system", "key-1"))
    harness.keystore.load()
    body = sealed_body(kube, small_key(2))
    assert harness.sealed.reconcile(body).verdict.reason == "DecryptFailed"
    kube.put(SECRETS, backup)
    harness.sealed._last_reload = 0.0  # the reload is rate-limited; pretend time has passed
    assert harness.sealed.reconcile(body).verdict.ready


def test_status_sink_gets_the_status_instead_of_a_patch(harness: Harness, kube: FakeKube) -> None:
    """kopf's handler passes a sink: the status rides in kopf's own PATCH, not a second one."""
    install_keys(harness, small_key(1))
    body = sealed_body(kube, small_key(1))
    kube.calls.clear()
    given: list[dict[str, Any]] = []
    harness.sealed.reconcile(body, status_sink=given.append)
    (status,) = given
    ready = status["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Unsealed")
    assert status["secretName"] == "db"
    assert ("patch", "sealops.dev", "sealedsecrets/status") not in kube.calls
    assert "status" not in (kube.find(SEALED_SECRETS, "prod", "db") or {})
    # Steady state: an unchanged status is not given again.
    harness.sealed.reconcile({**body, "status": status}, status_sink=given.append)
    assert len(given) == 1
