"""Fault tests: the real controller process, the API emulator, OpenBao; things go wrong on purpose.

Reuses the controller fixtures (``cluster``, ``start_controller``, ``plaintexts`` with the leak
scan) and the VaultSecret ones (``fresh_env``…). Adds what every fault test asserts the same way:

- :func:`sealed_batch` seals N SealedSecrets with random values (registered as plaintexts);
- :func:`converged` is true once every SealedSecret of a namespace is Ready=True for its current
  generation and its Secret holds exactly the expected bytes, owned by that SealedSecret;
- :class:`DeletionWatch` records every Secret deleted in a namespace over the whole test, from a
  watch of its own that resumes after the emulator cuts it (and relists on 410), so "no Secret
  was deleted" is observed, not inferred.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import secrets
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from sealer.api import SECRETS
from sealer.keys import load_recipient
from sealer.kube import KubeConflict
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.integration.controller.conftest import (
    SEALED,
    Cluster,
    Controller,
    StartController,
    cluster,
    plaintexts,
    start_controller,
    wait_for,
)
from tests.integration.vaultsecrets.conftest import Env, fresh_bao, fresh_env

__all__ = [
    "SEALED",
    "Cluster",
    "Controller",
    "DeletionWatch",
    "Env",
    "StartController",
    "cluster",
    "converged",
    "fresh_bao",
    "fresh_env",
    "plaintexts",
    "replace_spec",
    "sealed_batch",
    "secret_uids",
    "start_controller",
    "wait_for",
]

MANAGED = "sealops.dev/managed-by=sealops"


def sealed_batch(
    cert_pem: bytes, namespace: str, names: list[str], plaintexts: list[bytes]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, bytes]]]:
    """SealedSecrets for ``names`` (two random values each) and the bytes each Secret must hold."""
    recipient = load_recipient(cert_pem)
    docs, expected = [], {}
    for name in names:
        data = {
            "user": f"u-{secrets.token_hex(8)}".encode(),
            "pass": secrets.token_hex(16).encode(),
        }
        plaintexts.extend(data.values())
        docs.append(
            seal_secret(PlainSecret(name=name, namespace=namespace, data=data), [recipient])
        )
        expected[name] = data
    return docs, expected


def replace_spec(cluster: Cluster, namespace: str, name: str, spec: dict[str, Any]) -> None:
    """A user's edit of a SealedSecret's spec: read, change, write; again on 409 (the controller
    may write the status in between, which changes the resourceVersion)."""
    for _ in range(10):
        current = cluster.kube.get(SEALED, namespace, name)
        current["spec"] = spec
        try:
            cluster.kube.replace(SEALED, namespace, name, current)
            return
        except KubeConflict:
            continue
    raise AssertionError(f"SealedSecret {namespace}/{name}: 10 conflicts in a row")


def _ready(body: dict[str, Any]) -> dict[str, Any] | None:
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return dict(condition)
    return None


def not_converged(
    cluster: Cluster, namespace: str, expected: dict[str, dict[str, bytes]]
) -> list[str]:
    """What still differs from the goal (empty when converged), one entry per object."""
    sealed = {b["metadata"]["name"]: b for b in cluster.kube.list(SEALED, namespace)}
    managed = {
        s["metadata"]["name"]: s
        for s in cluster.kube.list(SECRETS, namespace, label_selector=MANAGED)
    }
    problems = [f"{n}: an unexpected SealedSecret" for n in sealed.keys() - expected.keys()]
    for name, data in sorted(expected.items()):
        body, secret = sealed.get(name), managed.get(name)
        if body is None:
            problems.append(f"{name}: no SealedSecret")
            continue
        ready = _ready(body)
        status = body.get("status") or {}
        if ready is None or ready["status"] != "True":
            problems.append(f"{name}: Ready {ready and (ready['status'], ready.get('reason'))}")
        elif status.get("observedGeneration") != body["metadata"].get("generation"):
            problems.append(f"{name}: status of an older generation")
        if secret is None:
            problems.append(f"{name}: no Secret")
            continue
        got = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        if got != data:
            problems.append(f"{name}: Secret data differs")
        owners = [o for o in secret["metadata"].get("ownerReferences") or [] if o.get("controller")]
        if [o.get("uid") for o in owners] != [body["metadata"]["uid"]]:
            problems.append(f"{name}: Secret not owned by its SealedSecret ({owners})")
    return problems


def converged(cluster: Cluster, namespace: str, expected: dict[str, dict[str, bytes]]) -> bool:
    return not not_converged(cluster, namespace, expected)


def wait_converged(
    cluster: Cluster, namespace: str, expected: dict[str, dict[str, bytes]], *, timeout: float
) -> None:
    try:
        wait_for(lambda: converged(cluster, namespace, expected), timeout=timeout, what="converged")
    except AssertionError as exc:
        left = not_converged(cluster, namespace, expected)
        raise AssertionError(f"{exc}; still: {left[:10]} ({len(left)} in all)") from None


def secret_uids(cluster: Cluster, namespace: str) -> dict[str, str]:
    return {
        s["metadata"]["name"]: s["metadata"]["uid"]
        for s in cluster.kube.list(SECRETS, namespace, label_selector=MANAGED)
    }


@dataclass
class DeletionWatch:
    """Every Secret DELETED in ``namespace`` while it runs (a watch that resumes after cuts)."""

    cluster: Cluster
    namespace: str
    deleted: list[str] = field(default_factory=list)
    relists: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _uids: dict[str, str] = field(default_factory=dict)
    _conn: http.client.HTTPConnection | None = None

    def __post_init__(self) -> None:
        self._rv = self._relist()
        self._thread = threading.Thread(target=self._run, name="deletion-watch", daemon=True)
        self._thread.start()

    def _relist(self) -> str:
        # A relist cannot see deletions in between as events: compare uids instead.
        kube = self.cluster.kube
        now = {
            s["metadata"]["uid"]: s["metadata"]["name"] for s in kube.list(SECRETS, self.namespace)
        }
        self.deleted += [name for uid, name in self._uids.items() if uid not in now]
        self._uids = now
        status, body = self._get(f"/api/v1/namespaces/{self.namespace}/secrets?limit=1")
        return str(body["metadata"]["resourceVersion"]) if status == 200 else "0"

    def _get(self, path: str) -> tuple[int, Any]:
        kubeapi = self.cluster.kubeapi
        conn = http.client.HTTPConnection(kubeapi.host, kubeapi.port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def _run(self) -> None:
        kubeapi = self.cluster.kubeapi
        while not self._stop.is_set():
            query = urllib.parse.urlencode({"watch": "1", "resourceVersion": self._rv,
                                            "timeoutSeconds": "30"})  # fmt: skip
            conn = http.client.HTTPConnection(kubeapi.host, kubeapi.port, timeout=40)
            self._conn = conn
            with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
                conn.request("GET", f"/api/v1/namespaces/{self.namespace}/secrets?{query}")
                response = conn.getresponse()
                if response.status != 200:
                    self._rv = self._relist()
                    continue
                while line := response.readline():
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        self.relists += 1
                        self._rv = self._relist()
                        break
                    meta = obj.get("metadata") or {}
                    self._rv = str(meta.get("resourceVersion") or self._rv)
                    if event.get("type") == "DELETED":
                        self.deleted.append(str(meta.get("name")))
                        self._uids.pop(str(meta.get("uid")), None)
                    elif meta.get("uid"):
                        self._uids[str(meta["uid"])] = str(meta.get("name"))
            conn.close()

    def close(self) -> list[str]:
        """Stop watching; returns the names of the Secrets deleted meanwhile."""
        self._stop.set()
        sock = self._conn.sock if self._conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # unblocks the reader thread's readline
        self._thread.join(timeout=10)
        self._relist()
        return self.deleted
