"""A restart over synced SealedSecrets costs nothing: no private-key operation, no write.

The real controller unseals 40 SealedSecrets, then stops. A new process starts over them: it
confirms each one from its Secret's source fingerprint (``sealops_unseal_skipped_total``
reaches 40) with 0 private-key operations, no Secret or SealedSecret written (resourceVersions
unchanged), every object still Ready. Then one SealedSecret is edited: that one, and only that
one, is opened again.
"""

from __future__ import annotations

import pytest

from sealer.api import SEALED_SECRETS, SECRETS
from tests.integration.controller.conftest import Cluster, StartController, wait_for
from tests.integration.controller.test_sealedsecrets import decoded, seal

pytestmark = pytest.mark.integration

COUNT = 40


def versions(cluster: Cluster) -> dict[str, str]:
    out = {}
    for ref in (SECRETS, SEALED_SECRETS):
        for body in cluster.kube.list(ref, "prod"):
            out[f"{ref.plural}/{body['metadata']['name']}"] = body["metadata"]["resourceVersion"]
    return out


def test_a_restart_makes_no_private_key_operation_and_no_write(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    first = start_controller()
    cert = first.get("/v1/cert.pem")
    values = {f"s{i}": {"v": f"restart-cost-{i:02d}".encode()} for i in range(COUNT)}
    plaintexts.extend(v["v"] for v in values.values())
    for name, data in values.items():
        cluster.apply_sealed(seal(cert, name=name, data=data))
    for name in values:
        cluster.wait_ready("prod", name, timeout=60)
    wait_for(lambda: first.metric("sealops_private_key_operations_total") >= COUNT, timeout=30,
             what="the first run opened every value")  # fmt: skip
    first.stop()
    before = versions(cluster)

    second = start_controller()
    wait_for(lambda: second.metric("sealops_unseal_skipped_total") >= COUNT, timeout=60,
             what="every SealedSecret confirmed from its Secret")  # fmt: skip
    assert second.metric("sealops_private_key_operations_total") == 0
    assert versions(cluster) == before, "nothing was written"
    for name, data in values.items():
        assert (cluster.ready("prod", name) or {}).get("status") == "True"
        assert decoded(cluster.secret("prod", name)) == data

    # An edited source is opened again; the others stay confirmed.
    plaintexts.append(b"restart-cost-edited")
    body = cluster.kube.get(SEALED_SECRETS, "prod", "s0")
    body["spec"] = seal(cert, name="s0", data={"v": b"restart-cost-edited"})["spec"]
    cluster.kube.replace(SEALED_SECRETS, "prod", "s0", body)
    wait_for(lambda: decoded(cluster.secret("prod", "s0")) == {"v": b"restart-cost-edited"},
             timeout=60, what="the edited value in its Secret")  # fmt: skip
    assert second.metric("sealops_private_key_operations_total") == 1
