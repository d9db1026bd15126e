"""delete, as https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/ and
https://kubernetes.io/docs/concepts/architecture/garbage-collection/ describe: an object with
finalizers first gets a deletionTimestamp and goes when its finalizers are gone; dependents
named by ownerReferences are deleted in the background after their owner (kept, without the
reference, with propagationPolicy Orphan); preconditions give 409."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

pytestmark = pytest.mark.integration


def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _missing(core: Any, name: str) -> bool:
    try:
        core.read_namespaced_config_map(name, "default")
    except ApiException as exc:
        return bool(exc.status == 404)
    return False


def _owned(name: str, owner: Any) -> dict[str, Any]:
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": owner.metadata.name,
        "uid": owner.metadata.uid,
    }
    return {"metadata": {"name": name, "ownerReferences": [ref]}}


def test_finalizers_hold_the_object_until_removed(core: Any) -> None:
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "c", "finalizers": ["kubeapi.test/hold"]}}
    )
    core.delete_namespaced_config_map("c", "default")
    held = core.read_namespaced_config_map("c", "default")
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as info:  # no new finalizers once deleting
        core.patch_namespaced_config_map(
            "c", "default", {"metadata": {"finalizers": ["kubeapi.test/hold", "x/y"]}}
        )
    assert info.value.status == 422
    core.patch_namespaced_config_map("c", "default", {"metadata": {"finalizers": None}})
    assert _missing(core, "c")


def test_background_cascade(core: Any) -> None:
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map("default", _owned("child", owner))
    grandchild_owner = core.read_namespaced_config_map("child", "default")
    core.create_namespaced_config_map("default", _owned("grandchild", grandchild_owner))
    other = core.create_namespaced_config_map("default", {"metadata": {"name": "other"}})
    shared = _owned("shared", owner)
    shared["metadata"]["ownerReferences"].append(
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "other", "uid": other.metadata.uid}
    )
    core.create_namespaced_config_map("default", shared)
    core.delete_namespaced_config_map("owner", "default")
    _until(lambda: _missing(core, "child") and _missing(core, "grandchild"))
    # A dependent with another live owner stays, without the reference to the gone one.
    kept = core.read_namespaced_config_map("shared", "default")
    assert [r.name for r in kept.metadata.owner_references] == ["other"]


def test_orphan_keeps_dependents(core: Any) -> None:
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map("default", _owned("child", owner))
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Orphan")
    assert _missing(core, "owner")
    child = core.read_namespaced_config_map("child", "default")
    assert child.metadata.owner_references is None


def test_foreground_deletes_dependents_too(core: Any) -> None:
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map("default", _owned("child", owner))
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Foreground")
    _until(lambda: _missing(core, "child") and _missing(core, "owner"))


def test_preconditions(core: Any) -> None:
    made = core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    with pytest.raises(ApiException) as info:
        core.delete_namespaced_config_map(
            "c", "default", body={"preconditions": {"resourceVersion": "1"}}
        )
    assert info.value.status == 409
    core.delete_namespaced_config_map(
        "c", "default", body={"preconditions": {"uid": made.metadata.uid}}
    )
    assert _missing(core, "c")


def test_delete_collection(core: Any) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_config_map(
            "default", {"metadata": {"name": name, "labels": {"app": app}}}
        )
    core.delete_collection_namespaced_config_map("default", label_selector="app=x")
    assert [i.metadata.name for i in core.list_namespaced_config_map("default").items] == ["c"]


def test_dependent_written_after_its_owner_is_gone_is_collected(core: Any) -> None:
    # https://kubernetes.io/docs/concepts/architecture/garbage-collection/: the collector deletes a
    # dependent whose owners are all absent, e.g. one a controller wrote from a stale read of an
    # owner deleted meanwhile.
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "gone-owner"}})
    core.delete_namespaced_config_map("gone-owner", "default")
    core.create_namespaced_config_map("default", _owned("late", owner))
    _until(lambda: _missing(core, "late"))
    live = core.create_namespaced_config_map("default", {"metadata": {"name": "live-owner"}})
    core.create_namespaced_config_map("default", _owned("kept", live))
    time.sleep(0.2)
    assert not _missing(core, "kept"), "a dependent with a live owner stays"
