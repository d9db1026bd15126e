"""Online `seal reencrypt` through the real controller keeps the other clusters' ciphertexts.

A SealedSecret sealed for cluster 1 (the controller here) and cluster 2 (a local key pair) is
re-sealed after cluster 1 renewed its key: cluster 1's blob becomes one for its newest key, and
cluster 2's blob is the same bytes and still opens with cluster 2's key alone.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
import yaml

from sealer.keys import generate_keypair, load_recipient
from sealer.manifests import PlainSecret, parse_sealed_secret
from sealer.sealing import seal_secret, unseal
from tests.integration.controller.conftest import SEALED, Cluster, StartController
from tests.integration.controller.test_online_seal import expose, seal

pytestmark = pytest.mark.integration

VALUE = b"two-cluster-rotation-value"


def test_online_reencrypt_keeps_cluster_two_byte_for_byte(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    plaintexts.append(VALUE)
    first = start_controller()
    old = load_recipient(first.get("/v1/cert.pem"))
    other = generate_keypair(now=dt.datetime.now(dt.UTC), key_size=2048, name="cluster-2")
    plain = PlainSecret(name="api", namespace="prod", data={"token": VALUE})
    doc = seal_secret(plain, [old, other.recipient])
    first.stop()

    # Cluster 1 renews its key (a cutoff just past makes the restarted controller make one).
    cutoff = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    time.sleep(1.2)
    second = start_controller("--key-cutoff-time", cutoff)
    newest = load_recipient(second.get("/v1/cert.pem"))
    assert newest.fingerprint != old.fingerprint
    expose(cluster, second)

    rotated = seal(cluster, "reencrypt", "-o", "json", stdin=yaml.safe_dump(doc).encode())
    assert rotated.returncode == 0, rotated.stderr
    out: dict[str, Any] = json.loads(rotated.stdout)
    before = doc["spec"]["encryptedData"]["token"].split(",")
    after = out["spec"]["encryptedData"]["token"].split(",")
    assert len(after) == 2
    assert after[1] == before[1]  # cluster 2's ciphertext, byte for byte
    assert after[0] != before[0]  # cluster 1's, re-sealed for its newest key
    assert out["metadata"]["annotations"]["sealops.dev/sealed-with"] == (
        f"{newest.fingerprint},{other.fingerprint}"
    )
    sealed = parse_sealed_secret(out)
    assert unseal(sealed, [other]).values == {"token": VALUE}  # cluster 2 still opens it

    # And cluster 1's controller opens the re-sealed object with its newest key.
    cluster.apply_sealed(out)
    assert cluster.wait_ready("prod", "api", timeout=60)["reason"] == "Unsealed"
    status = cluster.kube.get(SEALED, "prod", "api").get("status") or {}
    assert newest.fingerprint in json.dumps(status.get("sealedWith"))
    assert other.fingerprint not in json.dumps(status.get("sealedWith"))
