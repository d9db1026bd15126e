"""The resync loop retries what kopf dropped: a SealedSecret not Ready for its generation.

kopf writes a handler's outcome (the Ready condition, its retry bookkeeping) in one status patch;
when the API fails that patch (409, 500), kopf throttles and then ignores the object until its
next watch event, which may never come (found by tests/integration/reliability). The resync loop
is the backstop: anything not Ready=True for its current generation, unchanged since the previous
resync, is reconciled again, read afresh. Not sooner: an object that is merely in kopf's backlog
(measured in the soak: 2,400 objects during the first sync of 6,000) is kopf's to do, and a stale
body of a since-deleted object must not get its Secret back (the soak found 23 such orphans).
"""

from __future__ import annotations

import base64
from typing import Any, cast

import pytest

from controller import operator
from controller.keyring import key_secret
from controller.scheduler import Scheduler
from sealer.api import SEALED_SECRETS, SECRETS
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from sealer.vault import RequestCounter
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.fakekube import FakeKube


def _app(harness: Harness, kube: FakeKube) -> Any:
    return cast(Any, operator.App)(
        settings=operator.Settings(), kube=kube, metrics=harness.metrics, keyring=harness.keyring,
        keystore=harness.keystore, sealed=harness.sealed, writer=harness.writer, http=None,
        vault=None, scheduler=Scheduler(lambda key: None), vault_requests=RequestCounter(),
    )  # fmt: skip


def _sealed(kube: FakeKube, value: bytes) -> dict[str, Any]:
    plain = PlainSecret(name="db", namespace="prod", data={"k": value})
    return seal_secret(plain, [small_key(1).recipient])


def _value(kube: FakeKube) -> bytes | None:
    secret = kube.find(SECRETS, "prod", "db")
    return None if secret is None else base64.b64decode(secret["data"]["k"])


@pytest.fixture
def app(harness: Harness, kube: FakeKube) -> Any:
    kube.put(SECRETS, key_secret(small_key(1), name="k1", namespace="sealops-system"))
    harness.keystore.load()
    return _app(harness, kube)


def test_a_sealed_secret_without_status_is_reconciled(app: Any, kube: FakeKube) -> None:
    kube.put(SEALED_SECRETS, _sealed(kube, b"never-reconciled"))  # its status patch was lost
    operator._resync_once(app)
    assert _value(kube) is None, "one pass: it may just be in kopf's backlog"
    operator._resync_once(app)
    assert _value(kube) == b"never-reconciled"
    status = kube.find(SEALED_SECRETS, "prod", "db")["status"]  # type: ignore[index]
    assert status["conditions"][0]["status"] == "True"


def test_a_status_of_an_older_generation_is_reconciled(
    app: Any, harness: Harness, kube: FakeKube
) -> None:
    harness.sealed.reconcile(kube.put(SEALED_SECRETS, _sealed(kube, b"first")))
    body = kube.find(SEALED_SECRETS, "prod", "db")
    assert body is not None
    body["spec"] = _sealed(kube, b"second")["spec"]  # an update whose reconcile was lost
    body["metadata"]["generation"] += 1
    operator._resync_once(app)
    operator._resync_once(app)
    assert _value(kube) == b"second"


def test_a_changed_or_deleted_one_is_left_to_kopf(app: Any, kube: FakeKube) -> None:
    body = kube.put(SEALED_SECRETS, _sealed(kube, b"moving"))
    operator._resync_once(app)
    body["metadata"]["resourceVersion"] = str(int(body["metadata"]["resourceVersion"]) + 100)
    operator._resync_once(app)
    assert _value(kube) is None, "it changed since the last pass: kopf has it"
    del kube.objects[("sealops.dev", "sealedsecrets", "prod", "db")]
    assert app.stuck, "stuck at the last pass"
    operator._resync_once(app)
    assert _value(kube) is None, "deleted: its Secret must not come back"


def test_a_converged_sealed_secret_is_left_alone(
    app: Any, harness: Harness, kube: FakeKube
) -> None:
    harness.sealed.reconcile(kube.put(SEALED_SECRETS, _sealed(kube, b"steady")))
    version = kube.find(SECRETS, "prod", "db")["metadata"]["resourceVersion"]  # type: ignore[index]
    writes = len(kube.calls)
    operator._resync_once(app)
    operator._resync_once(app)
    assert kube.find(SECRETS, "prod", "db")["metadata"]["resourceVersion"] == version  # type: ignore[index]
    assert [c for c in kube.calls[writes:] if c[0] not in ("get", "list")] == []
