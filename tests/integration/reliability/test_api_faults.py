"""Injected 409, 500 and 410 from the API: the controller converges with nothing lost.

The emulator's fault rules answer the next N matching requests with an error (a Kubernetes
``Status`` body with the real server's reason): Secret create and update, the SealedSecret status
patch (kopf's write of the Ready condition), and the watch. Each test asserts that the faults
were actually hit (no rule left pending), then that everything converged: every SealedSecret
Ready for its generation, every Secret with exactly its bytes and owner, no Secret deleted.

410 comes two ways, as from a real server: an HTTP 410 answer to a watch request, and a watch
resumed from a resourceVersion older than the server's history window (a 200 with one ERROR
event, ``Expired``), made here by cutting the open streams and holding the reconnect while more
objects are written than the (small) window keeps.
"""

from __future__ import annotations

from functools import partial

import pytest

from sandbox.controller import Controller, metric_sum
from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.reliability.conftest import (
    Cluster,
    DeletionWatch,
    StartController,
    replace_spec,
    sealed_batch,
    secret_uids,
    wait_converged,
    wait_for,
)

pytestmark = pytest.mark.integration

NS = "faults"
# The resync loop is the backstop for a reconcile kopf dropped (its status patch failed):
# every 5 s here, 10 min by default.
RESYNC = ("--resync-interval", "5s")


def _pending(kubeapi: RunningKubeApi) -> list[str]:
    return [
        f"{f.verb} {f.resource} {f.status} ({f.hits}/{f.times} hit)"
        for f in kubeapi.faults.pending()
    ]


def _update(
    cluster: Cluster,
    cert: bytes,
    names: list[str],
    expected: dict[str, dict[str, bytes]],
    plaintexts: list[bytes],
) -> None:
    """New values for ``names``: each SealedSecret's spec replaced (its generation bumps)."""
    changed, new_values = sealed_batch(cert, NS, names, plaintexts)
    for doc in changed:
        replace_spec(cluster, NS, doc["metadata"]["name"], doc["spec"])
    expected.update(new_values)


