"""The key loop renews a due key only in the replica the peering makes active; every replica
reloads. A standby never writes a key Secret: it loads the active one's at its next sync."""

from __future__ import annotations

import datetime as dt

from controller.engines.keys import KeyLoop
from controller.engines.leader import Leader
from sealer.api import CLUSTER_PEERINGS
from tests.unit.controller.conftest import Harness
from tests.unit.fakekube import FakeKube


def creates(kube: FakeKube) -> list[tuple[str, str, str]]:
    return [c for c in kube.calls if c[0] == "create"]


def test_a_standby_leaves_a_due_key_to_the_active_one(harness: Harness, kube: FakeKube) -> None:
    assert harness.keystore.due() is not None  # no key yet: one is due
    standby = KeyLoop(keystore=harness.keystore, metrics=harness.metrics, may_renew=lambda: False)
    standby.sync()
    assert creates(kube) == [] and harness.keyring.newest() is None
    active = KeyLoop(keystore=harness.keystore, metrics=harness.metrics, may_renew=lambda: True)
    active.sync()
    assert creates(kube) == [("create", "", "secrets")]
    assert harness.keyring.newest() is not None
    standby.sync()  # the standby's next sync loads what the active one made
    assert len(creates(kube)) == 1 and harness.keystore.due() is None


def test_who_may_renew(kube: FakeKube) -> None:
    now = dt.datetime.now(dt.UTC)
    higher = {"priority": 200, "lifetime": 60, "lastseen": now.isoformat()}
    kube.put(CLUSTER_PEERINGS, {"metadata": {"name": "ha"}, "status": {"b": higher}})

    def leader(priority: int | None, **options: bool) -> Leader:
        peering = "ha" if priority is not None else None
        return Leader(kube, peering=peering, identity="me", priority=priority,
                      clock=lambda: now, **options)  # fmt: skip

    assert leader(None).may_renew_keys(), "standalone"
    assert not leader(100).may_renew_keys(), "a standby of the cluster-wide peering"
    assert leader(300).may_renew_keys(), "the active one"
    assert leader(100, sharded=True).may_renew_keys(), "shards have no peering for the keys"
