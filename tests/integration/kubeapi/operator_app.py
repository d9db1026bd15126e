"""A tiny kopf operator used only by ``test_kopf_operator.py``: each Widget gets a Secret.

Run as its own process (``python -m kopf run --standalone``) with ``KUBECONFIG`` pointing at the
emulator: on create it makes ``<name>-data`` (owned by the Widget) holding ``spec.color``, on a
spec change it patches that Secret, on delete it deletes it (kopf's finalizer holds the Widget
until then). Not product code: it only proves a real kopf process works against the emulator.
"""

from __future__ import annotations

from typing import Any

import kopf
import kubernetes

k8s: Any = kubernetes  # the client's own annotations are partial; use it untyped


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    k8s.config.load_kube_config()
    settings.persistence.finalizer = "kubeapi.test/operator"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="kubeapi.test")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="kubeapi.test")
    settings.watching.server_timeout = 30


def _core() -> Any:
    return k8s.client.CoreV1Api()


@kopf.on.create("kubeapi.test", "v1", "widgets")
def created(**kwargs: Any) -> dict[str, str]:
    # kopf passes everything by keyword; taking **kwargs keeps mypy happy with kopf's protocols.
    spec, name, namespace, body = (
        kwargs["spec"],
        kwargs["name"],
        kwargs["namespace"],
        kwargs["body"],
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{name}-data", "labels": {"kubeapi.test/widget": name}},
        "stringData": {"color": spec.get("color", "")},
    }
    kopf.adopt(secret, owner=body)
    _core().create_namespaced_secret(namespace, secret)
    kopf.info(body, reason="SecretCreated", message=f"created {name}-data")  # a core/v1 Event
    return {"secret": f"{name}-data"}


@kopf.on.update("kubeapi.test", "v1", "widgets", field="spec")
def updated(**kwargs: Any) -> None:
    spec, name, namespace = kwargs["spec"], kwargs["name"], kwargs["namespace"]
    _core().patch_namespaced_secret(
        f"{name}-data", namespace, {"stringData": {"color": spec.get("color", "")}}
    )


@kopf.on.delete("kubeapi.test", "v1", "widgets")
def deleted(**kwargs: Any) -> None:
    name, namespace = kwargs["name"], kwargs["namespace"]
    try:
        _core().delete_namespaced_secret(f"{name}-data", namespace)
    except k8s.client.exceptions.ApiException as exc:
        if exc.status != 404:
            raise
