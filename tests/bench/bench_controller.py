"""1,000 SealedSecrets with 3 values each, through the real controller and the API emulator.

How it is counted: the emulator runs as its own process (``python -m sandbox.kubeapi --port 0``,
:class:`sandbox.kubeapi.harness.KubeApiProcess`),
the project's CRDs are applied, and one RSA-4096 key Secret is created before the controller
(``python -m controller``, another process) starts, so it unseals with that key and generates
none. Every SealedSecret is sealed before the clock starts (random 32-byte values); then they are
POSTed one after another over one keep-alive connection, and a watch counts them until every one
is Ready=True. Wall time from the first POST to all Ready gives objects/s.

Judged figures, all read from the controller's own ``/metrics`` and ``/proc``:
- private-key operations per value (``sealops_private_key_operations_total`` /
  ``sealops_values_unsealed_total``): 1.0 when the key hint is used, target <= 1.05;
- unseal CPU per value (``sealops_unseal_cpu_seconds_total`` / values) as a ratio to one raw
  RSA-4096 OAEP-SHA256 decryption, the median of per-call thread CPU time over 300 calls in this
  process, half just before and half just after the run: target <= 1.3;
- the controller's peak resident memory (``VmHWM``): target < 250 MB;
- a restart: a new controller over the 1,000 synced SealedSecrets makes 0 private-key operations
  (each one is confirmed from its Secret's source fingerprint); reported with the time until all
  are confirmed, as a ratio to the first sync's wall time, and its Secret writes.
Reported: the controller's and the emulator's whole-process CPU (utime+stime) per object, the
wall time, and values unsealed per value sealed (above 1.0 when objects are reconciled again:
kopf re-runs the creation handler when the event of its own status patch arrives later than
``settings.persistence.consistency_timeout``, which happens when its event loop falls behind).

Every process started here is stopped in ``finally``, also when the run fails or the bench gets
SIGTERM (turned into ``SystemExit`` while it runs).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from controller.keyring import key_secret
from sandbox.apply import apply_crds, ensure_namespace
from sandbox.controller import Controller, metric_sum, start_controller
from sandbox.kubeapi.harness import KubeApiProcess
from sealer.api import SECRETS
from sealer.envelope import Scope, decode_blob, label_for
from sealer.keys import KeyPair, generate_keypair
from sealer.kubeclient import connect
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.bench.report import Row, ratio_row

BENCH = "controller"
OBJECTS, VALUES = 1_000, 3
NAMESPACE, KEY_NAMESPACE = "bench", "sealops-system"
SEALED_PATH = f"/apis/sealops.dev/v1alpha1/namespaces/{NAMESPACE}/sealedsecrets"
TIMEOUT = 600.0  # seconds for everything to become Ready
RAW_CALLS = 300


class Api:
    """A tiny keep-alive JSON client for the emulator (the fastest a client can create)."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=60)

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else None

    def create(self, path: str, body: object) -> None:
        status, answer = self.call("POST", path, body)
        if status != 201:
            raise RuntimeError(f"POST {path}: {status} {answer}")

    def close(self) -> None:
        self.conn.close()


@contextlib.contextmanager
def _controller(kubeconfig: Path, workdir: Path, name: str = "controller") -> Iterator[Controller]:
    controller = start_controller(
        kubeconfig,
        "--namespace", KEY_NAMESPACE,
        "--log-level", "warning",
        log_path=workdir / f"{name}.log",
    )  # fmt: skip
    try:
        yield controller
    finally:
        controller.stop()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def _cpu_seconds(pid: int) -> float:
    # Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _setup(kubeconfig: Path, pair: KeyPair) -> None:
    kube = connect(kubeconfig=str(kubeconfig))
    apply_crds(kube)
    for ns in (NAMESPACE, KEY_NAMESPACE):
        ensure_namespace(kube, ns)
    kube.create(SECRETS, KEY_NAMESPACE, key_secret(pair, name="bench-key", namespace=KEY_NAMESPACE))


def _sealed_docs(pair: KeyPair) -> list[dict[str, Any]]:
    recipient = pair.recipient
    return [
        seal_secret(
            PlainSecret(
                name=f"s-{i:04d}",
                namespace=NAMESPACE,
                data={f"v{j}": os.urandom(32) for j in range(VALUES)},
            ),
            [recipient],
        )
        for i in range(OBJECTS)
    ]


class ReadyWatch:
    """Counts SealedSecrets that became Ready=True, from a watch stream read on a thread.

    A watch rather than polling the list: listing 1,000 objects several times a second costs the
    emulator (and so the controller, which shares the machine) more than the work measured.
    """

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        self.conn.request("GET", f"{SEALED_PATH}?watch=1&timeoutSeconds={int(TIMEOUT)}")
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            raise RuntimeError(f"watch: {self.response.status}")
        self.ready: set[str] = set()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, name="ready-watch", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while line := self.response.readline():
                event = json.loads(line)
                obj = event.get("object") or {}
                conditions = (obj.get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
                    self.ready.add(obj["metadata"]["name"])
                    if len(self.ready) >= OBJECTS:
                        break
        self.done.set()

    def close(self) -> None:
        self.conn.close()


def _raw_decrypt_cpu(pair: KeyPair, doc: dict[str, Any], calls: int) -> list[float]:
    """Thread CPU seconds of ``calls`` RSA-4096 OAEP-SHA256 decryptions with cryptography."""
    meta = doc["metadata"]
    label = label_for(Scope.STRICT, meta["namespace"], meta["name"])
    blob = next(iter(doc["spec"]["encryptedData"].values()))
    wrapped = decode_blob(blob)[2:514]  # version + key-length header, then the RSA block
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)
    key = pair.private_key
    assert len(key.decrypt(wrapped, oaep)) == 32
    samples = []
    for _ in range(calls):
        start = time.thread_time()
        key.decrypt(wrapped, oaep)
        samples.append(time.thread_time() - start)
    return samples


