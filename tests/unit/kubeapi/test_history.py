"""Property: list at version R, then replay the watch history after R, gives the current state.

This is the contract every informer relies on
(https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
for any sequence of creates, updates and deletes, a client that listed at some point and then
applied the events after that list's resourceVersion sees exactly what a fresh list shows; and
once the history it needs has left the window, it gets 410 instead of a silent gap.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.kubeapi.cluster import Cluster
from sandbox.kubeapi.errors import ApiError

Op = tuple[str, str, str]  # (verb, name, value)
ops = st.lists(
    st.tuples(st.sampled_from(["put", "delete"]), st.sampled_from("abcd"), st.sampled_from("xyz")),
    max_size=40,
)


def _apply(cluster: Cluster, op: Op) -> None:
    rt = cluster.type_of("", "v1", "configmaps")
    verb, name, value = op
    exists = cluster.store.get(rt.key, "ns", name) is not None
    if verb == "put" and exists:
        cluster.patch(rt, "ns", name, "application/merge-patch+json", {"data": {"v": value}})
    elif verb == "put":
        cluster.create(rt, "ns", {"metadata": {"name": name}, "data": {"v": value}})
    elif exists:
        cluster.delete(rt, "ns", name, {})


def _state(items: Any) -> dict[str, Any]:
    return {o["metadata"]["name"]: (o["metadata"]["resourceVersion"], o.get("data")) for o in items}


@settings(max_examples=40, deadline=None)
@given(before=ops, after=ops)
def test_list_then_watch_equals_list(before: list[Op], after: list[Op]) -> None:
    cluster = Cluster(window=1000)
    rt = cluster.type_of("", "v1", "configmaps")
    for op in before:
        _apply(cluster, op)
    listed = cluster.list(rt, "ns")
    seen = _state(listed["items"])
    for op in after:
        _apply(cluster, op)
    for event in cluster.store.hub.since(rt.key, int(listed["metadata"]["resourceVersion"])):
        name = event.obj["metadata"]["name"]
        if event.type == "DELETED":
            del seen[name]
        else:
            seen[name] = (event.obj["metadata"]["resourceVersion"], event.obj.get("data"))
    assert seen == _state(cluster.list(rt, "ns")["items"])


@settings(max_examples=25, deadline=None)
@given(after=st.lists(st.sampled_from("abcd"), min_size=1, max_size=12))
def test_history_older_than_the_window_is_gone(after: list[str]) -> None:
    window = 5
    cluster = Cluster(window=window)
    rt = cluster.type_of("", "v1", "configmaps")
    start = int(cluster.list(rt, "ns")["metadata"]["resourceVersion"])
    for i, name in enumerate(after):
        _apply(cluster, ("put", name, str(i)))  # a new value each time: every write is an event
    if len(after) <= window:
        assert len(list(cluster.store.hub.since(rt.key, start))) == len(after)
    else:
        with pytest.raises(ApiError) as info:
            list(cluster.store.hub.since(rt.key, start))
        assert info.value.code == 410
