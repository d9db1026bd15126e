"""The status subresource
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#status-subresource):
writes to the main resource ignore status, writes to /status touch only status; Secrets
(https://kubernetes.io/docs/concepts/configuration/secret/): ``stringData`` folded into base64
``data``, ``immutable: true`` refuses data changes with 422; Events (core/v1 and
events.k8s.io/v1, https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/)
are accepted, with generateName."""

from __future__ import annotations

import base64
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

pytestmark = pytest.mark.integration
k8s: Any = kubernetes  # the client's own annotations are partial; tests use it untyped

DEPLOYMENT = {
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
        },
    },
    "status": {"replicas": 99},
}


def test_status_is_its_own_subresource(api_client: Any) -> None:
    apps = k8s.client.AppsV1Api(api_client)
    created = apps.create_namespaced_deployment("default", DEPLOYMENT)
    assert created.status.replicas is None  # create cannot set status
    done = apps.patch_namespaced_deployment_status(
        "web", "default", {"status": {"replicas": 2}, "spec": {"replicas": 7}}
    )
    assert done.status.replicas == 2
    assert done.spec.replicas is None  # /status ignores the spec part
    main = apps.patch_namespaced_deployment(
        "web", "default", {"status": {"replicas": 5}, "spec": {"replicas": 3}}
    )
    assert main.status.replicas == 2  # the main resource ignores the status part
    assert main.spec.replicas == 3


def test_string_data_is_folded_into_data(core: Any) -> None:
    made = core.create_namespaced_secret(
        "default",
        {
            "metadata": {"name": "s"},
            "data": {
                "a": base64.b64encode(b"old").decode(),
                "b": base64.b64encode(b"keep").decode(),
            },
            "stringData": {"a": "new", "c": "plain"},
        },
    )
    assert made.string_data is None
    decoded = {k: base64.b64decode(v).decode() for k, v in made.data.items()}
    assert decoded == {"a": "new", "b": "keep", "c": "plain"}  # stringData wins
    assert made.type == "Opaque"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_secret(
            "default", {"metadata": {"name": "bad"}, "data": {"k": "not base64!"}}
        )
    assert info.value.status == 400


def test_immutable_secret_refuses_data_changes(core: Any) -> None:
    core.create_namespaced_secret(
        "default", {"metadata": {"name": "s"}, "stringData": {"k": "v"}, "immutable": True}
    )
    for patch in ({"stringData": {"k": "other"}}, {"data": {"new": "eA=="}}, {"immutable": False}):
        with pytest.raises(ApiException) as info:
            core.patch_namespaced_secret("s", "default", patch)
        assert info.value.status == 422, patch
        assert "field is immutable" in str(info.value.body)
    # Metadata stays writable.
    labelled = core.patch_namespaced_secret("s", "default", {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.labels == {"x": "y"}


def test_core_and_events_k8s_io_events(core: Any, api_client: Any) -> None:
    involved = {"kind": "Secret", "namespace": "default", "name": "s", "apiVersion": "v1"}
    first = core.create_namespaced_event(
        "default",
        {
            "metadata": {"generateName": "s."},
            "involvedObject": involved,
            "reason": "Sealed",
            "message": "ok",
            "type": "Normal",
        },
    )
    assert first.metadata.name.startswith("s.") and len(first.metadata.name) == 7
    listed = core.list_namespaced_event("default", field_selector="involvedObject.name=s")
    assert [e.reason for e in listed.items] == ["Sealed"]
    events = k8s.client.EventsV1Api(api_client)
    second = events.create_namespaced_event(
        "default",
        {
            "metadata": {"generateName": "s."},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "sealops.dev/controller",
            "reportingInstance": "one",
            "action": "Unseal",
            "reason": "Unsealed",
            "regarding": involved,
            "type": "Normal",
        },
    )
    assert second.metadata.name.startswith("s.")
    assert [e.reason for e in events.list_namespaced_event("default").items] == ["Unsealed"]


@pytest.mark.parametrize(
    ("secret_type", "string_data", "ok"),
    [
        ("kubernetes.io/tls", {"tls.crt": "c", "tls.key": "k"}, True),
        ("kubernetes.io/tls", {"tls.crt": "c"}, False),
        ("kubernetes.io/dockerconfigjson", {".dockerconfigjson": '{"auths": {}}'}, True),
        ("kubernetes.io/dockerconfigjson", {".dockerconfigjson": "not json"}, False),
        ("kubernetes.io/basic-auth", {"username": "u"}, True),
        ("kubernetes.io/basic-auth", {"token": "t"}, False),
        ("kubernetes.io/ssh-auth", {}, False),
        ("Opaque", {"bad key!": "v"}, False),
        ("sealops.dev/anything", {"k": "v"}, True),
    ],
    ids=["tls", "tls-without-key", "dockerconfigjson", "dockerconfigjson-not-json", "basic-auth",
         "basic-auth-without-user-or-password", "ssh-auth-without-key", "bad-data-key",
         "custom-type"],
)  # fmt: skip
def test_secret_types_need_their_keys(
    core: Any, secret_type: str, string_data: dict[str, str], ok: bool
) -> None:
    # https://kubernetes.io/docs/concepts/configuration/secret/#secret-types
    body = {"metadata": {"name": "s"}, "type": secret_type, "stringData": string_data}
    if ok:
        assert core.create_namespaced_secret("default", body).type == secret_type
        return
    with pytest.raises(ApiException) as info:
        core.create_namespaced_secret("default", body)
    assert info.value.status == 422
