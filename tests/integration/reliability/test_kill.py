"""The controller SIGKILLed in the middle of a batch, then restarted: nothing lost, nothing doubled.

100 SealedSecrets are applied at once; the emulator slows each Secret create a little (a delay
fault), so the kill lands while the batch is half done: some Secrets written, some SealedSecrets
with a Secret but no status yet (killed between the two writes), the rest untouched. A new
process (the same key, from its Secret) must finish the batch: every SealedSecret Ready for its
generation, every Secret with exactly its bytes and one controlling owner, and no Secret deleted
(watched throughout); Secrets written before the kill keep their uid (updated in place, if at all).
"""

from __future__ import annotations

import pytest

from sealer.api import SECRETS
from tests.integration.reliability.conftest import (
    Cluster,
    DeletionWatch,
    StartController,
    not_converged,
    sealed_batch,
    secret_uids,
    wait_converged,
    wait_for,
)

pytestmark = pytest.mark.integration

NS = "batch"
COUNT = 100


def test_sigkill_mid_batch_then_restart(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    first = start_controller()
    cert = first.get("/v1/cert.pem")
    cluster.namespace(NS)
    watch = DeletionWatch(cluster, NS)
    docs, expected = sealed_batch(cert, NS, [f"s-{i:03d}" for i in range(COUNT)], plaintexts)
    cluster.kubeapi.fault("create", "secrets", namespace=NS, delay=0.05, times=COUNT)
    for doc in docs:
        cluster.apply_sealed(doc)

    wait_for(lambda: len(secret_uids(cluster, NS)) >= COUNT // 4, timeout=60, what="a quarter done")
    first.kill()  # SIGKILL: no cleanup, no peering goodbye, in-flight handlers cut off
    before = secret_uids(cluster, NS)
    assert 0 < len(before) < COUNT, f"the kill must land mid-batch ({len(before)} Secrets)"
    assert not_converged(cluster, NS, expected), "nothing left to do after the kill"
    cluster.kubeapi.faults.clear()

    start_controller()  # the same key: loaded from its Secret, not generated again
    wait_converged(cluster, NS, expected, timeout=90)
    after = secret_uids(cluster, NS)
    assert len(after) == COUNT
    assert {name: after[name] for name in before} == before, "a Secret was replaced"
    assert watch.close() == [], "a Secret was deleted"
    keys = cluster.kube.list(SECRETS, "sealops-system", label_selector="sealops.dev/sealing-key")
    assert len(keys) == 1, "the restarted controller made a key of its own"
