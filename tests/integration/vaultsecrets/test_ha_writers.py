"""Two replicas for 60 s under load: the standby makes no write at all, but its peering keep-alive.

Two controllers with ``--peering`` (priorities 100 and 200, as in
``tests/integration/controller/test_ha.py``), against a real OpenBao. The low-priority one starts
alone and syncs everything, so that its queue holds the VaultSecrets' 2 s refreshes when the
high-priority one arrives and it pauses (the case where a paused replica went on syncing). Then,
for a minute, the VaultSecrets' values change every 2 s and a SealedSecret is edited every
second. The emulator records every write by User-Agent (:mod:`sandbox.kubeapi.writes`), and each
replica names itself in its User-Agent. From the active one's first write on, the standby's
writes are exactly kopf's keep-alive PATCHes of the ``ClusterKopfPeering`` (every replica of a
peering makes them: it is how the peers see it alive), and nothing else: no Secret, no status,
no Event, not one attempt. Its metrics agree: from its pause on, its VaultSecret syncs and Secret
writes do not move (without :meth:`~controller.engines.leader.Leader.follow_kopf`, one more sync
ran in it after "Pausing operations", from the leader's kept answer). The active one writes
every change, and the sealing keys that fall due every 20 s meanwhile (the standby loads them).

The peering lifetime is 20 s (kopf's keep-alive every 10 to 15 s), long enough that a slow
moment on a loaded machine does not make the active one look dead, which would be a real
takeover rather than a second writer.
"""

from __future__ import annotations

import secrets
import time

import pytest

from sealer.api import SEALED_SECRETS
from tests.integration.controller.conftest import Controller
from tests.integration.controller.test_ha import (
    PAUSED,
    PEERING,
    RESUMED,
    assert_named_writers,
    create_peering,
    logged,
    replica,
    shown,
    writes_by,
)
from tests.integration.controller.test_sealedsecrets import decoded, seal
from tests.integration.vaultsecrets.conftest import Env, StartController, wait_for

pytestmark = pytest.mark.integration

NS = "ha-writers"
SEALED_NS = "prod"
DURATION = 60.0
LIFETIME = 20
N = 3
#: A sealing key falls due every 20 s: only the active one may make it (engines/keys.py).
RENEW = ("--key-renew-period", "20s")


def _totals(controller: Controller) -> tuple[float, float]:
    """A replica's VaultSecret syncs and Secret writes, as its metrics count them."""
    return (
        controller.metric("sealops_vault_sync_total"),
        controller.metric("sealops_secret_writes_total"),
    )


def test_the_standby_makes_no_write_in_a_minute_of_churn(
    env: Env, start_controller: StartController
) -> None:
    cluster = env.cluster
    env.bao.policy("ha-writers", "secret/data/ha-writers/*")
    env.connection(NS, "vault", env.token_auth(NS, env.bao.new_token("ha-writers")))
    vault_values = {i: f"v0-{i}-{secrets.token_hex(8)}" for i in range(N)}
    for i, value in vault_values.items():
        env.put(f"secret/ha-writers/app{i}", {"v": value})

    # The low-priority replica first, alone: it syncs everything, so its queue holds the
    # VaultSecrets' refreshes when the high-priority one arrives (the issue's case: a replica
    # that was active and is paused keeps its refresh schedule).
    create_peering(cluster)
    low = replica(start_controller, 100, *RENEW, lifetime=LIFETIME)
    wait_for(lambda: logged(low, RESUMED), timeout=30, what="the only replica to resume")
    for i in range(N):
        env.vault_secret(NS, f"vs-{i}", refresh="2s",
                         data=[{"key": "v", "ref": f"secret/ha-writers/app{i}#v"}])  # fmt: skip
    cert = low.get("/v1/cert.pem")
    sealed_values: dict[str, bytes] = {}

    def seal_value(name: str, tick: int) -> dict[str, object]:
        value = f"ha-churn-{name}-{tick}-{secrets.token_hex(6)}".encode()
        env.plaintexts.append(value)
        sealed_values[name] = value
        return seal(cert, name=name, namespace=SEALED_NS, data={"k": value})

    names = [f"churn-{i}" for i in range(N)]
    for name in names:
        cluster.apply_sealed(seal_value(name, 0))
    for i in range(N):
        env.wait_ready(NS, f"vs-{i}", timeout=30)
    for name in names:
        cluster.wait_ready(SEALED_NS, name, timeout=30)
    wait_for(lambda: low.metric("sealops_vault_sync_total") >= 2 * N, timeout=30,
             what="the refreshes running in the low-priority replica")  # fmt: skip

    mark = cluster.kubeapi.writes.next_seq
    high = replica(start_controller, 200, *RENEW, lifetime=LIFETIME)
    wait_for(lambda: logged(low, PAUSED), timeout=30, what="the low-priority replica to pause")
    wait_for(lambda: logged(high, RESUMED), timeout=30, what="the high-priority replica to resume")
    before = _totals(low)
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < DURATION:
        tick += 1
        name = names[tick % N]
        doc = seal_value(name, tick)
        cluster.kube.patch(SEALED_SECRETS, SEALED_NS, name, {"spec": doc["spec"]})
        if tick % 2 == 0:
            i = (tick // 2) % N
            vault_values[i] = f"v{tick}-{i}-{secrets.token_hex(8)}"
            env.put(f"secret/ha-writers/app{i}", {"v": vault_values[i]})
        time.sleep(max(0.0, start + tick - time.monotonic()))

    # The last changes arrive (the active one is still at work), then the record is read.
    def converged() -> bool:
        return all(
            decoded(cluster.secret(SEALED_NS, n)) == {"k": sealed_values[n]} for n in names
        ) and all(env.data(NS, f"vs-{i}") == {"v": vault_values[i]} for i in range(N))

    wait_for(converged, timeout=30, what="the last edits and values in the Secrets")

    # From the active one's first write on, the standby makes none; before it, the low-priority
    # replica was still the active one (it pauses once it sees the other's peering entry).
    active = writes_by(cluster, 200, mark)
    assert active, "the active replica wrote nothing"
    first = active[0].seq
    standby = writes_by(cluster, 100, first)
    assert standby == [], f"the standby wrote: {shown(standby)}"
    keepalive = writes_by(cluster, 100, first, peering=True)
    assert keepalive, "the standby's peering keep-alive is missing from the record"
    assert {(w.verb, w.resource, w.name) for w in keepalive} == {
        ("patch", "clusterkopfpeerings", PEERING)
    }
    assert _totals(low) == before, "the standby's syncs or Secret writes moved"

    keys = [w for w in active if w.resource == "secrets" and w.namespace == "sealops-system"]
    assert len(keys) >= 2 and {w.verb for w in keys} == {"create"}, "the active one renews"
    secret_writes = [w for w in active if w.resource == "secrets" and w not in keys]
    # About DURATION edits of SealedSecrets and DURATION / 2 changed Vault values, each a write.
    assert len(secret_writes) >= DURATION, f"only {len(secret_writes)} Secret writes"
    assert {w.name for w in secret_writes} == {*names, *(f"vs-{i}" for i in range(N))}
    assert_named_writers(cluster, mark)
