"""A reconcile over a Secret made from this very source makes no private-key operation.

The Secret carries ``sealops.dev/source-hash`` (controller.sourcehash): the keyed fingerprint of
the SealedSecret that made it and the keys that opened it. When it still matches, the Secret's
data still matches its data hash and those keys are still loaded, the reconcile (a restart's
resume, a resync) takes the Secret's data as it is: 0 private-key operations, 0 writes, Ready.
Every other case falls back to a full reconcile, each one below.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import pytest

from controller import sourcehash
from controller.datahash import DataHasher
from controller.sealedsecrets import SealedSecretReconciler
from controller.secretwriter import SecretWriter
from sealer.api import ANN_DATA_HASH, ANN_DATA_KEYS, ANN_SOURCE_HASH, SEALED_SECRETS, SECRETS
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.controller.test_resync import _app
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


# ---------------------------------------------------------------------------------------------
# Replays and poisoned annotations: each one is a full reconcile that repairs the Secret


def resealed(kube: FakeKube, data: dict[str, bytes], *, name: str = "db") -> dict[str, Any]:
    """The SealedSecret ``name`` sealed anew with ``data``, its metadata and status kept."""
    doc = seal_secret(PlainSecret(name=name, namespace="prod", data=data), [small_key(1).recipient])
    old = kube.find(SEALED_SECRETS, "prod", name)
    if old is not None:
        doc["metadata"], doc["status"] = old["metadata"], old.get("status")
    return kube.put(SEALED_SECRETS, doc)


def put_back(kube: FakeKube, source: dict[str, Any]) -> None:
    """Write ``source``'s data and data hash over the Secret ``db`` (its source hash kept)."""
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    secret["data"] = dict(source["data"])
    secret["metadata"]["annotations"][ANN_DATA_HASH] = source["metadata"]["annotations"][
        ANN_DATA_HASH
    ]
    kube.put(SECRETS, secret)


def reconciled_twice(harness: Harness, kube: FakeKube) -> dict[str, bytes]:
    for _ in range(2):
        harness.sealed.reconcile(kube.find(SEALED_SECRETS, "prod", "db") or {})
    return data(kube)


def test_data_put_back_from_an_earlier_write_is_repaired(harness: Harness, kube: FakeKube) -> None:
    install_keys(harness, small_key(1))
    harness.sealed.reconcile(resealed(kube, {"password": b"old-revoked"}))
    earlier = copy.deepcopy(kube.find(SECRETS, "prod", "db"))
    harness.sealed.reconcile(resealed(kube, {"password": b"rotated"}))
    assert data(kube) == {"password": b"rotated"}
    assert earlier is not None
    put_back(kube, earlier)  # the old data with its own (valid) data hash
    assert reconciled_twice(harness, kube) == {"password": b"rotated"}


def test_data_copied_from_another_sealed_secrets_secret_is_repaired(
    harness: Harness, kube: FakeKube
) -> None:
    install_keys(harness, small_key(1))
    harness.sealed.reconcile(resealed(kube, {"password": b"real"}))
    harness.sealed.reconcile(resealed(kube, {"password": b"chosen"}, name="mine"))
    mine = kube.find(SECRETS, "prod", "mine")
    assert mine is not None
    put_back(kube, mine)
    assert reconciled_twice(harness, kube) == {"password": b"real"}


def test_a_data_keys_note_does_not_let_an_extra_key_in(harness: Harness, kube: FakeKube) -> None:
    synced(harness, kube)
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    secret["data"]["planted"] = base64.b64encode(b"x").decode()
    secret["metadata"]["annotations"][ANN_DATA_KEYS] = "password"
    kube.put(SECRETS, secret)
    assert reconciled_twice(harness, kube) == PLAIN
    repaired = kube.find(SECRETS, "prod", "db")
    assert repaired is not None and ANN_DATA_KEYS not in repaired["metadata"]["annotations"]


@pytest.mark.parametrize("annotation", [ANN_SOURCE_HASH, ANN_DATA_HASH])
@pytest.mark.parametrize("text", ["\u00e9", "hmac-sha256:\u0000", "\U0001f600" * 40])
def test_any_text_in_a_hash_annotation_is_a_full_reconcile(
    harness: Harness, kube: FakeKube, annotation: str, text: str
) -> None:
    current = synced(harness, kube)
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    secret["metadata"]["annotations"][annotation] = text
    kube.put(SECRETS, secret)
    before = ops(harness)
    assert harness.sealed.reconcile(current).verdict.ready
    assert ops(harness) > before and data(kube) == PLAIN


def test_another_sealops_version_renders_again(
    harness: Harness, kube: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = synced(harness, kube)
    monkeypatch.setattr(sourcehash, "__version__", "0.0.0-other")  # our own constant
    before = ops(harness)
    assert harness.sealed.reconcile(current).verdict.ready
    assert ops(harness) > before and skipped(harness) == 0


# ---------------------------------------------------------------------------------------------
# The resync: it checks the source hash too, and one object cannot end its pass


def test_the_resync_repairs_data_put_back_from_an_earlier_write(
    harness: Harness, kube: FakeKube
) -> None:
    app = _app(harness, kube, FakeVault())
    install_keys(harness, small_key(1))
    harness.sealed.reconcile(resealed(kube, {"password": b"old-revoked"}))
    earlier = copy.deepcopy(kube.find(SECRETS, "prod", "db"))
    harness.sealed.reconcile(resealed(kube, {"password": b"rotated"}))
    assert earlier is not None
    put_back(kube, earlier)  # passes the data hash: only the source hash tells
    app.resync.once()
    assert data(kube) == {"password": b"rotated"}


def test_one_poisoned_object_does_not_end_the_resync_for_the_others(
    harness: Harness, kube: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(harness, kube, FakeVault())
    install_keys(harness, small_key(1))
    for namespace in ("aaa-tenant", "zzz-victim"):
        plain = PlainSecret(name="db", namespace=namespace, data={"p": b"v"})
        harness.sealed.reconcile(
            kube.put(SEALED_SECRETS, seal_secret(plain, [small_key(1).recipient]))
        )
    victim = kube.find(SECRETS, "zzz-victim", "db")
    assert victim is not None
    victim["data"]["p"] = base64.b64encode(b"tampered").decode()
    kube.put(SECRETS, victim)

    def broken(body: dict[str, Any], secret: dict[str, Any]) -> bool | None:
        if body["metadata"]["namespace"] == "aaa-tenant":
            raise RuntimeError("a bug this object triggers")
        return None

    monkeypatch.setattr(app.sealed, "confirms", broken)  # our own code, to plant a bug
    app.resync.once()
    repaired = kube.find(SECRETS, "zzz-victim", "db")
    assert repaired is not None and base64.b64decode(repaired["data"]["p"]) == b"v"
