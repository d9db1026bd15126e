"""The write record (an emulator facility; the real server keeps no such record, its audit log
comes closest): every create, update, patch and delete by User-Agent and ``fieldManager``, with
the object's resource, namespace and name, failed attempts included; reads are not recorded.
From Python on the fixture and over HTTP at ``/_emulator/writes``."""

from __future__ import annotations

import pytest

from sandbox.kubeapi.harness import RunningKubeApi
from sandbox.kubeapi.writes import Write
from tests.integration.kubeapi.rawhttp import call

pytestmark = [pytest.mark.integration, pytest.mark.emulator_only]

UA = {"User-Agent": "writer-a/1 (replica-a)"}
BODY = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}


def seen(writes: list[Write]) -> list[tuple[str, str, str, str, str, str]]:
    return [
        (w.verb, w.resource, w.namespace, w.name, w.user_agent, w.field_manager) for w in writes
    ]


def test_every_write_is_recorded_by_sender(kubeapi: RunningKubeApi) -> None:
    base = f"{kubeapi.url}/api/v1/namespaces/default/configmaps"
    mark = kubeapi.writes.next_seq
    assert call(f"{base}?fieldManager=mgr", "POST", BODY, headers=UA)[0] == 201
    assert call(f"{base}/c", headers=UA)[0] == 200  # a read: not recorded
    assert call(f"{base}", headers=UA)[0] == 200
    patch = {"data": {"k": "w"}}
    merge = "application/merge-patch+json"
    assert (
        call(f"{base}/c", "PATCH", patch, content_type=merge, headers={"User-Agent": "b"})[0] == 200
    )
    assert call(f"{base}/c?fieldManager=mgr", "PUT", BODY, headers=UA)[0] == 200
    assert call(f"{base}/c", "DELETE", headers={"User-Agent": "other"})[0] == 200
    # A failed attempt is still an attempt: the object is gone.
    assert call(f"{base}/c?fieldManager=mgr", "DELETE", headers=UA)[0] == 404
    ua = UA["User-Agent"]
    assert seen(kubeapi.writes.since(mark)) == [
        ("create", "configmaps", "default", "c", ua, "mgr"),
        ("patch", "configmaps", "default", "c", "b", ""),
        ("update", "configmaps", "default", "c", ua, "mgr"),
        ("delete", "configmaps", "default", "c", "other", ""),
        ("delete", "configmaps", "default", "c", ua, "mgr"),
    ]


def test_subresources_cluster_scope_and_dry_run(kubeapi: RunningKubeApi) -> None:
    mark = kubeapi.writes.next_seq
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"generateName": "w-"}}
    assert call(f"{kubeapi.url}/api/v1/namespaces?dryRun=All", "POST", ns, headers=UA)[0] == 201
    url = f"{kubeapi.url}/api/v1/namespaces/default/status"
    call(url, "PATCH", {"metadata": {}}, content_type="application/merge-patch+json", headers=UA)
    writes = kubeapi.writes.since(mark)
    assert [(w.verb, w.resource, w.namespace, w.name, w.dry_run) for w in writes] == [
        ("create", "namespaces", "", "w-", True),
        ("patch", "namespaces/status", "", "default", False),
    ]


def test_the_record_over_http(kubeapi: RunningKubeApi) -> None:
    base = f"{kubeapi.url}/api/v1/namespaces/default/configmaps"
    call(f"{base}?fieldManager=mgr", "POST", BODY, headers=UA)
    url = f"{kubeapi.url}/_emulator/writes"
    status, records, _ = call(url)
    assert status == 200 and records[-1]["user_agent"] == UA["User-Agent"]
    last = records[-1]["seq"]
    assert call(f"{url}?since={last + 1}")[1] == []
    assert call(f"{url}?since=x")[0] == 400
    assert call(url, "DELETE")[0] == 200
    assert call(url)[1] == []
    assert kubeapi.writes.next_seq == last + 1  # numbers go on after a clear
