"""A reconcile over a Secret made from this very source makes no private-key operation.

The Secret carries ``sealops.dev/source-hash`` (controller.sourcehash): the keyed fingerprint of
the SealedSecret that made it and the keys that opened it. When it still matches, the Secret's
data still matches its data hash and those keys are still loaded, the reconcile (a restart's
resume, a resync) takes the Secret's data as it is: 0 private-key operations, 0 writes, Ready.
Every other case falls back to a full reconcile, each one below.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from controller.datahash import DataHasher
from controller.sealedsecrets import SealedSecretReconciler
from controller.secretwriter import SecretWriter
from sealer.api import ANN_DATA_HASH, ANN_SOURCE_HASH, SEALED_SECRETS, SECRETS
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.controller.test_sealedsecrets import PLAIN, install_keys, sealed_body
from tests.unit.fakekube import FakeKube


def _sample(harness: Harness, name: str) -> float:
    return harness.metrics.registry.get_sample_value(name) or 0.0


def ops(harness: Harness) -> float:
    return _sample(harness, "sealops_private_key_operations_total")


def skipped(harness: Harness) -> float:
    return _sample(harness, "sealops_unseal_skipped_total")


def writes(kube: FakeKube) -> list[Any]:
    return [c for c in kube.calls if c[0] in ("create", "update", "patch")]


def synced(harness: Harness, kube: FakeKube, **template: Any) -> dict[str, Any]:
    install_keys(harness, small_key(1))
    harness.sealed.reconcile(sealed_body(kube, small_key(1), **template))
    current = kube.find(SEALED_SECRETS, "prod", "db")
    assert current is not None and current["status"]["sealedWith"] == [small_key(1).fingerprint]
    kube.calls.clear()
    return current


def another_process(harness: Harness, kube: FakeKube, *, hash_key: bytes) -> SealedSecretReconciler:
    """A reconciler as a new controller process builds it, with this data-hash key."""
    writer = SecretWriter(
        kube=kube, hasher=DataHasher(hash_key), controller_namespace="sealops-system"
    )
    return SealedSecretReconciler(
        keyring=harness.keyring, keystore=harness.keystore, reporter=harness.reporter,
        metrics=harness.metrics, writer=writer,
    )  # fmt: skip


def data(kube: FakeKube) -> dict[str, bytes]:
    secret = kube.find(SECRETS, "prod", "db") or {}
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def test_an_unchanged_source_costs_no_private_key_operation_and_no_write(
    harness: Harness, kube: FakeKube
) -> None:
    current = synced(harness, kube, data={"dsn": "db://{{ user }}@h"})
    before = ops(harness)
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None and secret["metadata"]["annotations"][ANN_SOURCE_HASH]
    verdict = harness.sealed.reconcile(current).verdict
    assert verdict.ready and verdict.reason == "Unsealed"
    assert ops(harness) == before and skipped(harness) == 1
    assert writes(kube) == [], "no Secret write, no status patch, no Event"
    assert data(kube) == {**PLAIN, "dsn": b"db://admin@h"}


def test_a_restarted_controller_with_the_same_hash_key_trusts_the_secret(
    harness: Harness, kube: FakeKube
) -> None:
    current = synced(harness, kube)
    restarted = another_process(harness, kube, hash_key=b"k" * 32)  # the same key Secret
    before = ops(harness)
    assert restarted.reconcile(current).verdict.ready
    assert ops(harness) == before and writes(kube) == []


def _edit_secret_data(kube: FakeKube) -> None:
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    secret["data"]["password"] = base64.b64encode(b"edited").decode()
    kube.put(SECRETS, secret)


def _forge_source_hash(kube: FakeKube) -> None:
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    secret["metadata"]["annotations"][ANN_SOURCE_HASH] = secret["metadata"]["annotations"][
        ANN_DATA_HASH
    ]
    kube.put(SECRETS, secret)


def _drop_source_hash(kube: FakeKube) -> None:
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    del secret["metadata"]["annotations"][ANN_SOURCE_HASH]
    kube.put(SECRETS, secret)


Edit = Callable[[FakeKube, dict[str, Any]], dict[str, Any]]


def _status(fingerprints: Any) -> Edit:
    def edit(_kube: FakeKube, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "status": {**body["status"], "sealedWith": fingerprints}}

    return edit


def _secret(change: Callable[[FakeKube], None]) -> Edit:
    def edit(kube: FakeKube, body: dict[str, Any]) -> dict[str, Any]:
        change(kube)
        return body

    return edit


def _meta(**changes: Any) -> Edit:
    def edit(_kube: FakeKube, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "metadata": {**body["metadata"], **changes}}

    return edit


def _spec_template(_kube: FakeKube, body: dict[str, Any]) -> dict[str, Any]:
    spec = {**body["spec"], "template": {**body["spec"]["template"], "type": "Opaque2"}}
    return {**body, "spec": spec}


FALLBACKS: dict[str, Edit] = {
    "Secret data edited": _secret(_edit_secret_data),
    "source hash forged from the data hash": _secret(_forge_source_hash),
    "source hash removed (written by an earlier version)": _secret(_drop_source_hash),
    "status names another key": _status([small_key(2).fingerprint]),
    "status names no key": _status([]),
    "status is not a list": _status("SHA256:x"),
    "object re-created (new uid)": _meta(uid="another-uid"),
    "annotation changed (scope)": _meta(annotations={"sealops.dev/scope": "namespace-wide"}),
    "template changed": _spec_template,
}


@pytest.mark.parametrize("edit", FALLBACKS.values(), ids=FALLBACKS.keys())
def test_anything_else_is_a_full_reconcile(harness: Harness, kube: FakeKube, edit: Edit) -> None:
    current = edit(kube, synced(harness, kube))
    before = ops(harness)
    harness.sealed.reconcile(current)
    assert ops(harness) > before, "the values were opened again"
    assert skipped(harness) == 0


def test_a_lost_hash_key_is_a_full_reconcile(harness: Harness, kube: FakeKube) -> None:
    current = synced(harness, kube)
    other = another_process(harness, kube, hash_key=b"n" * 32)  # its key Secret was lost
    before = ops(harness)
    assert other.reconcile(current).verdict.ready
    assert ops(harness) > before and data(kube) == PLAIN


def test_a_key_no_longer_loaded_is_a_full_reconcile(harness: Harness, kube: FakeKube) -> None:
    """Its key Secret is still there, so the full reconcile reloads it and opens the values."""
    current = synced(harness, kube)
    harness.keyring.replace([small_key(2)], sealing=[small_key(2).fingerprint])
    before = ops(harness)
    assert harness.sealed.reconcile(current).verdict.ready
    assert ops(harness) > before and skipped(harness) == 0
    assert harness.keyring.get(small_key(1).fingerprint) is not None, "reloaded"
    assert data(kube) == PLAIN


def test_metadata_drift_is_repaired_without_opening_anything(
    harness: Harness, kube: FakeKube
) -> None:
    current = synced(harness, kube, metadata={"labels": {"app": "shop"}})
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    del secret["metadata"]["labels"]["app"]
    kube.put(SECRETS, secret)
    before = ops(harness)
    assert harness.sealed.reconcile(current).verdict.ready
    assert ops(harness) == before and skipped(harness) == 1
    repaired = kube.find(SECRETS, "prod", "db")
    assert repaired is not None and repaired["metadata"]["labels"]["app"] == "shop"
    assert data(kube) == PLAIN
