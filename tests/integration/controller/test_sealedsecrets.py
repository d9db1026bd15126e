"""The real controller turns SealedSecrets into Secrets, through the emulator over HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from controller.keyring import key_secret
from sealer.api import LABEL_SEALING_KEY, SECRETS
from sealer.keys import KeyPair, generate_keypair, load_recipient
from sealer.kube import InvalidName, KubeInvalid, KubeNotFound, check_name, check_namespace
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.integration.controller.conftest import SEALED, Cluster, StartController, wait_for

pytestmark = pytest.mark.integration

DATA = Path(__file__).parents[2] / "data"
VECTORS: list[dict[str, Any]] = json.loads((DATA / "vectors.json").read_text())


def decoded(secret: dict[str, Any] | None) -> dict[str, bytes]:
    assert secret is not None
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def install_tls_key(cluster: Cluster, name: str, key_pem: bytes, cert_pem: bytes) -> None:
    cluster.kube.create(
        SECRETS,
        "sealops-system",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {
                "name": name,
                "namespace": "sealops-system",
                "labels": {LABEL_SEALING_KEY: "active"},
            },
            "data": {
                "tls.key": base64.b64encode(key_pem).decode(),
                "tls.crt": base64.b64encode(cert_pem).decode(),
            },
        },
    )


def seal(
    cert_pem: bytes, *, name: str = "db", namespace: str = "prod", data: dict[str, bytes]
) -> dict[str, Any]:
    return seal_secret(
        PlainSecret(name=name, namespace=namespace, data=data), [load_recipient(cert_pem)]
    )


def _valid_in_a_cluster(namespace: str, name: str) -> bool:
    try:
        check_namespace(namespace)
        check_name(SEALED, name)
    except InvalidName:
        return False
    return True


# The upstream cases no cluster can hold, each with why. Their bytes are opened (or refused)
# offline by tests/unit/test_bitnami_vectors.py; every other case runs here.
NOT_IN_A_CLUSTER = {
    "k4096-strict-dash-dot": "sealed for namespace team-a.prod-eu.1: not a DNS-1123 label",
    "k4096-nsw-dash-dot": "sealed for namespace team-a.prod-eu.1: not a DNS-1123 label",
    "k2048-strict-dash-dot": "sealed for namespace team-a.prod-eu.1: not a DNS-1123 label",
    "k2048-nsw-dash-dot": "sealed for namespace team-a.prod-eu.1: not a DNS-1123 label",
    "k4096-strict-1MiB": "sealed for namespace big-data.ns: not a DNS-1123 label",
}
# Cases whose outcome in the cluster differs from the offline one, each with why.
OPENS_IN_THE_CLUSTER = {
    "fail-wrong-key": "sealed for key-2048, which this controller holds too (offline it is "
    "opened with key-4096 only)",
}


def _placement(index: int, case: dict[str, Any]) -> tuple[str, str]:
    """Where the case's SealedSecret goes: where its scope binds it, else a name of its own."""
    namespace = case["namespace"] or "default"
    if case["scope"] == "strict":
        return namespace, case["name"]
    if case["scope"] == "cluster-wide" and not _valid_in_a_cluster(namespace, "x"):
        namespace = "default"  # bound to no namespace: any will do
    return namespace, f"{case['scope']}-{index}"


def _rounds() -> list[dict[tuple[str, str], dict[str, Any]]]:
    """The runnable cases in rounds: round n holds the n-th case of each object. Upstream seals
    several cases for one strict name (a/s has eight): each gets a fresh object in its round."""
    by_object: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for index, case in enumerate(VECTORS):
        where = _placement(index, case)
        if _valid_in_a_cluster(*where):
            by_object.setdefault(where, []).append(case)
    depth = max(len(cases) for cases in by_object.values())
    return [
        {where: cases[n] for where, cases in by_object.items() if n < len(cases)}
        for n in range(depth)
    ]


