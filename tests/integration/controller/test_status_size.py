"""Nothing of the user's spec is copied into status: its size does not grow with the spec.

kopf's diff base used to hold every object's essence (all of ``spec.encryptedData``) in
``status.kopf.diffbase``; it is a digest now. Live, with the real controller: a SealedSecret of
one value and one of 60 have statuses of one size, no ciphertext in either, and an edit of the
large one is still seen as a change and reconciled.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sealer.api import SEALED_SECRETS
from tests.integration.controller.conftest import Cluster, StartController, wait_for
from tests.integration.controller.test_sealedsecrets import decoded, seal

pytestmark = pytest.mark.integration


def values(count: int, tag: str) -> dict[str, bytes]:
    return {f"key-{i:02d}": f"status-size-{tag}-{i:02d}".encode() for i in range(count)}


def size(status: dict[str, Any]) -> int:
    """The status's JSON size, the count in the conditions' "unsealed N value(s)" set aside."""
    return len(
        re.sub(r"unsealed \d+ value", "unsealed N value", json.dumps(status, sort_keys=True))
    )


def settled_status(cluster: Cluster, name: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        body = cluster.kube.get(SEALED_SECRETS, "prod", name)
        status = body.get("status") or {}
        done = status.get("observedGeneration") == body["metadata"]["generation"]
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        return dict(status) if done and conditions.get("Ready") == "True" else None

    found: dict[str, Any] = wait_for(ready, timeout=60, what=f"{name} Ready")
    return found


def test_status_size_does_not_grow_with_the_spec(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    controller = start_controller()
    cert = controller.get("/v1/cert.pem")
    small, large = values(1, "s"), values(60, "l")
    plaintexts.extend([*small.values(), *large.values()])
    docs = {"small": seal(cert, name="small", data=small), "large": seal(cert, name="large",
                                                                          data=large)}  # fmt: skip
    for doc in docs.values():
        cluster.apply_sealed(doc)
    statuses = {name: settled_status(cluster, name) for name in docs}
    assert decoded(cluster.secret("prod", "large")) == large

    sizes = {name: size(status) for name, status in statuses.items()}
    assert sizes["large"] == sizes["small"], f"status grew with the spec: {statuses}"
    for name, doc in docs.items():
        text = json.dumps(statuses[name])
        ciphertexts = doc["spec"]["encryptedData"].values()
        assert not [c for c in ciphertexts if c[:40] in text], f"{name}: ciphertext in status"

    # kopf still sees an edit of the spec as a change.
    edited = seal(cert, name="large", data={**large, "key-00": b"status-size-edited"})
    plaintexts.append(b"status-size-edited")
    body = cluster.kube.get(SEALED_SECRETS, "prod", "large")
    body["spec"] = edited["spec"]
    cluster.kube.replace(SEALED_SECRETS, "prod", "large", body)
    wait_for(lambda: decoded(cluster.secret("prod", "large")).get("key-00") == b"status-size-edited",
             timeout=60, what="the edited value in the Secret")  # fmt: skip
    after = settled_status(cluster, "large")
    assert after["observedGeneration"] == 2
    assert size(after) == sizes["large"]
