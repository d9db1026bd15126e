"""create, update and patch with optimistic concurrency, as
https://kubernetes.io/docs/reference/using-api/api-concepts/#patch-and-apply and
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#concurrency-control-and-consistency
describe: 409 AlreadyExists on create, 409 Conflict on a stale resourceVersion, updates without
a resourceVersion are unconditional, a write that changes nothing stores nothing; merge patch
(RFC 7386), JSON patch (RFC 6902, a failing ``test`` is 422) and strategic merge patch
(https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/)."""

from __future__ import annotations

import json
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.rawhttp import call

pytestmark = pytest.mark.integration
k8s: Any = kubernetes  # the client's own annotations are partial; tests use it untyped


def test_create_twice_is_already_exists(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    assert info.value.status == 409
    assert json.loads(str(info.value.body))["reason"] == "AlreadyExists"


def test_stale_resource_version_is_a_conflict(core: Any) -> None:
    made = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "c"}, "data": {"v": "1"}}
    )
    stale = made.metadata.resource_version
    made.data = {"v": "2"}
    updated = core.replace_namespaced_config_map("c", "default", made)
    assert int(updated.metadata.resource_version) > int(stale)
    made.data = {"v": "3"}
    made.metadata.resource_version = stale
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("c", "default", made)
    assert info.value.status == 409
    assert json.loads(str(info.value.body))["reason"] == "Conflict"
    assert "the object has been modified" in str(info.value.body)
    # Without a resourceVersion the update is unconditional.
    made.metadata.resource_version = None
    assert core.replace_namespaced_config_map("c", "default", made).data == {"v": "3"}
    # A stale version inside a patch is a conflict too.
    with pytest.raises(ApiException) as info:
        core.patch_namespaced_config_map("c", "default", {"metadata": {"resourceVersion": stale}})
    assert info.value.status == 409


def test_update_of_missing_object_is_not_found(core: Any) -> None:
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("nope", "default", {"metadata": {"name": "nope"}})
    assert info.value.status == 404


def test_no_op_write_keeps_the_version(core: Any) -> None:
    made = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "c"}, "data": {"k": "v"}}
    )
    same = core.patch_namespaced_config_map("c", "default", {"data": {"k": "v"}})
    assert same.metadata.resource_version == made.metadata.resource_version


def test_merge_patch(core: Any) -> None:
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    )
    patched = core.patch_namespaced_config_map("c", "default", {"data": {"a": None, "c": "3"}})
    assert patched.data == {"b": "2", "c": "3"}


def test_json_patch_and_failing_test(kubeapi: RunningKubeApi, core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    url = f"{kubeapi.url}/api/v1/namespaces/default/configmaps/c"
    ops = [
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "replace", "path": "/data/a", "value": "2"},
        {"op": "add", "path": "/data/b", "value": "3"},
    ]
    status, body, _ = call(url, "PATCH", ops, content_type="application/json-patch+json")
    assert status == 200 and body["data"] == {"a": "2", "b": "3"}
    failing = [{"op": "test", "path": "/data/a", "value": "1"}, {"op": "remove", "path": "/data/a"}]
    status, body, _ = call(url, "PATCH", failing, content_type="application/json-patch+json")
    assert status == 422 and body["kind"] == "Status" and body["code"] == 422
    assert core.read_namespaced_config_map("c", "default").data == {"a": "2", "b": "3"}


def test_strategic_merge_patch_merges_named_lists(api_client: Any) -> None:
    apps: Any = k8s.client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(
        "default",
        {
            "metadata": {"name": "web", "finalizers": ["a.example/one"]},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "nginx:1",
                                "env": [{"name": "A", "value": "1"}],
                            },
                            {"name": "sidecar", "image": "envoy:1"},
                        ]
                    },
                },
            },
        },
    )
    patch = {
        "metadata": {"finalizers": ["b.example/two"]},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}]},
                        {"name": "sidecar", "$patch": "delete"},
                    ]
                }
            }
        },
    }
    # The kubernetes client sends a dict patch as strategic merge for built-in kinds.
    patched = apps.patch_namespaced_deployment("web", "default", patch)
    containers = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("web", "nginx:2")]
    assert [(e.name, e.value) for e in containers[0].env] == [("A", "1"), ("B", "2")]
    assert patched.metadata.finalizers == ["a.example/one", "b.example/two"]


def test_strategic_merge_is_refused_for_custom_resources(kubeapi: RunningKubeApi) -> None:
    from tests.integration.kubeapi.test_discovery import WIDGET_CRD

    crds = f"{kubeapi.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert call(crds, "POST", WIDGET_CRD)[0] == 201
    widgets = f"{kubeapi.url}/apis/kubeapi.test/v1/namespaces/default/widgets"
    assert (
        call(
            widgets,
            "POST",
            {"apiVersion": "kubeapi.test/v1", "kind": "Widget", "metadata": {"name": "w"}},
        )[0]
        == 201
    )
    status, body, _ = call(
        f"{widgets}/w", "PATCH", {"spec": {}}, content_type="application/strategic-merge-patch+json"
    )
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


def test_server_side_apply_is_not_emulated(kubeapi: RunningKubeApi, core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    url = f"{kubeapi.url}/api/v1/namespaces/default/configmaps/c?fieldManager=me"
    status, body, _ = call(url, "PATCH", {"data": {}}, content_type="application/apply-patch+yaml")
    assert status == 415 and body["kind"] == "Status"
