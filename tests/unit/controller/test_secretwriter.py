"""The ownership rules for target Secrets, one case each."""

from __future__ import annotations

import base64

import pytest

from controller.datahash import DataHasher
from controller.secretwriter import (
    DesiredSecret,
    Owner,
    Policy,
    SecretNotOwned,
    SecretWriter,
    UpdateFailed,
)
from sealer.api import ANN_DATA_HASH, ANN_MANAGED, LABEL_MANAGED_BY, SECRETS
from tests.unit.fakekube import FakeKube

OWNER = Owner("sealops.dev/v1alpha1", "SealedSecret", "db", "uid-1")
DESIRED = DesiredSecret(
    name="db", namespace="prod", data={"password": b"hunter2"}, labels={"app": "shop"}
)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def foreign(**extra: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod", **extra},
        "data": {"password": b64(b"theirs")},
    }


@pytest.fixture
def writer(kube: FakeKube) -> SecretWriter:
    return SecretWriter(
        kube=kube, hasher=DataHasher(b"k" * 32), controller_namespace="sealops-system"
    )


def test_creates_with_owner_label_and_hash(writer: SecretWriter, kube: FakeKube) -> None:
    assert writer.apply(DESIRED, OWNER).action == "created"
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    assert secret["metadata"]["ownerReferences"] == [OWNER.reference()]
    assert secret["metadata"]["labels"] == {"app": "shop", LABEL_MANAGED_BY: "sealops"}
    assert secret["metadata"]["annotations"][ANN_DATA_HASH].startswith("hmac-sha256:")
    assert "hunter2" not in secret["metadata"]["annotations"][ANN_DATA_HASH]
    assert secret["data"] == {"password": b64(b"hunter2")}
    assert writer.in_sync(secret)


def test_second_apply_writes_nothing(writer: SecretWriter, kube: FakeKube) -> None:
    writer.apply(DESIRED, OWNER)
    kube.calls.clear()
    assert writer.apply(DESIRED, OWNER).action == "unchanged"
    assert [c[0] for c in kube.calls] == ["get"]


def test_foreign_secret_is_never_overwritten(writer: SecretWriter, kube: FakeKube) -> None:
    kube.put(SECRETS, foreign())
    with pytest.raises(SecretNotOwned, match="Secret prod/db: exists and is not managed"):
        writer.apply(DESIRED, OWNER)
    stored = kube.find(SECRETS, "prod", "db")
    assert stored is not None and stored["data"] == {"password": b64(b"theirs")}


def test_managed_annotation_allows_takeover(writer: SecretWriter, kube: FakeKube) -> None:
    kube.put(SECRETS, foreign(annotations={ANN_MANAGED: "true"}, labels={"keep": "me"}))
    assert writer.apply(DESIRED, OWNER).action == "updated"
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    assert secret["data"] == {"password": b64(b"hunter2")}
    assert secret["metadata"]["labels"]["keep"] == "me"
    assert secret["metadata"]["ownerReferences"] == [OWNER.reference()]


def test_edited_data_is_drift_and_is_restored(writer: SecretWriter, kube: FakeKube) -> None:
    writer.apply(DESIRED, OWNER)
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    secret["data"]["password"] = b64(b"edited by hand")
    assert not writer.in_sync(secret)
    assert writer.apply(DESIRED, OWNER).action == "updated"
    restored = kube.find(SECRETS, "prod", "db")
    assert restored is not None and restored["data"] == {"password": b64(b"hunter2")}


def test_immutable_secret_with_new_data_is_reported_not_touched(
    writer: SecretWriter, kube: FakeKube
) -> None:
    immutable = DesiredSecret(name="db", namespace="prod", data={"password": b"v1"}, immutable=True)
    writer.apply(immutable, OWNER)
    changed = DesiredSecret(name="db", namespace="prod", data={"password": b"v2"}, immutable=True)
    with pytest.raises(UpdateFailed, match="immutable"):
        writer.apply(changed, OWNER)
    stored = kube.find(SECRETS, "prod", "db")
    assert stored is not None and stored["data"] == {"password": b64(b"v1")}


def test_type_change_is_reported(writer: SecretWriter, kube: FakeKube) -> None:
    writer.apply(DESIRED, OWNER)
    tls = DesiredSecret(
        name="db", namespace="prod", data={"password": b"hunter2"}, type="kubernetes.io/tls"
    )
    with pytest.raises(UpdateFailed, match="type"):
        writer.apply(tls, OWNER)


def test_merge_adds_keys_to_an_existing_secret(writer: SecretWriter, kube: FakeKube) -> None:
    kube.put(SECRETS, foreign())
    extra = DesiredSecret(name="db", namespace="prod", data={"token": b"abc"})
    assert writer.apply(extra, OWNER, Policy.MERGE).action == "updated"
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None
    assert secret["data"] == {"password": b64(b"theirs"), "token": b64(b"abc")}
    assert "ownerReferences" not in secret["metadata"]
    assert writer.in_sync(secret), "the hash covers the merged keys only"
    assert writer.apply(extra, OWNER, Policy.MERGE).action == "unchanged"


def test_merge_never_creates(writer: SecretWriter, kube: FakeKube) -> None:
    with pytest.raises(UpdateFailed, match="Merge"):
        writer.apply(DESIRED, OWNER, Policy.MERGE)
    assert kube.find(SECRETS, "prod", "db") is None


def test_orphan_has_no_owner_reference_but_stays_ours(writer: SecretWriter, kube: FakeKube) -> None:
    writer.apply(DESIRED, OWNER, Policy.ORPHAN)
    secret = kube.find(SECRETS, "prod", "db")
    assert secret is not None and "ownerReferences" not in secret["metadata"]
    newer = DesiredSecret(name="db", namespace="prod", data={"password": b"new"})
    assert writer.apply(newer, OWNER, Policy.ORPHAN).action == "updated"