def _restart(kubeconfig: Path, workdir: Path) -> tuple[float, float, float]:
    """A new controller over the synced objects: seconds until it confirmed every one (from the
    Secrets' source fingerprints), its private-key operations then, and its Secret writes."""
    with _controller(kubeconfig, workdir, "restarted") as again:
        start = time.perf_counter()
        deadline = start + TIMEOUT
        while True:
            metrics = again.get("/metrics").decode()
            confirmed = metric_sum(metrics, "sealops_unseal_skipped_total")
            opened = metric_sum(metrics, "sealops_values_unsealed_total") / VALUES
            if confirmed + opened >= OBJECTS:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"restart: only {confirmed:.0f}/{OBJECTS} confirmed")
            time.sleep(0.1)
        took = time.perf_counter() - start
        writes = metric_sum(metrics, "sealops_secret_writes_total")
        return took, metric_sum(metrics, "sealops_private_key_operations_total"), writes


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so every ``finally`` below still runs


def run() -> list[Row]:
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        return _run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run() -> list[Row]:
    pair = generate_keypair(now=dt.datetime.now(dt.UTC), key_size=4096, name="bench")
    docs = _sealed_docs(pair)
    # Half the baseline before the run and half after, so a change in machine load during the
    # run (other work on these shared machines) does not bias the ratio one way.
    raw_samples = _raw_decrypt_cpu(pair, docs[0], RAW_CALLS // 2)
    with tempfile.TemporaryDirectory(prefix="bench-controller-") as tmp:
        workdir = Path(tmp)
        kubeconfig = workdir / "kubeconfig"
        with KubeApiProcess(kubeconfig=kubeconfig) as emulator:
            host, port = emulator.host, emulator.port
            api = Api(host, port)
            try:
                _setup(kubeconfig, pair)
                with _controller(kubeconfig, workdir) as controller:
                    watch = ReadyWatch(host, port)
                    try:
                        cpu_before = _cpu_seconds(controller.pid)
                        api_cpu_before = _cpu_seconds(emulator.pid)
                        start = time.perf_counter()
                        for doc in docs:
                            api.create(SEALED_PATH, doc)
                        created_s = time.perf_counter() - start
                        if not watch.done.wait(TIMEOUT) or len(watch.ready) < OBJECTS:
                            raise RuntimeError(f"only {len(watch.ready)}/{OBJECTS} Ready")
                        wall = time.perf_counter() - start
                    finally:
                        watch.close()
                    cpu = _cpu_seconds(controller.pid) - cpu_before
                    api_cpu = _cpu_seconds(emulator.pid) - api_cpu_before
                    # One scrape: the counters move on while redundant reconciles still run.
                    metrics = controller.get("/metrics").decode()
                    values = metric_sum(metrics, "sealops_values_unsealed_total")
                    key_ops = metric_sum(metrics, "sealops_private_key_operations_total")
                    unseal_cpu = metric_sum(metrics, "sealops_unseal_cpu_seconds_total")
                    peak_mb = _peak_rss_mb(controller.pid)
                restart = _restart(kubeconfig, workdir)
            finally:
                api.close()
    raw = statistics.median(raw_samples + _raw_decrypt_cpu(pair, docs[0], RAW_CALLS // 2))
    per_value = unseal_cpu / values
    return [
        Row(
            BENCH,
            "SealedSecrets Ready per second",
            OBJECTS / wall,
            "obj/s",
            detail=f"{OBJECTS} x {VALUES} values in {wall:.1f}s wall "
            f"(all POSTed in {created_s:.1f}s); CPU per object: controller "
            f"{cpu / OBJECTS * 1e3:.1f} ms, emulator {api_cpu / OBJECTS * 1e3:.1f} ms",
        ),
        ratio_row(
            BENCH,
            "private-key ops per value",
            key_ops / values,
            limit=1.05,
            detail=f"{key_ops:.0f} ops for {values:.0f} values",
        ),
        ratio_row(
            BENCH,
            "unseal CPU per value / raw RSA-4096 decrypt",
            per_value / raw,
            limit=1.3,
            detail=f"unseal {per_value * 1e3:.2f} ms/value, raw {raw * 1e3:.2f} ms",
        ),
        Row(
            BENCH,
            "values unsealed per value sealed",
            values / (OBJECTS * VALUES),
            "x",
            detail="above 1: objects reconciled more than once (repeated work)",
        ),
        Row(
            BENCH,
            "controller peak RSS",
            peak_mb,
            "MB",
            "< 250",
            peak_mb < 250,
            "VmHWM of the controller process",
        ),
        *_restart_rows(restart, wall),
    ]


def _restart_rows(restart: tuple[float, float, float], first_wall: float) -> list[Row]:
    took, key_ops, writes = restart
    return [
        Row(
            BENCH,
            "restart: private-key ops and Secret writes over synced objects",
            key_ops + writes,
            "",
            "== 0",
            key_ops == 0 and writes == 0,
            f"{OBJECTS} synced SealedSecrets, a new controller: {key_ops:.0f} private-key "
            f"operations, {writes:.0f} Secret writes",
        ),
        Row(
            BENCH,
            "restart: time to confirm all / first sync",
            took / first_wall,
            "x",
            detail=f"{took:.1f}s from start (process start-up excluded) vs {first_wall:.1f}s",
        ),
    ]
