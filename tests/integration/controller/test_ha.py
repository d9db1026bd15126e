"""Two controller replicas: only one acts, and the other takes over when the first is stopped.

Both run with ``--peering`` against one ``ClusterKopfPeering``; explicit priorities make the
outcome deterministic. kopf starts every replica of a mandatory peering paused and resumes it
once the peering object shows no live peer of higher or equal priority, so the low-priority
replica (started first) logs "Resuming", then "Pausing operations in favour of" the
high-priority one once that appears. Stopping the active replica hands over: on SIGTERM it
removes itself from the peering as it exits; on SIGKILL its entry stays until its
``--peering-lifetime`` runs out, after which the standby resumes.

Each replica names itself in every request (``User-Agent: sealops-controller/<version>
(<identity>)``, the identity being ``POD_ID``, set per replica here), and the emulator records
every write by User-Agent and ``fieldManager`` (:mod:`sandbox.kubeapi.writes`): the tests show
from that record, not only from the replicas' logs, who wrote what. The one write the standby
must make is kopf's keep-alive of the peering object itself (:func:`writes_by` leaves it out
unless asked).
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from controller.engines.leader import FIELD_MANAGER, user_agent
from sandbox.kubeapi.writes import Write
from sealer.api import CLUSTER_PEERINGS as PEERINGS
from tests.integration.controller.conftest import Cluster, Controller, StartController, wait_for
from tests.integration.controller.test_sealedsecrets import decoded, seal

pytestmark = pytest.mark.integration

PEERING = "sealops-ha"
LIFETIME = 5  # the smallest --peering-lifetime the controller takes
PAUSED = "Pausing operations in favour of"
RESUMED = "Resuming operations after the pause"


def messages(controller: Controller) -> list[str]:
    """The ``message`` of every JSON log line (kopf's own lines included)."""
    out = []
    for line in controller.logs().splitlines():
        try:
            entry: Any = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("message"), str):
            out.append(entry["message"])
    return out


def created(controller: Controller) -> set[str]:
    """The Secrets this replica says it created (``created Secret NS/NAME``)."""
    prefix = "created Secret "
    return {m[len(prefix) :] for m in messages(controller) if m.startswith(prefix)}


def logged(controller: Controller, text: str) -> bool:
    return any(text in m for m in messages(controller))


def replica(
    start_controller: StartController, priority: int, *extra: str, lifetime: int = LIFETIME
) -> Controller:
    """A replica with ``priority``, named ``replica-<priority>`` (its User-Agent: :func:`ua`)."""
    return start_controller(
        "--peering", PEERING,
        "--priority", str(priority),
        "--peering-lifetime", str(lifetime),
        *extra,
        env={"POD_ID": f"replica-{priority}"},
    )  # fmt: skip


def ua(priority: int) -> str:
    """The User-Agent of every request of the replica with ``priority``."""
    return user_agent(f"replica-{priority}")


def is_peering(write: Write) -> bool:
    return write.resource.partition("/")[0] in ("clusterkopfpeerings", "kopfpeerings")


def writes_by(
    cluster: Cluster, priority: int, since: int = 0, *, peering: bool = False
) -> list[Write]:
    """The replica's writes from the ``since``-th on; the peering object's only with ``peering``."""
    return [
        w
        for w in cluster.kubeapi.writes.since(since)
        if w.user_agent == ua(priority) and (peering or not is_peering(w))
    ]


def assert_named_writers(cluster: Cluster, since: int = 0) -> None:
    """Every write is the test's own (``seal/``) or a replica's: none is anonymous or in kopf's
    default User-Agent, so kopf's writes name the replica too. Ours carry our field manager;
    kopf's own PATCHes (its status patches, the peering keep-alive) carry none: kopf has no
    parameter for it."""
    for w in cluster.kubeapi.writes.since(since):
        if w.user_agent.startswith("seal/"):
            continue
        assert w.user_agent.startswith("sealops-controller/"), w
        assert w.field_manager == FIELD_MANAGER or (w.verb == "patch" and kopfs(w)), w