def _delete_sealed(cluster: Cluster, namespace: str, name: str) -> None:
    """Delete a SealedSecret and wait until it and its Secret (garbage-collected) are gone."""
    k8s: Any = kubernetes
    custom = k8s.client.CustomObjectsApi(cluster.core.api_client)
    custom.delete_namespaced_custom_object(
        SEALED.group, SEALED.version, namespace, SEALED.plural, name
    )

    def gone() -> bool:
        try:
            cluster.kube.get(SEALED, namespace, name)
        except KubeNotFound:
            return cluster.secret(namespace, name) is None
        return False

    wait_for(gone, what=f"SealedSecret {namespace}/{name} and its Secret deleted")


def test_the_skip_table_is_exactly_the_cases_no_cluster_holds() -> None:
    ran = {case["id"] for round_ in _rounds() for case in round_.values()}
    assert ran.isdisjoint(NOT_IN_A_CLUSTER)
    assert ran | set(NOT_IN_A_CLUSTER) == {case["id"] for case in VECTORS}
    assert len(ran) == len(VECTORS) - len(NOT_IN_A_CLUSTER)
    assert set(OPENS_IN_THE_CLUSTER) <= ran


def _verdict(cluster: Cluster, namespace: str, name: str, generation: int) -> dict[str, Any]:
    """The Ready condition once the controller has reported on ``generation``."""

    def reported() -> dict[str, Any] | None:
        body = cluster.kube.get(SEALED, namespace, name)
        if (body.get("status") or {}).get("observedGeneration") != generation:
            return None
        return cluster.ready(namespace, name)

    return dict(wait_for(reported, what=f"SealedSecret {namespace}/{name} generation {generation}"))


def test_bitnami_vectors(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    """Every upstream ciphertext a cluster can hold becomes exactly its bytes, and every bad one
    ends DecryptFailed with no Secret (the cases no cluster can hold: NOT_IN_A_CLUSTER)."""
    for size in ("4096", "2048"):
        install_tls_key(
            cluster,
            f"bitnami-{size}",
            (DATA / f"key-{size}.pem").read_bytes(),
            (DATA / f"cert-{size}.pem").read_bytes(),
        )
    start_controller()
    # A fresh object per case, not an edit: kopf holds an edit of a failing object until the
    # failure's retry delay (30 s, doubling) has passed.
    for number, round_ in enumerate(_rounds()):
        generations: dict[tuple[str, str], int] = {}
        for (namespace, name), case in round_.items():
            if number > 0:
                _delete_sealed(cluster, namespace, name)
            body = cluster.apply_sealed(
                {
                    "apiVersion": "sealops.dev/v1alpha1",
                    "kind": "SealedSecret",
                    "metadata": {"name": name, "namespace": namespace,
                                 "annotations": {"sealops.dev/scope": case["scope"]}},
                    "spec": {"encryptedData": {"value": case["ciphertext_b64"]}},
                }
            )  # fmt: skip
            generations[(namespace, name)] = body["metadata"]["generation"]
            plaintexts.append(base64.b64decode(case["plaintext_b64"]))
        for (namespace, name), case in round_.items():
            condition = _verdict(cluster, namespace, name, generations[(namespace, name)])
            if case.get("expect_fail") and case["id"] not in OPENS_IN_THE_CLUSTER:
                assert (condition["status"], condition["reason"]) == ("False", "DecryptFailed"), (
                    case["id"]
                )
                assert cluster.secret(namespace, name) is None, case["id"]
            else:
                assert condition["status"] == "True", (case["id"], condition)
                plain = base64.b64decode(case["plaintext_b64"])
                assert decoded(cluster.secret(namespace, name)) == {"value": plain}, case["id"]


@pytest.fixture
def ready_controller(cluster: Cluster, start_controller: StartController) -> bytes:
    """A running controller; returns its certificate."""
    controller = start_controller()
    return controller.get("/v1/cert.pem")


def test_secret_not_owned_is_kept_and_reported(
    cluster: Cluster, ready_controller: bytes, plaintexts: list[bytes]
) -> None:
    cluster.kube.create(SECRETS, "prod", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                                          "data": {"k": base64.b64encode(b"theirs").decode()}})  # fmt: skip
    plaintexts.append(b"ours-not-theirs")
    cluster.apply_sealed(seal(ready_controller, data={"k": b"ours-not-theirs"}))
    condition = cluster.wait_ready("prod", "db", status="False")
    assert condition["reason"] == "SecretNotOwned"
    assert decoded(cluster.secret("prod", "db")) == {"k": b"theirs"}


