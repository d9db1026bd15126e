"""Poisoned objects: hostile templates in one namespace must not starve anyone else.

The attack (issue: "One object must not starve the controller"): a tenant creates SealedSecrets
whose templates loop for ever or build gigabytes. Before render budgets, four nested
``range(100000)`` loops took all four workers (other tenants' objects were never reconciled, even
after a restart, since kopf resumes every object on start), and ``'a' * 400000000`` took the
controller from 77 MB to 2.3 GB.

Here four hostile SealedSecrets (one per kind of blow-up: nested loops, string repetition, a
format width, deep recursion) sit in one namespace, and 50 good ones in five others, with the
real controller. The good ones must all be Ready (their Secrets holding exactly their values)
within 30 s, the controller's peak RSS (``VmHWM``) stay under 250 MB, and each hostile one end
``Ready=False InvalidSpec`` naming the field and the bound. Then the controller is restarted
with the good Secrets deleted while it was down: on start it resumes all 54 objects, and the same
holds for the new process.
"""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from sealer.api import SECRETS
from sealer.keys import load_recipient
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.integration.security.conftest import (
    Cluster,
    Controller,
    StartController,
    wait_for,
)

pytestmark = pytest.mark.integration

HOSTILE_NS = "mallory"
GOOD_NAMESPACES = [f"tenant-{i}" for i in range(5)]
GOOD_PER_NAMESPACE = 10
READY_WITHIN = 30.0
RSS_LIMIT_KB = 250 * 1024

# (name, template key, template, the bound its message names)
HOSTILE = [
    ("nested-loops", "loops",
     "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "over budget: more than 100000 steps"),
    ("string-bomb", "bomb", "{{ 'a' * 400000000 }}{{ password }}",
     "over budget: a string longer than 1048576 characters"),
    ("format-width", "padded", "{{ '%0999999999d'|format(password|length) }}",
     "over budget: a width or count above 1024"),
    ("deep-recursion", "deep",
     "{% macro f(n) %}{{ f(n + 1) }}{{ password }}{% endmacro %}{{ f(0) }}",
     "over budget: macros nested deeper than 32"),
]  # fmt: skip


def vm_hwm_kb(controller: Controller) -> int:
    """Peak resident set size of the controller process, from the kernel."""
    for line in Path(f"/proc/{controller.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")


def seal_one(cert: bytes, namespace: str, name: str, data: dict[str, bytes]) -> dict[str, Any]:
    return seal_secret(
        PlainSecret(name=name, namespace=namespace, data=data), [load_recipient(cert)]
    )


def good_converged(cluster: Cluster, expected: dict[tuple[str, str], dict[str, bytes]]) -> bool:
    for (namespace, name), data in expected.items():
        condition = cluster.ready(namespace, name)
        if not condition or condition["status"] != "True":
            return False
        secret = cluster.secret(namespace, name)
        if secret is None:
            return False
        got = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        if got != {**data, "dsn": b"pg://" + data["user"] + b":" + data["pass"] + b"@db"}:
            return False
    return True


def hostile_verdicts(cluster: Cluster) -> dict[str, tuple[str, str, str]]:
    verdicts = {}
    for name, _, _, _ in HOSTILE:
        condition = cluster.ready(HOSTILE_NS, name)
        if condition and condition["status"] == "False":
            verdicts[name] = (condition["status"], condition["reason"], condition["message"])
    return verdicts


def assert_hostile_invalid(cluster: Cluster) -> None:
    verdicts = wait_for(
        lambda: (v := hostile_verdicts(cluster)) and len(v) == len(HOSTILE) and v,
        timeout=READY_WITHIN,
        what="every hostile SealedSecret Ready=False",
    )
    for name, key, _, bound in HOSTILE:
        _, reason, message = verdicts[name]
        assert reason == "InvalidSpec", (name, reason, message)
        assert f"SealedSecret {HOSTILE_NS}/{name}: template.data.{key}: " in message, message
        assert bound in message, message
        assert cluster.secret(HOSTILE_NS, name) is None, "nothing is written for a hostile object"


def test_hostile_templates_do_not_starve_other_tenants(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    controller = start_controller("--workers", "4")
    cert = controller.get("/v1/cert.pem")
    for name, key, template, _ in HOSTILE:
        password = f"poison-{secrets.token_hex(8)}".encode()
        plaintexts.append(password)
        doc = seal_one(cert, HOSTILE_NS, name, {"password": password})
        doc["spec"]["template"]["data"] = {key: template}
        cluster.apply_sealed(doc)
    expected: dict[tuple[str, str], dict[str, bytes]] = {}
    for namespace in GOOD_NAMESPACES:
        for index in range(GOOD_PER_NAMESPACE):
            data = {
                "user": f"u-{secrets.token_hex(6)}".encode(),
                "pass": secrets.token_hex(16).encode(),
            }
            plaintexts.extend(data.values())
            doc = seal_one(cert, namespace, f"app-{index}", data)
            doc["spec"]["template"]["data"] = {"dsn": "pg://{{ user }}:{{ pass }}@db"}
            cluster.apply_sealed(doc)
            expected[(namespace, f"app-{index}")] = data
    created = time.monotonic()
    wait_for(lambda: good_converged(cluster, expected), timeout=READY_WITHIN,
             what="all 50 good SealedSecrets Ready with their values")  # fmt: skip
    took_first = time.monotonic() - created
    assert_hostile_invalid(cluster)
    rss_first = vm_hwm_kb(controller)
    assert rss_first < RSS_LIMIT_KB, f"controller peak RSS {rss_first / 1024:.0f} MB"

    # A restart: kopf resumes every object, the poisoned ones included. Deleting the good
    # Secrets while the controller is down makes the new process prove it reaches them.
    controller.stop()
    for namespace, name in expected:
        cluster.core.delete_namespaced_secret(name, namespace)
    assert all(cluster.secret(ns, name) is None for ns, name in expected)
    restarted = start_controller("--workers", "4")
    started = time.monotonic()
    wait_for(lambda: good_converged(cluster, expected), timeout=READY_WITHIN,
             what="all 50 good Secrets back after the restart")  # fmt: skip
    took_second = time.monotonic() - started
    assert_hostile_invalid(cluster)
    wait_for(
        lambda: (
            restarted.metric("sealops_unseal_total", reason="InvalidSpec", result="error")
            >= len(HOSTILE)
        ),
        timeout=READY_WITHIN,
        what="the restarted controller rendering every hostile object again",
    )
    rss_second = vm_hwm_kb(restarted)
    assert rss_second < RSS_LIMIT_KB, f"restarted controller peak RSS {rss_second / 1024:.0f} MB"
    print(
        f"good ones ready in {took_first:.1f} s, then {took_second:.1f} s after the restart; "
        f"controller VmHWM {rss_first / 1024:.0f} MB, then {rss_second / 1024:.0f} MB"
    )
    assert not any(
        s["metadata"]["name"] in {h[0] for h in HOSTILE}
        for s in cluster.kube.list(SECRETS, HOSTILE_NS)
    )
