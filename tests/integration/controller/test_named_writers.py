"""Every write names its sender: our client (``sealer.kubeclient``) and kopf's session
(``controller.http.kubesession``), over real HTTP to the emulator, which records each write by
User-Agent and ``fieldManager``. Reads carry the User-Agent too but are not in the record."""

from __future__ import annotations

import asyncio
import json

import pytest

from controller.engines.leader import FIELD_MANAGER, own_identity, user_agent
from controller.http.kubesession import kube_session
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


def test_kopfs_session_names_the_replica_in_writes(cluster: Cluster) -> None:
    agent = user_agent("replica-k")
    base = f"{cluster.kubeapi.url}/api/v1/namespaces/prod/secrets"

    async def talk() -> list[str]:
        session = kube_session(
            headers={"Authorization": "Bearer x"}, ssl_context=None, user_agent=agent,
            field_manager=FIELD_MANAGER,
        )  # fmt: skip
        async with session:
            answers = []
            async with session.post(base, data=json.dumps(BODY)) as r:
                answers.append(f"POST {r.status}")
            async with session.get(f"{base}/named") as r:
                answers.append(f"GET {r.status}")
            headers = {"Content-Type": "application/merge-patch+json"}
            patch = json.dumps({"data": {"a": "Mg=="}})
            async with session.patch(f"{base}/named", data=patch, headers=headers) as r:
                answers.append(f"PATCH {r.status}")
            # One that names its own field manager keeps it.
            url = f"{base}/named?fieldManager=other"
            async with session.patch(url, data=patch, headers=headers) as r:
                answers.append(f"PATCH {r.status}")
            return answers

    mark = cluster.kubeapi.writes.next_seq
    assert asyncio.run(talk()) == ["POST 201", "GET 200", "PATCH 200", "PATCH 200"]
    writes = cluster.kubeapi.writes.since(mark)
    assert [(w.verb, w.user_agent, w.field_manager) for w in writes] == [
        ("create", agent, FIELD_MANAGER),
        ("patch", agent, FIELD_MANAGER),
        ("patch", agent, "other"),
    ]