def test_deleted_or_edited_managed_secret_is_restored(
    cluster: Cluster, ready_controller: bytes, plaintexts: list[bytes]
) -> None:
    plaintexts.append(b"restore-me-please")
    cluster.apply_sealed(seal(ready_controller, data={"k": b"restore-me-please"}))
    cluster.wait_ready("prod", "db")
    secret = cluster.secret("prod", "db")
    assert secret is not None
    secret["data"]["k"] = base64.b64encode(b"edited").decode()
    cluster.kube.replace(SECRETS, "prod", "db", secret)
    wait_for(
        lambda: decoded(cluster.secret("prod", "db")) == {"k": b"restore-me-please"},
        what="edit undone",
    )
    cluster.core.delete_namespaced_secret("db", "prod")
    wait_for(
        lambda: (
            cluster.secret("prod", "db") is not None
            and decoded(cluster.secret("prod", "db")) == {"k": b"restore-me-please"}
        ),
        what="deleted Secret restored",
    )


def test_template_immutable_and_labels(
    cluster: Cluster, ready_controller: bytes, plaintexts: list[bytes]
) -> None:
    plaintexts.append(b"templated-password")
    doc = seal(ready_controller, data={"password": b"templated-password", "user": b"admin"})
    doc["spec"]["template"].update(
        immutable=True,
        type="kubernetes.io/basic-auth",
        metadata={"labels": {"app": "shop"}, "annotations": {"team": "payments"}},
        data={"username": "{{ user }}", "dsn": "pg://{{ user }}:{{ password }}@db/shop"},
    )
    cluster.apply_sealed(doc)
    cluster.wait_ready("prod", "db")
    secret = cluster.secret("prod", "db")
    assert secret is not None
    assert secret["immutable"] is True
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert secret["metadata"]["labels"]["app"] == "shop"
    assert secret["metadata"]["annotations"]["team"] == "payments"
    assert decoded(secret)["dsn"] == b"pg://admin:templated-password@db/shop"
    # New values for an immutable Secret: reported, and the Secret is left as it is.
    newer = seal(ready_controller, data={"password": b"templated-password-2", "user": b"admin"})
    body = cluster.kube.get(SEALED, "prod", "db")
    body["spec"]["encryptedData"] = newer["spec"]["encryptedData"]
    cluster.kube.replace(SEALED, "prod", "db", body)
    condition = cluster.wait_ready("prod", "db", status="False")
    assert condition["reason"] == "UpdateFailed" and "immutable" in condition["message"]
    assert decoded(cluster.secret("prod", "db"))["password"] == b"templated-password"


def test_scope_violation_is_reported(
    cluster: Cluster, ready_controller: bytes, plaintexts: list[bytes]
) -> None:
    plaintexts.append(b"scoped-to-prod-db")
    doc = seal(ready_controller, data={"k": b"scoped-to-prod-db"})
    doc["metadata"]["name"] = "elsewhere"
    cluster.apply_sealed(doc)
    condition = cluster.wait_ready("prod", "elsewhere", status="False")
    assert condition["reason"] == "DecryptFailed"
    assert "spec.encryptedData.k" in condition["message"]
    assert cluster.secret("prod", "elsewhere") is None


@pytest.mark.parametrize(
    "spec",
    [
        {"encryptedData": {"k": 42}},
        {"encryptedData": "not a map"},
        {"encryptedData": {"k": "AgA="}, "template": {"type": 7}},
    ],
    ids=["value-not-a-string", "encryptedData-not-a-map", "template-type-not-a-string"],
)
def test_invalid_spec_rejected_by_the_crd_schema(cluster: Cluster, spec: dict[str, Any]) -> None:
    doc = {
        "apiVersion": "sealops.dev/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "bad", "namespace": "prod"},
        "spec": spec,
    }
    with pytest.raises(KubeInvalid) as info:
        cluster.kube.create(SEALED, "prod", doc)
    assert info.value.status == 422


