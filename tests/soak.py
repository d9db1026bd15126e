"""The soak: many SealedSecrets and VaultSecrets, churned for a while, then timed to convergence.

Shared by the long version (``tests/bench/bench_soak.py``, in ``make bench``: 5,000 + 1,000
objects, 90 s of churn) and the CI one (``tests/integration/reliability/test_soak_small.py``).
The caller brings the servers (emulator, OpenBao, a running controller); :class:`Soak` brings:

- ``setup``: namespaces, an AppRole and a ClusterVaultConnection, the Vault paths (``fields``
  fields each), and the initial objects: SealedSecrets (two random values each, sealed for the
  controller's certificate) and VaultSecrets (one field of one path each, ``refresh``);
- ``churn``: for ``seconds``, random operations at ``rate`` per second: create, update (a new
  sealed value) and delete SealedSecrets; create, re-point and delete VaultSecrets; change Vault
  values. A model keeps what every Secret must hold;
- ``problems``: what still differs from the model (Ready=True for the generation, exact bytes,
  no Secret left for a deleted object, no Secret deleted that should exist);
- ``wait``: polls ``problems`` until empty, returns the seconds it took.

Every value made is appended to ``plaintexts`` (the leak scans search for them).
"""

from __future__ import annotations

import base64
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import kubernetes

from sandbox.openbao import Admin
from sealer.api import CLUSTER_VAULT_CONNECTIONS as CLUSTER_CONNECTIONS
from sealer.api import NAMESPACES, SECRETS, VAULT_SECRETS
from sealer.api import SEALED_SECRETS as SEALED
from sealer.keys import load_recipient
from sealer.kube import KubeConflict, ResourceRef
from sealer.kubeclient import KubeApi
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret

__all__ = ["Soak", "SoakPlan", "custom_objects", "peak_rss_mb"]

MANAGED = "sealops.dev/managed-by=sealops"
# Operation weights during churn.
OPERATIONS = {
    "sealed-create": 20, "sealed-update": 25, "sealed-delete": 15,
    "vault-create": 8, "vault-update": 8, "vault-delete": 6, "vault-value": 18,
}  # fmt: skip


@dataclass(frozen=True)
class SoakPlan:
    sealed: int
    vault: int
    churn_seconds: float
    rate: float  # churn operations per second
    namespaces: int = 5
    paths: int = 50
    fields: int = 4
    refresh: str = "10s"
    prefix: str = "soak"


def custom_objects(kubeconfig: str) -> Any:
    """A ``kubernetes`` CustomObjectsApi on ``kubeconfig``, for the deletes."""
    k8s: Any = kubernetes
    return k8s.client.CustomObjectsApi(k8s.config.new_client_from_config(config_file=kubeconfig))


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory (VmHWM) of a live process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


