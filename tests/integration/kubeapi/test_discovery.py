"""Discovery, as https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api
describes: /version, /api (core versions), /api/v1 (groupVersion "v1"), /apis, /apis/G, /apis/G/V
with kind, verbs, namespaced flag and subresources; a CRD adds its resource."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.rawhttp import call

pytestmark = pytest.mark.integration

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.kubeapi.test"},
    "spec": {
        "group": "kubeapi.test",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def _resources(url: str) -> dict[str, dict[str, Any]]:
    status, body, _ = call(url)
    assert status == 200
    return {r["name"]: r for r in body["resources"]}


def test_version_and_core_group(kubeapi: RunningKubeApi) -> None:
    status, version, _ = call(f"{kubeapi.url}/version")
    assert status == 200 and version["major"] == "1" and version["gitVersion"].startswith("v1.")
    _, api, _ = call(f"{kubeapi.url}/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    _, v1, _ = call(f"{kubeapi.url}/api/v1")
    # kmock reported "/v1" here, which made kubectl blind to Secrets.
    assert v1["kind"] == "APIResourceList" and v1["groupVersion"] == "v1"
    resources = {r["name"]: r for r in v1["resources"]}
    for name in (
        "namespaces",
        "secrets",
        "configmaps",
        "events",
        "services",
        "endpoints",
        "serviceaccounts",
        "pods",
    ):
        assert name in resources
    assert resources["secrets"]["kind"] == "Secret" and resources["secrets"]["namespaced"] is True
    assert resources["namespaces"]["namespaced"] is False
    assert set(resources["secrets"]["verbs"]) >= {
        "create",
        "get",
        "list",
        "watch",
        "patch",
        "delete",
    }
    assert "serviceaccounts/token" in resources and resources["serviceaccounts/token"]["verbs"] == [
        "create"
    ]
    assert "pods/status" in resources and "secrets/status" not in resources


@pytest.mark.parametrize(
    ("group", "version", "plural", "kind"),
    [
        ("apps", "v1", "deployments", "Deployment"),
        ("apps", "v1", "statefulsets", "StatefulSet"),
        ("apps", "v1", "daemonsets", "DaemonSet"),
        ("events.k8s.io", "v1", "events", "Event"),
        ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition"),
        ("authentication.k8s.io", "v1", "tokenreviews", "TokenReview"),
        ("coordination.k8s.io", "v1", "leases", "Lease"),
        ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    ],
    ids=[
        "deployments",
        "statefulsets",
        "daemonsets",
        "events",
        "crds",
        "tokenreviews",
        "leases",
        "endpointslices",
    ],
)
def test_groups(kubeapi: RunningKubeApi, group: str, version: str, plural: str, kind: str) -> None:
    _, groups, _ = call(f"{kubeapi.url}/apis")
    assert groups["kind"] == "APIGroupList"
    by_name = {g["name"]: g for g in groups["groups"]}
    assert by_name[group]["preferredVersion"]["groupVersion"] == f"{group}/{version}"
    _, one, _ = call(f"{kubeapi.url}/apis/{group}")
    assert one["kind"] == "APIGroup" and one["name"] == group
    resources = _resources(f"{kubeapi.url}/apis/{group}/{version}")
    assert resources[plural]["kind"] == kind


def test_unknown_group_is_a_404_status(kubeapi: RunningKubeApi) -> None:
    status, body, _ = call(f"{kubeapi.url}/apis/nope.example/v1")
    assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"


def test_crd_adds_its_resource(kubeapi: RunningKubeApi) -> None:
    status, _, _ = call(f"{kubeapi.url}/apis/kubeapi.test/v1")
    assert status == 404
    status, crd, _ = call(
        f"{kubeapi.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "POST", WIDGET_CRD
    )
    assert status == 201
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    resources = _resources(f"{kubeapi.url}/apis/kubeapi.test/v1")
    assert resources["widgets"]["kind"] == "Widget" and resources["widgets"]["namespaced"] is True
    assert "widgets/status" in resources
    _, groups, _ = call(f"{kubeapi.url}/apis")
    assert "kubeapi.test" in {g["name"] for g in groups["groups"]}
    status, _, _ = call(
        f"{kubeapi.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.kubeapi.test",
        "DELETE",
    )
    assert status == 200
    assert call(f"{kubeapi.url}/apis/kubeapi.test/v1")[0] == 404