def test_no_kopf_annotations_or_finalizers(
    cluster: Cluster, ready_controller: bytes, plaintexts: list[bytes]
) -> None:
    doc = seal(ready_controller, data={"k": b"gitops-clean-value"})
    doc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = "1"
    plaintexts.append(b"gitops-clean-value")
    applied = cluster.apply_sealed(doc)
    cluster.wait_ready("prod", "db")
    body = cluster.kube.get(SEALED, "prod", "db")
    assert body["metadata"].get("annotations") == applied["metadata"].get("annotations")
    assert not body["metadata"].get("finalizers")
    assert body["status"]["observedGeneration"] == body["metadata"]["generation"]


def test_key_rotation_end_to_end(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    first = start_controller()
    cert1 = first.get("/v1/cert.pem")
    plaintexts += [b"sealed-with-key-one", b"sealed-with-key-two"]
    cluster.apply_sealed(seal(cert1, name="old", data={"k": b"sealed-with-key-one"}))
    cluster.wait_ready("prod", "old")
    first.stop()
    # 1. renew: a cutoff in the past makes the restarted controller generate a new key.
    cutoff = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    import time

    time.sleep(1.2)
    second = start_controller("--key-cutoff-time", cutoff)
    cert2 = second.get("/v1/cert.pem")
    assert cert2 != cert1
    # 2. seal with the new certificate; 3. the old SealedSecret still unseals.
    cluster.apply_sealed(seal(cert2, name="new", data={"k": b"sealed-with-key-two"}))
    cluster.wait_ready("prod", "new")
    assert decoded(cluster.secret("prod", "old")) == {"k": b"sealed-with-key-one"}
    # 4. /v1/keys counts usage per key.
    keys = {k["fingerprint"]: k for k in json.loads(second.get("/v1/keys"))["keys"]}
    fp1, fp2 = load_recipient(cert1).fingerprint, load_recipient(cert2).fingerprint
    assert keys[fp1]["sealedSecrets"] == 1 and not keys[fp1]["sealing"]
    assert keys[fp2]["sealedSecrets"] == 1 and keys[fp2]["sealing"]
    # Re-sealing the old one with the newest key retires key 1's last use.
    status, body = second.post("/v1/rotate", cluster.kube.get(SEALED, "prod", "old"))
    assert status == 200
    rotated = json.loads(body)
    assert rotated["metadata"]["annotations"]["sealops.dev/sealed-with"] == fp2


@pytest.mark.parametrize("hint", [True, False], ids=["with-hint", "without-hint"])
def test_twelve_keys_and_the_hint(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes], hint: bool
) -> None:
    now = dt.datetime.now(dt.UTC)
    pairs: list[KeyPair] = [
        generate_keypair(now=now - dt.timedelta(days=12 - i), key_size=2048) for i in range(12)
    ]
    for i, pair in enumerate(pairs):
        cluster.kube.create(
            SECRETS,
            "sealops-system",
            key_secret(pair, name=f"key-{i:02}", namespace="sealops-system"),
        )
    controller = start_controller()
    oldest = pairs[0].certificate_pem()
    for n in range(4):
        doc = seal(
            oldest,
            name=f"s{n}",
            data={"a": b"value-a-123", "b": b"value-b-456", "c": b"value-c-789"},
        )
        if not hint:
            del doc["metadata"]["annotations"]["sealops.dev/sealed-with"]
        cluster.apply_sealed(doc)
    plaintexts += [b"value-a-123", b"value-b-456", b"value-c-789"]
    for n in range(4):
        cluster.wait_ready("prod", f"s{n}")
    values = controller.metric("sealops_values_unsealed_total")
    ops = controller.metric("sealops_private_key_operations_total")
    assert values == 12
    if hint:
        assert ops == values, "exactly one private-key operation per value"
    else:
        # Keys are tried newest first and the oldest sealed: every key, for every value.
        assert ops == len(pairs) * values


def test_verify_endpoint(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    controller = start_controller()
    cert = controller.get("/v1/cert.pem")
    plaintexts.append(b"verify-me-value")
    good = seal(cert, data={"k": b"verify-me-value"})
    assert controller.post("/v1/verify", good)[0] == 200
    bad = dict(good, metadata={**good["metadata"], "name": "moved"})
    status, body = controller.post("/v1/verify", bad)
    assert status == 409 and b"cannot decrypt" in body
