"""A real kopf operator, as a separate process over HTTP, reacts to objects that the
``kubernetes`` client creates: it creates, updates and deletes Secrets for Widgets. kopf relies
on discovery, list+watch from a resourceVersion, merge patches of annotations and finalizers,
the status subresource, Events and deletion with finalizers
(https://kubernetes.io/docs/reference/using-api/api-concepts/,
https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from tests.integration.kubeapi.widget_crd import WIDGET_CRD

pytestmark = pytest.mark.integration
k8s: Any = kubernetes  # the client's own annotations are partial; tests use it untyped

ROOT = Path(__file__).resolve().parents[3]
OPERATOR = Path(__file__).with_name("operator_app.py")


def _until(what: str, check: Callable[[], Any], log: Path, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(
                f"operator did not {what} in {timeout:g}s; its log:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.05)


# kopf lists and watches one namespace's URL, or the cluster-wide one (as a controller does).
SCOPES = {"namespaced": ["--namespace", "default"], "cluster-wide": ["--all-namespaces"]}


@pytest.fixture(params=sorted(SCOPES))
def operator(
    request: pytest.FixtureRequest, kubeconfig: Path, tmp_path: Path, api_client: Any
) -> Iterator[Path]:
    k8s.client.ApiextensionsV1Api(api_client).create_custom_resource_definition(WIDGET_CRD)
    log = tmp_path / "operator.log"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"}
    scope = SCOPES[request.param]
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kopf", "run", "--standalone", *scope, str(OPERATOR)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _secret_color(core: Any) -> str | None:
    try:
        secret = core.read_namespaced_secret("w1-data", "default")
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return base64.b64decode(secret.data["color"]).decode()


def _gone(read: Callable[[], Any]) -> bool:
    try:
        read()
    except ApiException as exc:
        return bool(exc.status == 404)
    return False


def test_operator_creates_updates_and_deletes(operator: Path, core: Any, custom: Any) -> None:
    widget = {
        "apiVersion": "kubeapi.test/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"color": "red"},
    }
    custom.create_namespaced_custom_object("kubeapi.test", "v1", "default", "widgets", widget)
    _until("create the Secret", lambda: _secret_color(core) == "red", operator)
    secret = core.read_namespaced_secret("w1-data", "default")
    owner = secret.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.controller) == ("Widget", "w1", True)
    _until(
        "post an Event",
        lambda: (
            core.list_namespaced_event("default", field_selector="involvedObject.name=w1").items
        ),
        operator,
    )

    def read_widget() -> Any:
        return custom.get_namespaced_custom_object("kubeapi.test", "v1", "default", "widgets", "w1")

    status = _until(
        "record its result", lambda: read_widget().get("status", {}).get("created"), operator
    )
    assert status == {"secret": "w1-data"}
    assert "kubeapi.test/operator" in read_widget()["metadata"]["finalizers"]

    custom.patch_namespaced_custom_object(
        "kubeapi.test", "v1", "default", "widgets", "w1", {"spec": {"color": "blue"}}
    )
    _until("update the Secret", lambda: _secret_color(core) == "blue", operator)

    custom.delete_namespaced_custom_object("kubeapi.test", "v1", "default", "widgets", "w1")
    _until(
        "delete the Secret",
        lambda: _gone(lambda: core.read_namespaced_secret("w1-data", "default")),
        operator,
    )
    _until("release the Widget", lambda: _gone(read_widget), operator)
