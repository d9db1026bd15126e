"""get and list, as https://kubernetes.io/docs/reference/using-api/api-concepts/#collections
defines them: lists have ``kind: XList`` and the collection's resourceVersion; label selectors
(https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors) and
field selectors (https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/);
chunking with limit/continue; errors are ``Status`` objects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.rawhttp import call

pytestmark = pytest.mark.integration

LABELS = {
    "a": {"app": "web", "tier": "front"},
    "b": {"app": "web", "tier": "back"},
    "c": {"app": "db"},
    "d": {},
}


@pytest.fixture
def labelled(core: Any) -> None:
    for name, labels in LABELS.items():
        core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": labels}})
    core.create_namespaced_config_map(
        "other", {"metadata": {"name": "e", "labels": {"app": "web"}}}
    )


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web", ["a", "b"]),
        ("app!=web", ["c", "d"]),  # != also matches objects without the label
        ("tier in (front,back)", ["a", "b"]),
        ("tier notin (front)", ["b", "c", "d"]),  # notin too
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=web,tier=back", ["b"]),
        ("app in (web, db),!tier", ["c"]),
    ],
    ids=[
        "equals",
        "double-equals",
        "not-equals",
        "in",
        "notin",
        "exists",
        "not-exists",
        "and",
        "set-and-not",
    ],
)
@pytest.mark.usefixtures("labelled")
def test_label_selectors(core: Any, selector: str, expected: list[str]) -> None:
    listed = core.list_namespaced_config_map("default", label_selector=selector)
    assert [i.metadata.name for i in listed.items] == expected


@pytest.mark.usefixtures("labelled")
def test_field_selectors_and_all_namespaces(core: Any) -> None:
    assert [
        i.metadata.name
        for i in core.list_namespaced_config_map("default", field_selector="metadata.name=b").items
    ] == ["b"]
    everywhere = core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace!=default"
    )
    assert [(i.metadata.namespace, i.metadata.name) for i in everywhere.items] == [("other", "e")]
    with pytest.raises(ApiException) as info:
        core.list_namespaced_config_map("default", field_selector="spec.nope=1")
    assert info.value.status == 400 and "field label not supported" in str(info.value.body)


@pytest.mark.usefixtures("labelled")
def test_list_shape_and_chunks(kubeapi: RunningKubeApi) -> None:
    status, page, _ = call(f"{kubeapi.url}/api/v1/namespaces/default/configmaps?limit=3")
    assert status == 200 and page["kind"] == "ConfigMapList" and page["apiVersion"] == "v1"
    assert [i["metadata"]["name"] for i in page["items"]] == ["a", "b", "c"]
    token = page["metadata"]["continue"]
    _, rest, _ = call(
        f"{kubeapi.url}/api/v1/namespaces/default/configmaps?limit=3&continue={token}"
    )
    assert [i["metadata"]["name"] for i in rest["items"]] == ["d"]
    assert "continue" not in rest["metadata"]


def test_get_missing_is_a_status(core: Any) -> None:
    with pytest.raises(ApiException) as info:
        core.read_namespaced_secret("nope", "default")
    status = json.loads(str(info.value.body))
    assert info.value.status == 404
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'secrets "nope" not found',
        "reason": "NotFound",
        "code": 404,
        "details": {"name": "nope", "kind": "secrets"},
    }


def test_chunks_across_namespaces(core: Any) -> None:
    # Namespaces whose names sort differently once joined with "/" ("a" < "a-b" but "a-b/" < "a/").
    for namespace in ("a", "a-b", "b"):
        for name in ("x", "y"):
            core.create_namespaced_config_map(namespace, {"metadata": {"name": name}})
    seen, token = [], None
    while True:
        page = core.list_config_map_for_all_namespaces(limit=2, _continue=token)
        seen += [(i.metadata.namespace, i.metadata.name) for i in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == [(ns, n) for ns in ("a", "a-b", "b") for n in ("x", "y")]
