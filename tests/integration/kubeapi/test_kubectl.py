"""kubectl (client-side ``apply``, ``get`` as object, list and table, ``get -w``, ``delete``)
against the emulator, as against a cluster: apply is GET then POST or a strategic-merge (built-in
kinds) / JSON-merge (custom resources) PATCH carrying the last-applied annotation
(https://kubernetes.io/docs/tasks/manage-kubernetes-objects/declarative-config/); delete waits
for the object to go with a watch on its name. Skipped where kubectl is not installed."""

from __future__ import annotations

import base64
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.kubeapi.test_crds import crd

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: s1
  labels: {app: demo}
stringData:
  password: {password}
"""
GADGET = """
apiVersion: kubeapi.test/v1
kind: Gadget
metadata:
  name: g1
spec:
  size: {size}
"""


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path) -> None:
        self.base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*self.base, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout

    def watch(self, *args: str) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
        process = subprocess.Popen(
            [*self.base, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line.strip())

        threading.Thread(target=pump, daemon=True).start()
        return process, lines


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    return Kubectl(kubeconfig, tmp_path / "cache")


@pytest.fixture
def watching() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def _next(lines: queue.Queue[str], want: str, timeout: float = 10) -> None:
    """Wait for a line that is ``want``, or (for table output) starts with its columns."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"kubectl get -w never printed {want!r}"
        line = lines.get(timeout=left)
        if line == want or line.split()[: len(want.split())] == want.split():
            return


def test_secret_apply_get_watch_delete(
    kubectl: Kubectl, watching: list[subprocess.Popen[str]]
) -> None:
    assert "created" in kubectl("apply", "-f", "-", stdin=SECRET.replace("{password}", "one"))
    assert "configured" in kubectl("apply", "-f", "-", stdin=SECRET.replace("{password}", "two"))
    secret = json.loads(kubectl("get", "secret", "s1", "-o", "json"))
    assert base64.b64decode(secret["data"]["password"]) == b"two"
    assert "kubectl.kubernetes.io/last-applied-configuration" in secret["metadata"]["annotations"]
    listed = yaml.safe_load(kubectl("get", "secrets", "-o", "yaml"))
    assert [i["metadata"]["name"] for i in listed["items"]] == ["s1"]
    header, row = kubectl("get", "secrets").splitlines()  # the columns a real server prints
    assert header.split() == ["NAME", "TYPE", "DATA", "AGE"] and row.split()[:3] == [
        "s1",
        "Opaque",
        "1",
    ]
    process, lines = kubectl.watch(
        "get", "secrets", "-w", "-o", "jsonpath={.metadata.name}:{.metadata.labels.step}{'\\n'}"
    )
    watching.append(process)
    _next(lines, "s1:")
    kubectl("label", "secret", "s1", "step=labelled")
    _next(lines, "s1:labelled")
    assert 'secret "s1" deleted' in kubectl("delete", "secret", "s1")
    assert kubectl("get", "secrets", "-o", "name") == ""


def test_custom_resource_apply_get_watch_delete(
    kubectl: Kubectl, watching: list[subprocess.Popen[str]]
) -> None:
    definition = crd(status=True)
    definition["spec"]["versions"][0]["additionalPrinterColumns"] = [
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"}
    ]
    kubectl("apply", "-f", "-", stdin=json.dumps(definition))
    assert "created" in kubectl("apply", "-f", "-", stdin=GADGET.replace("{size}", "1"))
    assert "configured" in kubectl("apply", "-f", "-", stdin=GADGET.replace("{size}", "2"))
    assert json.loads(kubectl("get", "gadget", "g1", "-o", "json"))["spec"] == {
        "size": 2,
        "color": "blue",
    }
    listed = json.loads(kubectl("get", "gadgets", "-o", "json"))
    assert [i["metadata"]["name"] for i in listed["items"]] == ["g1"]
    header, row = kubectl("get", "gadgets").splitlines()
    assert header.split() == ["NAME", "SIZE", "AGE"] and row.split()[:2] == ["g1", "2"]
    process, lines = kubectl.watch(
        "get", "gadgets", "-w", "-o", "jsonpath={.metadata.name}:{.spec.size}{'\\n'}"
    )
    watching.append(process)
    # Default output: the watch's events are Tables too, so the CRD's Size column stays.
    table_process, table_lines = kubectl.watch("get", "gadgets", "-w")
    watching.append(table_process)
    _next(lines, "g1:2")
    _next(table_lines, "NAME SIZE AGE")
    _next(table_lines, "g1 2")
    kubectl("apply", "-f", "-", stdin=GADGET.replace("{size}", "3"))
    _next(lines, "g1:3")
    _next(table_lines, "g1 3")
    assert 'gadget.kubeapi.test "g1" deleted' in kubectl("delete", "gadget", "g1")
    assert kubectl("get", "gadgets", "-o", "name") == ""


def test_generator_commands_send_protobuf(kubectl: Kubectl) -> None:
    # kubectl create <kind> POSTs application/vnd.kubernetes.protobuf; the emulator decodes the
    # kinds this project's demo and docs use.
    kubectl("create", "namespace", "demo")
    kubectl("create", "secret", "generic", "app", "-n", "demo", "--from-literal=password=pw")
    kubectl("create", "configmap", "settings", "-n", "demo", "--from-literal=mode=fast")
    kubectl("create", "serviceaccount", "worker", "-n", "demo")
    secret = json.loads(kubectl("get", "secret", "app", "-n", "demo", "-o", "json"))
    assert (secret["type"], base64.b64decode(secret["data"]["password"])) == ("Opaque", b"pw")
    assert "generateName" not in secret["metadata"]
    assert json.loads(kubectl("get", "configmap", "settings", "-n", "demo", "-o", "json"))[
        "data"
    ] == {"mode": "fast"}
    token = kubectl("create", "token", "worker", "-n", "demo", "--audience", "vault").strip()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "system:serviceaccount:demo:worker" and claims["aud"] == ["vault"]
    done = subprocess.run(
        [*kubectl.base, "create", "deployment", "web", "--image=nginx"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0 and "send application/json" in done.stderr