def kopfs(write: Write) -> bool:
    """kopf's own writes: the peering's keep-alive and its status patches of our kinds."""
    return is_peering(write) or write.resource in (
        "sealedsecrets/status",
        "vaultsecrets/status",
        "sealedsecrets",
        "vaultsecrets",
    )


def shown(writes: list[Write]) -> list[str]:
    return [f"{w.verb} {w.resource} {w.namespace}/{w.name}" for w in writes[:10]]


def create_peering(cluster: Cluster) -> None:
    cluster.kube.create(
        PEERINGS,
        None,
        {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": PEERING}},
    )


def live_priorities(cluster: Cluster) -> list[int]:
    """The priorities of the peers in the peering object's status (what kopf decides on)."""
    body = cluster.kube.get(PEERINGS, None, PEERING)
    peers = (body.get("status") or {}).values()
    return sorted(int(p.get("priority", 0)) for p in peers if isinstance(p, dict))


def seal_batch(cert: bytes, cluster: Cluster, names: list[str], plaintexts: list[bytes]) -> None:
    for name in names:
        value = f"ha-value-{name}".encode()
        plaintexts.append(value)
        cluster.apply_sealed(seal(cert, name=name, data={"k": value}))


def secret_version(cluster: Cluster, name: str) -> str:
    secret = cluster.secret("prod", name)
    assert secret is not None
    return str(secret["metadata"]["resourceVersion"])


def assert_unsealed(cluster: Cluster, names: list[str], *, timeout: float) -> None:
    for name in names:
        cluster.wait_ready("prod", name, timeout=timeout)
        assert decoded(cluster.secret("prod", name)) == {"k": f"ha-value-{name}".encode()}


@pytest.mark.parametrize(
    ("stop", "takeover_within"),
    [
        # Converged: the standby resumed and a new batch is unsealed, timed from the signal.
        # Measured (lifetime 5 s): 0.1-0.25 s after SIGTERM, 4.95 s after SIGKILL.
        # SIGTERM: kopf's keep-alive task writes lifetime 0 for itself on the way out, so the
        # standby sees a dead peer at once: well within the lifetime.
        pytest.param(signal.SIGTERM, LIFETIME, id="sigterm"),
        # SIGKILL: nothing is written; the dead peer's entry counts until its lastseen plus its
        # lifetime (at most the lifetime after the kill); kopf re-reads the peering then, and
        # resumes. The slack is for that re-read and the batch on a loaded machine.
        pytest.param(signal.SIGKILL, LIFETIME + 5, id="sigkill"),
    ],
)
def test_one_replica_acts_and_the_other_takes_over(
    cluster: Cluster,
    start_controller: StartController,
    plaintexts: list[bytes],
    stop: signal.Signals,
    takeover_within: float,
) -> None:
    create_peering(cluster)
    low = replica(start_controller, 100)
    wait_for(lambda: logged(low, RESUMED), timeout=30, what="the only replica to resume")
    high = replica(start_controller, 200)
    wait_for(lambda: logged(low, PAUSED), timeout=30, what="the low-priority replica to pause")
    wait_for(lambda: logged(high, RESUMED), timeout=30, what="the high-priority replica to resume")
    assert live_priorities(cluster) == [100, 200]

    cert = high.get("/v1/cert.pem")
    settled = cluster.kubeapi.writes.next_seq
    first = [f"ha-a-{i}" for i in range(5)]
    seal_batch(cert, cluster, first, plaintexts)
    assert_unsealed(cluster, first, timeout=30)
    assert created(high) == {f"prod/{n}" for n in first}
    assert created(low) == set(), "the paused replica wrote Secrets"
    assert low.metric("sealops_values_unsealed_total") == 0

    assert writes_by(cluster, 100, settled) == [], shown(writes_by(cluster, 100, settled))
    assert {w.name for w in writes_by(cluster, 200, settled) if w.resource == "secrets"} >= set(
        first
    )

    versions = {n: secret_version(cluster, n) for n in first}

    stop_mark = cluster.kubeapi.writes.next_seq
    stopped_at = time.monotonic()
    high.process.send_signal(stop)
    high.process.wait(timeout=20)
    wait_for(
        lambda: sum(RESUMED in m for m in messages(low)) >= 2,  # once at start, once now
        timeout=takeover_within,
        what="the standby to resume",
    )
    # The stopped peer is gone from the peering: removed by itself (SIGTERM) or, once its
    # lifetime is over, cleaned away by the survivor (SIGKILL).
    wait_for(lambda: live_priorities(cluster) == [100], timeout=takeover_within, what="cleanup")
    second = [f"ha-b-{i}" for i in range(5)]
    seal_batch(cert, cluster, second, plaintexts)
    assert_unsealed(cluster, second, timeout=takeover_within)
    took = time.monotonic() - stopped_at
    assert took < takeover_within, f"takeover took {took:.1f}s"
    assert created(low) == {f"prod/{n}" for n in second}
    # On resuming, kopf runs the resume handler for every existing object: the first batch is
    # confirmed from its Secrets' source fingerprints, with no private-key operation, and its
    # Secrets are not rewritten.
    wait_for(lambda: low.metric("sealops_unseal_skipped_total") >= len(first), timeout=30,
             what="the first batch confirmed")  # fmt: skip
    assert low.metric("sealops_values_unsealed_total") == len(second)
    assert {n: secret_version(cluster, n) for n in first} == versions
    # The write record agrees: the survivor made the second batch's Secrets, and after it
    # resumed nobody else wrote; kopf's writes (status, peering) carry our names too.
    made = {w.name for w in writes_by(cluster, 100) if w.resource == "secrets"}
    assert made >= set(second) and not made & set(first)
    # Stopping, the old active one wrote at most its own peering entry (SIGTERM); and from the
    # survivor's first write on, nothing of it at all: never two writers at once.
    assert writes_by(cluster, 200, stop_mark) == [], shown(writes_by(cluster, 200, stop_mark))
    takeover = writes_by(cluster, 100, stop_mark)[0].seq
    assert writes_by(cluster, 200, takeover, peering=True) == []
    assert_named_writers(cluster)


RESYNC_SKIPPED = "resync skipped"


def test_paused_replica_does_not_resync(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    """The resync loop runs outside kopf's handlers, so kopf's pause does not stop it: the
    controller must itself leave the work to the active peer. The active replica is frozen
    (SIGSTOP, still alive to the peering for its 60 s lifetime) and a managed Secret deleted; the
    standby's resync (every 5 s) must see that it is paused and leave the Secret alone."""
    create_peering(cluster)
    low = replica(start_controller, 100, "--resync-interval", "5s")
    wait_for(lambda: logged(low, RESUMED), timeout=30, what="the only replica to resume")
    high = replica(start_controller, 200, lifetime=60)
    wait_for(lambda: logged(low, PAUSED), timeout=30, what="the low-priority replica to pause")
    name = "ha-resync"
    seal_batch(high.get("/v1/cert.pem"), cluster, [name], plaintexts)
    assert_unsealed(cluster, [name], timeout=30)

    high.process.send_signal(signal.SIGSTOP)
    try:
        skipped = sum(RESYNC_SKIPPED in m for m in messages(low))
        cluster.core.delete_namespaced_secret(name, "prod")
        wait_for(
            lambda: (
                sum(RESYNC_SKIPPED in m for m in messages(low)) > skipped
                or cluster.secret("prod", name) is not None
            ),
            timeout=20,
            what="a resync round of the paused replica",
        )
        assert cluster.secret("prod", name) is None, "the paused replica restored the Secret"
        assert created(low) == set()
        assert low.metric("sealops_values_unsealed_total") == 0
    finally:
        high.process.send_signal(signal.SIGCONT)
    # Thawed, the active replica sees the deletion and restores the Secret itself.
    wait_for(lambda: cluster.secret("prod", name), timeout=30, what="the Secret restored")
    assert_unsealed(cluster, [name], timeout=30)
    assert created(high) == {f"prod/{name}"}
