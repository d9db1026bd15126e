"""Watch, as https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
describes it: from a resourceVersion, newline-delimited JSON with ``Content-Type:
application/json``; ``resourceVersion`` unset or "0" starts with the current state as ADDED;
``timeoutSeconds`` ends the stream; bookmarks
(https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks); a version older
than the window is 410 Gone (https://kubernetes.io/docs/reference/using-api/api-concepts/#410-gone-responses),
sent as an ERROR event; an object leaving a selector is DELETED for that watch."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.rawhttp import watch_lines

pytestmark = pytest.mark.integration
k8s: Any = kubernetes  # the client's own annotations are partial; tests use it untyped


def _events(core: Any, count: int = 0, **kwargs: Any) -> list[tuple[str, str]]:
    """The first ``count`` events of a watch (the server ends it after 5 s at the latest)."""
    watch: Any = k8s.watch.Watch()
    seen = []
    timeout = 5 if count else 1
    for event in watch.stream(
        core.list_namespaced_config_map, "default", timeout_seconds=timeout, **kwargs
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == count:
            watch.stop()
    return seen


def test_watch_from_a_version_sees_later_changes_only(core: Any) -> None:
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "two"}})
    core.patch_namespaced_config_map("two", "default", {"data": {"k": "v"}})
    core.delete_namespaced_config_map("one", "default")
    events = _events(core, 3, resource_version=first.metadata.resource_version)
    assert events == [("ADDED", "two"), ("MODIFIED", "two"), ("DELETED", "one")]


@pytest.mark.parametrize("rv", ["", "0"], ids=["unset", "zero"])
def test_watch_without_version_starts_with_current_state(
    kubeapi: RunningKubeApi, core: Any, rv: str
) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "two"}})
    core.delete_namespaced_config_map("one", "default")
    url = f"{kubeapi.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
    content_type, events = watch_lines(url, count=1)
    assert content_type == "application/json"
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "two")]


def test_timeout_and_bookmarks(kubeapi: RunningKubeApi, core: Any) -> None:
    made = core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    rv = made.metadata.resource_version
    url = (
        f"{kubeapi.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1"
        f"&resourceVersion={rv}&allowWatchBookmarks=true"
    )
    _, events = watch_lines(url, timeout=5)  # the server ends the stream after 1 s
    assert events and events[-1]["type"] == "BOOKMARK"
    bookmark = events[-1]["object"]
    assert bookmark["kind"] == "ConfigMap" and int(bookmark["metadata"]["resourceVersion"]) >= int(
        rv
    )


def test_send_initial_events_ends_with_a_marked_bookmark(
    kubeapi: RunningKubeApi, core: Any
) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    url = (
        f"{kubeapi.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1"
        "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    )
    _, events = watch_lines(url, count=2)
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


@pytest.mark.parametrize("kubeapi", [{"window": 5}], indirect=True)
def test_version_older_than_the_window_is_gone(kubeapi: RunningKubeApi, core: Any) -> None:
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "c0"}})
    for i in range(1, 10):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
    url = (
        f"{kubeapi.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1"
        f"&resourceVersion={first.metadata.resource_version}"
    )
    _, events = watch_lines(url)  # the server ends the stream after the error
    assert [e["type"] for e in events] == ["ERROR"]
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
    # The official client turns that event into ApiException(410), which tells it to relist.
    with pytest.raises(ApiException) as info:
        _events(core, 1, resource_version=first.metadata.resource_version)
    assert info.value.status == 410
    # Within the window, a watch still works.
    recent = core.list_namespaced_config_map("default").metadata.resource_version
    assert _events(core, resource_version=recent) == []


def test_selector_watch_sees_objects_enter_and_leave(core: Any) -> None:
    made = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "x", "labels": {"on": "no"}}}
    )
    core.patch_namespaced_config_map("x", "default", {"metadata": {"labels": {"on": "yes"}}})
    core.patch_namespaced_config_map("x", "default", {"data": {"k": "v"}})
    core.patch_namespaced_config_map("x", "default", {"metadata": {"labels": {"on": "no"}}})
    events = _events(
        core, 3, resource_version=made.metadata.resource_version, label_selector="on=yes"
    )
    assert events == [("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x")]


def test_watch_one_object_by_field_selector(core: Any) -> None:
    made = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    events = _events(
        core, 1, resource_version=made.metadata.resource_version, field_selector="metadata.name=a"
    )
    assert events == [("MODIFIED", "a")]


@pytest.mark.emulator_only
def test_a_client_that_leaves_is_forgotten(kubeapi: RunningKubeApi) -> None:
    # Bounded memory: a watch whose client disconnected is dropped within a second or two, even
    # when no event arrives to fail a write.
    url = f"{kubeapi.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=60"
    with urllib.request.urlopen(url, timeout=10):
        deadline = time.monotonic() + 5
        while not kubeapi.open_watches():
            assert time.monotonic() < deadline, "the watch never opened"
            time.sleep(0.02)
    deadline = time.monotonic() + 5
    while kubeapi.open_watches():
        assert time.monotonic() < deadline, "the server kept a watch whose client left"
        time.sleep(0.05)
