"""The soak, small enough for CI: 200 SealedSecrets and 50 VaultSecrets, 20 s of churn.

The same driver as the long version in ``make bench`` (``tests/soak.py``, 5,000 + 1,000 objects):
the objects are created and synced, then created, updated and deleted at random (Vault values
changed too) for 20 s at 10 operations per second; after the churn stops everything must
converge (every object Ready for its generation with exactly its bytes, no Secret left for a
deleted object) within the bound, with no SealedSecret or VaultSecret error counted in the
controller's metrics. Every value is registered for the leak scans.
"""

from __future__ import annotations

import pytest

from tests.integration.reliability.conftest import Env, StartController
from tests.integration.vaultsecrets.conftest import sample
from tests.soak import Soak, SoakPlan, custom_objects, peak_rss_mb

pytestmark = pytest.mark.integration

PLAN = SoakPlan(sealed=200, vault=50, churn_seconds=20, rate=10, paths=20, refresh="5s")


def test_soak_small(fresh_env: Env, start_controller: StartController) -> None:
    env, cluster = fresh_env, fresh_env.cluster
    # Info, not debug: kopf logs every body at debug, which the leak scans would then read.
    controller = start_controller("--log-level", "info", "--resync-interval", "5s")
    soak = Soak(
        plan=PLAN,
        kube=cluster.kube,
        admin=env.bao.admin,
        bao_address=env.bao.address,
        cert_pem=controller.get("/v1/cert.pem"),
        plaintexts=env.plaintexts,
        custom=custom_objects(str(cluster.kubeconfig)),
    )
    soak.setup()
    soak.wait(timeout=90)
    soak.churn()
    assert sum(soak.operations.values()) >= PLAN.churn_seconds * PLAN.rate * 0.9
    took = soak.wait(timeout=60)
    errors = {
        "unseal": sample(controller, "sealops_unseal_total", result="error"),
        "vault": sample(controller, "sealops_vault_sync_total", result="error"),
    }
    print(f"soak-small: converged {took:.1f}s after the churn, {dict(soak.operations)}, "
          f"errors {errors}, peak RSS {peak_rss_mb(controller.process.pid):.0f} MB")  # fmt: skip
    assert errors == {"unseal": 0, "vault": 0}
    assert controller.process.poll() is None