@dataclass
class Soak:
    plan: SoakPlan
    kube: KubeApi
    admin: Admin
    bao_address: str
    cert_pem: bytes
    plaintexts: list[bytes]
    custom: Any = None  # kubernetes.client.CustomObjectsApi: deletes (KubeApi never deletes)
    seed: int = 7
    sealed: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)
    vault: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # -> path, field
    values: dict[int, dict[str, str]] = field(default_factory=dict)  # path -> field -> value
    deleted: set[tuple[str, str, str]] = field(default_factory=set)  # kind, namespace, name
    operations: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._recipient = load_recipient(self.cert_pem)
        self._serial = 0

    # -- names and values ---------------------------------------------------------------------

    def _namespace(self) -> str:
        return f"{self.plan.prefix}-{self._random.randrange(self.plan.namespaces)}"

    def _name(self, kind: str) -> str:
        self._serial += 1
        return f"{kind}-{self._serial:05d}"

    def _value(self, tag: str) -> str:
        value = f"{tag}-{secrets.token_hex(10)}"
        self.plaintexts.append(value.encode())
        return value

    # -- setup --------------------------------------------------------------------------------

    def setup(self) -> None:
        for n in range(self.plan.namespaces):
            self.kube.create(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": f"{self.plan.prefix}-{n}"}})  # fmt: skip
        for path in range(self.plan.paths):
            self._write_path(path, {f"f{i}": self._value("vv") for i in range(self.plan.fields)})
        policy = f'path "secret/data/{self.plan.prefix}/*" {{capabilities = ["read"]}}'
        self.admin("PUT", f"sys/policies/acl/{self.plan.prefix}", {"policy": policy})
        if "approle/" not in (self.admin("GET", "sys/auth").get("data") or {}):
            self.admin("POST", "sys/auth/approle", {"type": "approle"})
        role = f"auth/approle/role/{self.plan.prefix}"
        self.admin("POST", role, {"token_policies": [self.plan.prefix], "token_ttl": "1h"})
        self.admin("POST", f"{role}/role-id", {"role_id": self.plan.prefix})
        secret_id = secrets.token_hex(16)
        self.plaintexts.append(secret_id.encode())
        self.admin("POST", f"{role}/custom-secret-id", {"secret_id": secret_id})
        self.kube.create(SECRETS, "sealops-system", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{self.plan.prefix}-approle"},
            "data": {"secret-id": base64.b64encode(secret_id.encode()).decode()}})  # fmt: skip
        self.kube.create(CLUSTER_CONNECTIONS, None, {
            "apiVersion": "sealops.dev/v1alpha1", "kind": "ClusterVaultConnection",
            "metadata": {"name": self.plan.prefix},
            "spec": {"address": self.bao_address, "allowedNamespaces": [f"{self.plan.prefix}-*"],
                     "auth": {"appRole": {"roleId": self.plan.prefix,
                                          "secretRef": {"name": f"{self.plan.prefix}-approle",
                                                        "key": "secret-id"}}}}})  # fmt: skip
        for _ in range(self.plan.sealed):
            self.sealed_create()
        for _ in range(self.plan.vault):
            self.vault_create()

    def _write_path(self, path: int, data: dict[str, str]) -> None:
        self.admin.kv_put(f"secret/{self.plan.prefix}/p{path}", data)
        self.values[path] = data

    # -- operations ---------------------------------------------------------------------------

    def _sealed_doc(self, namespace: str, name: str) -> tuple[dict[str, Any], dict[str, bytes]]:
        data = {"user": self._value("su").encode(), "pass": self._value("sp").encode()}
        plain = PlainSecret(name=name, namespace=namespace, data=data)
        return seal_secret(plain, [self._recipient]), data

    def sealed_create(self) -> None:
        namespace, name = self._namespace(), self._name("ss")
        doc, data = self._sealed_doc(namespace, name)
        self.kube.create(SEALED, namespace, doc)
        self.sealed[(namespace, name)] = data

    def sealed_update(self) -> None:
        if not self.sealed:
            return
        namespace, name = self._random.choice(sorted(self.sealed))
        doc, data = self._sealed_doc(namespace, name)
        self._replace_spec(SEALED, namespace, name, doc["spec"])
        self.sealed[(namespace, name)] = data

    def sealed_delete(self) -> None:
        if not self.sealed:
            return
        namespace, name = self._random.choice(sorted(self.sealed))
        self._delete(SEALED, namespace, name)
        del self.sealed[(namespace, name)]
        self.deleted.add(("SealedSecret", namespace, name))

    def _vault_spec(self, path: int, field_index: int) -> dict[str, Any]:
        return {"connectionRef": {"kind": "ClusterVaultConnection", "name": self.plan.prefix},
                "refreshInterval": self.plan.refresh,
                "data": [{"key": "v", "ref": f"secret/{self.plan.prefix}/p{path}#f{field_index}"}]}  # fmt: skip

    def vault_create(self) -> None:
        namespace, name = self._namespace(), self._name("vs")
        path = self._random.randrange(self.plan.paths)
        field_index = self._random.randrange(self.plan.fields)
        self.kube.create(VAULT_SECRETS, namespace, {
            "apiVersion": "sealops.dev/v1alpha1", "kind": "VaultSecret",
            "metadata": {"name": name}, "spec": self._vault_spec(path, field_index)})  # fmt: skip
        self.vault[(namespace, name)] = (path, field_index)

    def vault_update(self) -> None:
        if not self.vault:
            return
        namespace, name = self._random.choice(sorted(self.vault))
        path = self._random.randrange(self.plan.paths)
        field_index = self._random.randrange(self.plan.fields)
        self._replace_spec(VAULT_SECRETS, namespace, name, self._vault_spec(path, field_index))
        self.vault[(namespace, name)] = (path, field_index)

    def vault_delete(self) -> None:
        if not self.vault:
            return
        namespace, name = self._random.choice(sorted(self.vault))
        self._delete(VAULT_SECRETS, namespace, name)
        del self.vault[(namespace, name)]
        self.deleted.add(("VaultSecret", namespace, name))

    def _replace_spec(
        self, ref: ResourceRef, namespace: str, name: str, spec: dict[str, Any]
    ) -> None:
        """Read, change the spec, write; again on 409 (the controller wrote the status between)."""
        for _ in range(10):
            current = self.kube.get(ref, namespace, name)
            current["spec"] = spec
            try:
                self.kube.replace(ref, namespace, name, current)
                return
            except KubeConflict:
                continue
        raise RuntimeError(f"{ref.plural} {namespace}/{name}: 10 conflicts in a row")

    def _delete(self, ref: ResourceRef, namespace: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            ref.group, ref.version, namespace, ref.plural, name
        )

    def vault_value(self) -> None:
        path = self._random.randrange(self.plan.paths)
        data = dict(self.values[path])
        data[f"f{self._random.randrange(self.plan.fields)}"] = self._value("vv")
        self._write_path(path, data)

    def churn(self) -> None:
        """Random operations at ``plan.rate`` per second for ``plan.churn_seconds``."""
        kinds, weights = zip(*OPERATIONS.items(), strict=True)
        start = time.monotonic()
        done = 0
        while (elapsed := time.monotonic() - start) < self.plan.churn_seconds:
            if done >= elapsed * self.plan.rate:
                time.sleep(0.01)
                continue
            kind = self._random.choices(kinds, weights)[0]
            getattr(self, kind.replace("-", "_"))()
            self.operations[kind] += 1
            done += 1

    # -- convergence --------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """What differs from the model now; empty when everything converged."""
        found: list[str] = []
        secrets_now = {
            (s["metadata"]["namespace"], s["metadata"]["name"]): s
            for s in self.kube.list(SECRETS, None, label_selector=MANAGED)
            if s["metadata"]["namespace"].startswith(f"{self.plan.prefix}-")
        }
        bodies: dict[tuple[str, str, str], dict[str, Any]] = {}
        for ref, kind in ((SEALED, "SealedSecret"), (VAULT_SECRETS, "VaultSecret")):
            for b in self.kube.list(ref, None):
                meta = b["metadata"]
                if meta["namespace"].startswith(f"{self.plan.prefix}-"):
                    bodies[(kind, meta["namespace"], meta["name"])] = b
        wanted: dict[tuple[str, str, str], dict[str, bytes]] = {
            ("SealedSecret", ns, name): data for (ns, name), data in self.sealed.items()
        }
        for (ns, name), (path, field_index) in self.vault.items():
            value = self.values[path][f"f{field_index}"]
            wanted[("VaultSecret", ns, name)] = {"v": value.encode()}
        for key, data in wanted.items():
            kind, ns, name = key
            body = bodies.get(key)
            if body is None:
                found.append(f"{kind} {ns}/{name}: missing")
                continue
            status = body.get("status") or {}
            ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
            if not ready or ready[0].get("status") != "True":
                reason = ready[0].get("reason") if ready else None
                found.append(f"{kind} {ns}/{name}: not Ready ({reason})")
            elif status.get("observedGeneration") != body["metadata"].get("generation"):
                found.append(f"{kind} {ns}/{name}: status of an older generation")
            secret = secrets_now.get((ns, name))
            if secret is None:
                found.append(f"{kind} {ns}/{name}: no Secret")
                continue
            got = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
            if got != data:
                found.append(f"{kind} {ns}/{name}: Secret data differs")
        for kind, ns, name in self.deleted:
            if (ns, name) in secrets_now:
                found.append(f"{kind} {ns}/{name}: deleted, but its Secret is still there")
        return found

    def not_ready(self) -> int:
        """Objects whose Ready condition is not True now."""
        return sum(1 for p in self.problems() if "not Ready" in p)

    def wait(self, *, timeout: float, interval: float = 1.0) -> float:
        """Seconds until ``problems()`` is empty; raises with what is left after ``timeout``."""
        start = time.monotonic()
        left: list[str] = []
        while time.monotonic() - start < timeout:
            left = self.problems()
            if not left:
                return time.monotonic() - start
            time.sleep(interval)
        raise TimeoutError(f"not converged after {timeout:g}s: {left[:10]} ({len(left)} in all)")

    def total(self) -> int:
        return len(self.sealed) + len(self.vault)
