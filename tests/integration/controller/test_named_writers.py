"""Every write of our client (``sealer.kubeclient``) names its sender, over real HTTP to the
emulator, which records each write by User-Agent and ``fieldManager``. Reads carry the
User-Agent too but are not in the record. (kopf's writes, in kopf's session, carry the same
User-Agent: the HA tests check that from the record.)"""

from __future__ import annotations

import pytest

from controller.engines.leader import own_identity, user_agent
from sealer.api import SECRETS
from sealer.kubeclient import USER_AGENT, connect
from sealer.version import __version__
from tests.integration.controller.conftest import Cluster

pytestmark = pytest.mark.integration

BODY = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "named"}, "data": {"a": "MQ=="}}


def test_the_client_names_itself_in_every_write(cluster: Cluster) -> None:
    agent = user_agent("replica-x")
    assert agent == f"sealops-controller/{__version__} (replica-x)"
    kube = connect(kubeconfig=str(cluster.kubeconfig), user_agent=agent, field_manager="fm-x")
    mark = cluster.kubeapi.writes.next_seq
    kube.create(SECRETS, "prod", BODY)
    kube.get(SECRETS, "prod", "named")
    kube.patch(SECRETS, "prod", "named", {"data": {"a": "Mg=="}})
    current = kube.get(SECRETS, "prod", "named")
    kube.replace(SECRETS, "prod", "named", current)
    writes = cluster.kubeapi.writes.since(mark)
    assert [(w.verb, w.name, w.user_agent, w.field_manager) for w in writes] == [
        ("create", "named", agent, "fm-x"),
        ("patch", "named", agent, "fm-x"),
        ("update", "named", agent, "fm-x"),
    ]


def test_the_seal_cli_keeps_its_own_name(cluster: Cluster) -> None:
    assert f"seal/{__version__}" == USER_AGENT
    mark = cluster.kubeapi.writes.next_seq
    cluster.kube.create(SECRETS, "prod", BODY)  # the harness's client: connect()'s defaults
    (write,) = cluster.kubeapi.writes.since(mark)
    assert (write.user_agent, write.field_manager) == (USER_AGENT, "seal")


def test_the_identity_is_fixed_by_pod_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_ID", "sealops-controller-7d9f-abc")
    assert user_agent(own_identity()).endswith("(sealops-controller-7d9f-abc)")
