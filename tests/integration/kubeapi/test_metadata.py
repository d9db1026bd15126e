"""Server-set metadata, as the API conventions define it
(https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#metadata
and https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions):
uid, one resourceVersion counter across all resources, generation bumped on spec changes only
(and absent for Secrets and ConfigMaps), creationTimestamp, the namespace from the URL,
generateName."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.rawhttp import call

pytestmark = pytest.mark.integration
k8s: Any = kubernetes  # the client's own annotations are partial; tests use it untyped


def test_uid_timestamp_and_one_counter(core: Any) -> None:
    secret = core.create_namespaced_secret("default", {"metadata": {"name": "a"}, "data": {}})
    config = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "b"}, "data": {"k": "v"}}
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", secret.metadata.uid)
    assert secret.metadata.uid != config.metadata.uid
    assert secret.metadata.creation_timestamp is not None
    # One counter for the whole server: a later write to another resource has a larger version.
    assert int(config.metadata.resource_version) > int(secret.metadata.resource_version)
    listed = core.list_namespaced_secret("default")
    assert int(listed.metadata.resource_version) >= int(config.metadata.resource_version)


def test_generation_bumps_on_spec_change_only(api_client: Any) -> None:
    apps: Any = k8s.client.AppsV1Api(api_client)
    body = {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
            },
        },
    }
    created = apps.create_namespaced_deployment("default", body)
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment(
        "web", "default", {"metadata": {"labels": {"x": "y"}}}
    )
    assert labelled.metadata.generation == 1
    assert labelled.metadata.resource_version != created.metadata.resource_version
    scaled = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2
    status = apps.patch_namespaced_deployment_status("web", "default", {"status": {"replicas": 3}})
    assert status.metadata.generation == 2


def test_secrets_have_no_generation(core: Any) -> None:
    # As on a real server: kinds without a reconciled spec carry no metadata.generation.
    secret = core.create_namespaced_secret("default", {"metadata": {"name": "s"}, "data": {}})
    assert secret.metadata.generation is None
    updated = core.patch_namespaced_secret("s", "default", {"stringData": {"k": "v"}})
    assert updated.metadata.generation is None


def test_namespace_comes_from_the_url(core: Any) -> None:
    created = core.create_namespaced_config_map("team-a", {"metadata": {"name": "c"}})
    assert created.metadata.namespace == "team-a"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(
            "team-a", {"metadata": {"name": "d", "namespace": "team-b"}}
        )
    assert info.value.status == 400
    assert "does not match the namespace" in str(info.value.body)


def test_generate_name(core: Any) -> None:
    first = core.create_namespaced_config_map("default", {"metadata": {"generateName": "cfg-"}})
    second = core.create_namespaced_config_map("default", {"metadata": {"generateName": "cfg-"}})
    assert re.fullmatch(r"cfg-[a-z0-9]{5}", first.metadata.name)
    assert first.metadata.name != second.metadata.name
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("default", {"metadata": {}})
    assert info.value.status == 422


def test_client_cannot_set_server_fields(core: Any) -> None:
    created = core.create_namespaced_secret(
        "default",
        {
            "metadata": {
                "name": "x",
                "uid": "mine",
                "resourceVersion": "999",
                "creationTimestamp": "2000-01-01T00:00:00Z",
            }
        },
    )
    assert created.metadata.uid != "mine"
    assert created.metadata.creation_timestamp.year != 2000


@pytest.mark.parametrize(
    "metadata",
    [
        {"labels": {"bad key!": "v"}},
        {"labels": {"k": "x" * 64}},
        {"labels": {"k": "-starts-with-dash"}},
        {"labels": {"Not_A.Domain/k": "v"}},
        {"annotations": {"k": "x" * (256 * 1024)}},
    ],
    ids=[
        "label-key",
        "label-value-too-long",
        "label-value-chars",
        "label-prefix",
        "annotations-too-big",
    ],
)
def test_labels_and_annotations_are_validated(core: Any, metadata: dict[str, Any]) -> None:
    # https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("default", {"metadata": {"name": "c", **metadata}})
    assert info.value.status == 422
    assert json.loads(str(info.value.body))["reason"] == "Invalid"


def test_secret_size_limit(core: Any) -> None:
    # https://kubernetes.io/docs/concepts/configuration/secret/#restriction-data-size
    with pytest.raises(ApiException) as info:
        core.create_namespaced_secret(
            "default", {"metadata": {"name": "big"}, "stringData": {"k": "x" * (1024 * 1024 + 1)}}
        )
    assert info.value.status == 422
    core.create_namespaced_secret(
        "default", {"metadata": {"name": "ok"}, "stringData": {"k": "x" * 1024 * 1024}}
    )


@pytest.mark.parametrize(
    "refs",
    [
        [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner"}],
        [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "1", "controller": True},
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "b", "uid": "2", "controller": True},
        ],
    ],
    ids=["without-uid", "two-controllers"],
)
def test_owner_references_are_validated(
    kubeapi: RunningKubeApi, refs: list[dict[str, Any]]
) -> None:
    # https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/
    # Raw HTTP: the kubernetes client refuses a reference without uid before sending it.
    body = {"metadata": {"name": "c", "ownerReferences": refs}}
    status, answer, _ = call(f"{kubeapi.url}/api/v1/namespaces/default/configmaps", "POST", body)
    assert status == 422 and answer["reason"] == "Invalid"
