"""CustomResourceDefinitions
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/):
objects are validated against the openAPIV3Schema (422 with field causes), unknown fields are
pruned, defaults applied, ``nullable`` and ``x-kubernetes-int-or-string`` honoured; the status
subresource exists only when declared; deleting the CRD deletes its objects."""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

pytestmark = pytest.mark.integration
k8s: Any = kubernetes  # the client's own annotations are partial; tests use it untyped

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 0},
                "color": {"type": "string", "enum": ["red", "blue"], "default": "blue"},
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def crd(*, status: bool) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": copy.deepcopy(SCHEMA)},
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.kubeapi.test"},
        "spec": {
            "group": "kubeapi.test",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [version],
        },
    }


def gadget(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "kubeapi.test/v1",
        "kind": "Gadget",
        "metadata": {"name": name},
        "spec": spec,
    }


def _register(api_client: Any, *, status: bool) -> None:
    k8s.client.ApiextensionsV1Api(api_client).create_custom_resource_definition(crd(status=status))


def _create(custom: Any, name: str, spec: dict[str, Any]) -> Any:
    return custom.create_namespaced_custom_object(
        "kubeapi.test", "v1", "default", "gadgets", gadget(name, spec)
    )


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({}, "spec.size"),
        ({"size": "three"}, "spec.size"),
        ({"size": -1}, "spec.size"),
        ({"size": 1, "color": "green"}, "spec.color"),
        ({"size": 1, "port": 1.5}, "spec.port"),
        ({"size": 1, "labels": {"a": 1}}, "spec.labels.a"),
    ],
    ids=["required", "type", "minimum", "enum", "int-or-string", "additional-properties"],
)
def test_schema_violations_are_422(
    api_client: Any, custom: Any, spec: dict[str, Any], field: str
) -> None:
    _register(api_client, status=True)
    with pytest.raises(ApiException) as info:
        _create(custom, "g", spec)
    assert info.value.status == 422
    status = json.loads(str(info.value.body))
    assert status["reason"] == "Invalid"
    assert field in [c["field"] for c in status["details"]["causes"]]


def test_valid_objects_are_pruned_and_defaulted(api_client: Any, custom: Any) -> None:
    _register(api_client, status=True)
    made = _create(
        custom,
        "g",
        {"size": 1, "port": "http", "note": None, "unknown": 1, "extra": {"any": {"x": 1}}},
    )
    assert made["spec"] == {
        "size": 1,
        "port": "http",
        "note": None,
        "color": "blue",
        "extra": {"any": {"x": 1}},
    }
    assert made["metadata"]["generation"] == 1
    assert _create(custom, "h", {"size": 2, "port": 8080})["spec"]["port"] == 8080


def test_status_subresource_when_declared(api_client: Any, custom: Any) -> None:
    _register(api_client, status=True)
    _create(custom, "g", {"size": 1})
    done = custom.patch_namespaced_custom_object_status(
        "kubeapi.test", "v1", "default", "gadgets", "g", {"status": {"ready": True}}
    )
    assert done["status"] == {"ready": True} and done["metadata"]["generation"] == 1
    ignored = custom.patch_namespaced_custom_object(
        "kubeapi.test", "v1", "default", "gadgets", "g", {"status": {"ready": False}}
    )
    assert ignored["status"] == {"ready": True}
    with pytest.raises(ApiException) as info:
        custom.patch_namespaced_custom_object_status(
            "kubeapi.test", "v1", "default", "gadgets", "g", {"status": {"ready": "yes"}}
        )
    assert info.value.status == 422


def test_without_status_subresource_status_is_plain_data(api_client: Any, custom: Any) -> None:
    _register(api_client, status=False)
    _create(custom, "g", {"size": 1})
    with pytest.raises(ApiException) as info:
        custom.patch_namespaced_custom_object_status(
            "kubeapi.test", "v1", "default", "gadgets", "g", {"status": {"ready": True}}
        )
    assert info.value.status == 404
    patched = custom.patch_namespaced_custom_object(
        "kubeapi.test", "v1", "default", "gadgets", "g", {"status": {"ready": True}}
    )
    assert patched["status"] == {"ready": True}
    assert patched["metadata"]["generation"] == 2  # without the subresource, status is content


def test_deleting_the_crd_deletes_its_objects(api_client: Any, custom: Any) -> None:
    _register(api_client, status=True)
    _create(custom, "g", {"size": 1})
    k8s.client.ApiextensionsV1Api(api_client).delete_custom_resource_definition(
        "gadgets.kubeapi.test"
    )
    with pytest.raises(ApiException) as info:
        custom.list_namespaced_custom_object("kubeapi.test", "v1", "default", "gadgets")
    assert info.value.status == 404
    _register(api_client, status=True)
    assert (
        custom.list_namespaced_custom_object("kubeapi.test", "v1", "default", "gadgets")["items"]
        == []
    )
