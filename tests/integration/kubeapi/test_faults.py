"""Fault injection (an emulator facility, no real API behaviour to copy; the injected answers
are real ``Status`` objects, https://kubernetes.io/docs/reference/using-api/api-concepts/):
the next N requests matching verb/resource/name/namespace fail, wait, or have their watch cut;
from Python on the fixture and over HTTP at ``/_emulator/faults`` for other processes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.rawhttp import call, watch_lines

pytestmark = [pytest.mark.integration, pytest.mark.emulator_only]


def test_next_n_requests_fail(kubeapi: RunningKubeApi, core: Any) -> None:
    core.create_namespaced_secret("default", {"metadata": {"name": "s"}})
    kubeapi.fault("get", "secrets", name="s", status=503, reason="ServiceUnavailable", times=2)
    for _ in range(2):
        with pytest.raises(ApiException) as info:
            core.read_namespaced_secret("s", "default")
        assert info.value.status == 503
    assert core.read_namespaced_secret("s", "default").metadata.name == "s"
    assert kubeapi.faults.pending() == []


def test_matching_is_by_verb_resource_and_namespace(kubeapi: RunningKubeApi, core: Any) -> None:
    kubeapi.fault("create", "configmaps", namespace="b", status=500)
    core.create_namespaced_config_map("a", {"metadata": {"name": "c"}})  # other namespace
    core.create_namespaced_secret("b", {"metadata": {"name": "c"}})  # other resource
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("b", {"metadata": {"name": "c"}})
    assert info.value.status == 500


def test_delay(kubeapi: RunningKubeApi, core: Any) -> None:
    kubeapi.fault("list", "secrets", delay=0.3)
    start = time.monotonic()
    core.list_namespaced_secret("default")
    assert time.monotonic() - start >= 0.3


def test_faults_over_http(kubeapi: RunningKubeApi, core: Any) -> None:
    url = f"{kubeapi.url}/_emulator/faults"
    status, rule, _ = call(
        url, "POST", {"verb": "patch", "resource": "secrets/status", "status": 409}
    )
    assert status == 201 and rule["times"] == 1
    assert len(call(url)[1]) == 1
    assert call(url, "POST", {"verb": "fly", "resource": "secrets", "status": 1})[0] == 400
    assert call(url, "DELETE")[0] == 200
    assert call(url)[1] == []


def test_watch_cut_after_events(kubeapi: RunningKubeApi, core: Any) -> None:
    for name in ("a", "b", "c"):
        core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    kubeapi.fault("watch", "configmaps", cut_after=2)
    url = f"{kubeapi.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=30"
    _, events = watch_lines(url, timeout=10)  # ends early: the server cut it
    assert [e["object"]["metadata"]["name"] for e in events] == ["a", "b"]


def test_cut_open_watches(kubeapi: RunningKubeApi) -> None:
    url = f"{kubeapi.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=30"
    result: list[Any] = []
    reader = threading.Thread(target=lambda: result.append(watch_lines(url, timeout=10)))
    reader.start()
    deadline = time.monotonic() + 5
    while kubeapi.cut_watches("configmaps") == 0:
        assert time.monotonic() < deadline, "the watch never opened"
        time.sleep(0.02)
    reader.join(timeout=5)
    assert not reader.is_alive() and result[0][1] == []


def test_status_reason_follows_the_code(kubeapi: RunningKubeApi) -> None:
    kubeapi.fault("list", "secrets", status=429)
    status, body, headers = call(f"{kubeapi.url}/api/v1/namespaces/default/secrets")
    assert status == 429 and body["reason"] == "TooManyRequests"
    assert headers["Retry-After"] == "1" and body["details"]["retryAfterSeconds"] == 1