def test_409_and_500_on_secret_writes_and_status(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    cert = start_controller(*RESYNC).get("/v1/cert.pem")
    cluster.namespace(NS)
    watch = DeletionWatch(cluster, NS)
    api = cluster.kubeapi
    for status, times in ((500, 3), (409, 2)):  # 409 on create: AlreadyExists
        api.fault("create", "secrets", namespace=NS, status=status, times=times)
    for status, times in ((500, 3), (409, 2)):
        api.fault("patch", "sealedsecrets/status", namespace=NS, status=status, times=times)
    docs, expected = sealed_batch(cert, NS, [f"c-{i}" for i in range(10)], plaintexts)
    for doc in docs:
        cluster.apply_sealed(doc)
    wait_converged(cluster, NS, expected, timeout=60)
    assert _pending(api) == [], "every injected fault must have been hit"
    uids = secret_uids(cluster, NS)

    # Updates: new values for half of them, while updates (PUT) fail with 500 and 409 (Conflict,
    # a stale resourceVersion) and the status patches fail again.
    for status, times in ((500, 2), (409, 2)):
        api.fault("update", "secrets", namespace=NS, status=status, times=times)
        api.fault("patch", "sealedsecrets/status", namespace=NS, status=status, times=times)
    _update(cluster, cert, [f"c-{i}" for i in range(5)], expected, plaintexts)
    wait_converged(cluster, NS, expected, timeout=60)
    assert _pending(api) == [], "every injected fault must have been hit"
    assert secret_uids(cluster, NS) == uids, "Secrets must be updated in place"
    assert watch.close() == [], "a Secret was deleted"


@pytest.mark.parametrize("kubeapi", [{"window": 20}], indirect=True)
def test_410_gone_and_cut_watch_streams(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    controller = start_controller(*RESYNC)
    cert = controller.get("/v1/cert.pem")
    cluster.namespace(NS)
    watch = DeletionWatch(cluster, NS)
    api = cluster.kubeapi
    first, expected = sealed_batch(cert, NS, [f"w-{i}" for i in range(5)], plaintexts)
    for doc in first:
        cluster.apply_sealed(doc)
    wait_converged(cluster, NS, expected, timeout=30)

    # The controller's reconnect is held 3 s, during which 30 objects are written: it resumes
    # from a resourceVersion the 20-event window no longer holds and is told 410 (ERROR event).
    api.fault("watch", "sealedsecrets", namespace="", delay=3.0, times=1)
    wait_for(lambda: api.cut_watches("sealedsecrets"), timeout=10, what="a watch to cut")
    more, more_expected = sealed_batch(cert, NS, [f"x-{i:02d}" for i in range(30)], plaintexts)
    for doc in more:
        cluster.apply_sealed(doc)
    expected.update(more_expected)
    wait_converged(cluster, NS, expected, timeout=60)
    assert _pending(api) == []

    # HTTP 500 on the next watch requests (kopf retries them), streams cut again, and changes
    # meanwhile. namespace "": the controller's cluster-wide watches, not this test's own.
    api.fault("watch", "sealedsecrets", namespace="", status=500, times=2)
    api.fault("watch", "secrets", namespace="", status=500, times=2)
    wait_for(lambda: api.cut_watches(), timeout=10, what="watches to cut")
    _update(cluster, cert, [f"w-{i}" for i in range(5)], expected, plaintexts)
    wait_converged(cluster, NS, expected, timeout=60)
    assert _pending(api) == []
    assert controller.process.poll() is None, "the controller must ride this out in-process"
    assert watch.close() == [], "a Secret was deleted"


def test_http_410_on_a_watch_request_resumes_in_process(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    """kopf ends its operator on a 4xx answer to a watch request; the controller starts kopf
    again in the same process (no restart), which lists afresh and picks up what changed while
    its watch was down, with nothing lost and every unchanged object costing no private-key
    operation. Variants: 410 on a cut SealedSecret watch, then 410 and 500 on the Secret
    watch (the drift watch) and an ERROR event kopf does not retry."""
    controller = start_controller(*RESYNC)
    pid = controller.process.pid
    cert = controller.get("/v1/cert.pem")
    cluster.namespace(NS)
    watch = DeletionWatch(cluster, NS)
    api = cluster.kubeapi
    docs, expected = sealed_batch(cert, NS, [f"g-{i}" for i in range(5)], plaintexts)
    for doc in docs:
        cluster.apply_sealed(doc)
    wait_converged(cluster, NS, expected, timeout=30)
    uids = secret_uids(cluster, NS)
    ops = _key_ops(controller)

    for round_, (plural, status) in enumerate(
        [("sealedsecrets", 410), ("secrets", 410), ("sealedsecrets", 500)]
    ):
        api.fault("watch", plural, namespace="", status=status)
        wait_for(partial(api.cut_watches, plural), timeout=10, what=f"a {plural} watch to cut")
        wait_for(lambda: _pending(api) == [], timeout=30, what=f"the {status} to be answered")
        names = [f"g-{i}" for i in range(round_, round_ + 2)]
        _update(cluster, cert, names, expected, plaintexts)
        wait_converged(cluster, NS, expected, timeout=60)
        assert controller.process.poll() is None, "the controller must resume in-process"
        assert controller.process.pid == pid

    assert "starting its watches again in-process" in controller.logs()
    assert secret_uids(cluster, NS) == uids
    assert watch.close() == [], "a Secret was deleted"
    # 3 rounds x 2 changed objects x 2 values: 12 private-key operations. Had the objects kopf
    # re-listed after each restart been unsealed again, 5 x 2 more per restart.
    assert 12 <= _key_ops(controller) - ops < 12 + 10


def _key_ops(controller: Controller) -> float:
    text = controller.get("/metrics").decode()
    return metric_sum(text, "sealops_private_key_operations_total")
