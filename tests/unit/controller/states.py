"""Every status state the controller can leave an object of each kind in, made by the reconcilers.

Each :class:`State` is an object as the API server would hand it to kstatus or Argo CD after the
real reconciler ran (over the fake API and a fake Vault), with the truth beside it: whether the
thing the object stands for is right at that moment (its Secret holds what the spec says; a
connection logs in), found by looking at the Secret or at the fake Vault, never at the status.
A fresh object has the status the CRD's schema defaults give it (the API server's defaulting,
as the emulator applies it).

The states, per kind: fresh, working, each failure reason the kind can show, a write conflict,
recovered after a failure, generation ahead (spec changed, not yet observed), and being deleted.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controller.bitnami import BitnamiSealedSecretReconciler
from controller.connections import Connections
from controller.vaultconnections import (
    ClusterVaultConnectionReconciler,
    VaultConnectionReconciler,
)
from controller.vaultsecrets import VaultSecretReconciler
from sandbox.kubeapi.schema import CompiledSchema
from sealer.api import (
    BITNAMI_SEALED_SECRETS,
    CLUSTER_VAULT_CONNECTIONS,
    SEALED_SECRETS,
    SECRETS,
    SERVICE_ACCOUNTS,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
)
from sealer.keys import KeyPair
from sealer.kube import KubeConflict, KubeInvalid, ResourceRef
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from sealer.vault import KubernetesAuth, LoginFailed, RequestCounter, VaultConfig, VaultUnavailable
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import Clock, Harness, small_key
from tests.unit.fakekube import FakeKube, unavailable

__all__ = ["KINDS", "State", "all_states", "defaulted"]

CRDS = Path(__file__).parents[3] / "deploy" / "crds"
PLAIN = {"password": b"hunter2", "user": b"admin"}
KINDS = ("SealedSecret", "VaultSecret", "VaultConnection", "ClusterVaultConnection")


@dataclass(frozen=True)
class State:
    kind: str
    name: str
    body: dict[str, Any]
    right: bool  # the Secret is what the spec says (a connection: it logs in), seen directly

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}"


def defaulted(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with the CRD schema's defaults filled in, as the API server returns it."""
    plural = {"SealedSecret": "sealedsecrets", "VaultSecret": "vaultsecrets",
              "VaultConnection": "vaultconnections",
              "ClusterVaultConnection": "clustervaultconnections"}[kind]  # fmt: skip
    crd = yaml.safe_load((CRDS / f"{plural}.sealops.dev.yaml").read_text())
    (version,) = crd["spec"]["versions"]
    out = CompiledSchema(version["schema"]["openAPIV3Schema"]).apply(dict(body))
    out["metadata"] = copy.deepcopy(dict(body["metadata"]))  # the server keeps metadata as is
    return out


def _decoded(secret: Mapping[str, Any] | None) -> dict[str, bytes] | None:
    if secret is None:
        return None
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def _ahead(body: Mapping[str, Any]) -> dict[str, Any]:
    """The object just after a spec change the controller has not seen: generation + 1."""
    out = copy.deepcopy(dict(body))
    out["metadata"]["generation"] += 1
    return out


# -- SealedSecret ---------------------------------------------------------------------------------


class _Sealed:
    def __init__(self) -> None:
        self.kube = FakeKube()
        self.harness = Harness(self.kube, Clock())
        self.harness.kube.put(SECRETS, _key_secret(small_key(1), "key-1"))
        self.harness.keystore.load()

    def body(self, name: str, key: KeyPair, namespace: str = "prod") -> dict[str, Any]:
        doc = seal_secret(PlainSecret(name=name, namespace=namespace, data=dict(PLAIN)),
                          [key.recipient])  # fmt: skip
        return self.kube.put(SEALED_SECRETS, doc)

    def run(self, body: Mapping[str, Any], ref: ResourceRef = SEALED_SECRETS) -> dict[str, Any]:
        meta = body["metadata"]
        current = self.kube.find(ref, meta["namespace"], meta["name"])
        assert current is not None
        self.harness.sealed.reconcile(current)
        after = self.kube.find(ref, meta["namespace"], meta["name"])
        assert after is not None
        return copy.deepcopy(after)

    def right(self, body: Mapping[str, Any]) -> bool:
        meta = body["metadata"]
        return _decoded(self.kube.find(SECRETS, meta["namespace"], meta["name"])) == PLAIN


def _key_secret(pair: KeyPair, name: str) -> dict[str, Any]:
    from controller.keyring import key_secret

    return key_secret(pair, name=name, namespace="sealops-system")


def _sealed_states() -> list[State]:
    w = _Sealed()
    out: list[State] = []

    def add(name: str, body: dict[str, Any], right: bool | None = None) -> None:
        out.append(State("SealedSecret", name, body, w.right(body) if right is None else right))

    fresh = w.body("db", small_key(1))
    add("fresh", defaulted("SealedSecret", fresh))
    working = w.run(fresh)
    add("working", working)
    add("generation-ahead", _ahead(working), right=False)  # the new spec is not applied yet
    add("deleting", w.run(_deleting_in(w.kube, SEALED_SECRETS, working)))
    add("DecryptFailed", w.run(w.body("other-key", small_key(2))))
    w.kube.put(SECRETS, _key_secret(small_key(2), "key-2"))
    w.harness = Harness(w.kube, Clock())  # the key restored, and the controller restarted
    w.harness.keystore.load()
    add("recovered", w.run(w.body("other-key", small_key(2))))
    bad = w.kube.put(SEALED_SECRETS, {"apiVersion": "sealops.dev/v1alpha1", "kind": "SealedSecret",
                                      "metadata": {"name": "bad", "namespace": "prod"},
                                      "spec": "nope"})  # fmt: skip
    add("InvalidSpec", w.run(bad))
    add("Forbidden", w.run(w.body("inside", small_key(1), namespace="sealops-system")))
    w.kube.put(SECRETS, {"apiVersion": "v1", "kind": "Secret",
                         "metadata": {"name": "taken", "namespace": "prod"}, "data": {}})  # fmt: skip
    add("SecretNotOwned", w.run(w.body("taken", small_key(1))))
    for name, error in _write_failures():
        body = w.body(name.lower(), small_key(1))
        w.kube.fail_next[("create", "secrets")] = error
        add(name, w.run(body))
    return out


def _write_failures() -> list[tuple[str, Exception]]:
    return [
        ("UpdateFailed", KubeInvalid("422 invalid", where="create secrets", status=422)),
        ("conflict", KubeConflict("409 conflict", where="create secrets", status=409)),
        ("KubernetesUnavailable", unavailable()),
    ]


def _deleting_in(kube: FakeKube, ref: ResourceRef, body: Mapping[str, Any]) -> dict[str, Any]:
    """Mark the stored object deleted (as the API does while its finalizers run)."""
    meta = body["metadata"]
    stored = kube.find(ref, meta.get("namespace"), meta["name"])
    assert stored is not None
    stored["metadata"]["deletionTimestamp"] = "2026-01-02T00:00:00Z"
    return stored


def _bitnami_states() -> list[State]:
    """bitnami.com objects (``--bitnami-compat``): the same conditions beside ``Synced``."""
    w = _Sealed()
    reconciler = BitnamiSealedSecretReconciler(
        keyring=w.harness.keyring, keystore=w.harness.keystore, writer=w.harness.writer,
        reporter=w.harness.reporter, metrics=w.harness.metrics,
    )  # fmt: skip
    out = []
    for name, key in (("working", small_key(1)), ("DecryptFailed", small_key(2))):
        doc = seal_secret(PlainSecret(name=name.lower(), namespace="prod", data=dict(PLAIN)),
                          [key.recipient])  # fmt: skip
        doc["apiVersion"] = "bitnami.com/v1alpha1"
        body = w.kube.put(BITNAMI_SEALED_SECRETS, doc)
        reconciler.reconcile(body)
        after = w.kube.find(BITNAMI_SEALED_SECRETS, "prod", name.lower())
        assert after is not None
        out.append(State("SealedSecret.bitnami.com", name, copy.deepcopy(after), w.right(after)))
    return out


# -- VaultSecret ----------------------------------------------------------------------------------


class _Vault:
    def __init__(self) -> None:
        self.kube = FakeKube()
        self.harness = Harness(self.kube, Clock())
        self.vault = FakeVault()
        self.vault.mount("secret")
        self.vault.put("secret/shop/db", {"password": "pw-1"})
        self.kube.put(SECRETS, {"metadata": {"name": "vault-token", "namespace": "shop"},
                                "data": {"token": base64.b64encode(b"root").decode()}})  # fmt: skip
        self.kube.put(VAULT_CONNECTIONS, {"metadata": {"name": "vault", "namespace": "shop"},
                                          "spec": {"address": "http://vault:8200", "auth": {
                                              "token": {"secretRef": {"name": "vault-token",
                                                                      "key": "token"}}}}})  # fmt: skip
        connections = Connections(kube=self.kube, controller_namespace="sealops-system",
                                  factory=lambda config: self.vault, counter=RequestCounter())  # fmt: skip
        self.reconciler = VaultSecretReconciler(
            kube=self.kube, connections=connections, writer=self.harness.writer,
            reporter=self.harness.reporter, metrics=self.harness.metrics,
            clock=self.harness.clock, jitter=lambda: 0.5,
        )  # fmt: skip

    def body(self, name: str, ref: str = "secret/shop/db#password") -> dict[str, Any]:
        return self.kube.put(VAULT_SECRETS, {
            "apiVersion": "sealops.dev/v1alpha1", "kind": "VaultSecret",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"connectionRef": {"name": "vault"}, "data": [{"key": "password", "ref": ref}]},
        })  # fmt: skip

    def run(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        current = self.kube.find(VAULT_SECRETS, "shop", name)
        assert current is not None
        self.reconciler.reconcile(current, fresh=True)  # as an edit: Vault read afresh
        after = self.kube.find(VAULT_SECRETS, "shop", name)
        assert after is not None
        return copy.deepcopy(after)

    def right(self, body: Mapping[str, Any]) -> bool:
        """The Secret holds the value Vault holds now for the spec's reference."""
        ref = body["spec"]["data"][0]["ref"]
        path, _, field = ref.partition("#")
        try:
            want = self.vault.read(_location(path)).data[field].encode()
        except Exception:
            return False
        finally:
            self.vault.reads.clear()
        got = _decoded(self.kube.find(SECRETS, "shop", body["metadata"]["name"]))
        return got == {"password": want}


def _location(path: str) -> Any:
    from sealer.vault import parse_ref

    return parse_ref(f"{path}#x").location


def _vault_states() -> list[State]:
    w = _Vault()
    out: list[State] = []

    def add(name: str, body: dict[str, Any], right: bool | None = None) -> None:
        out.append(State("VaultSecret", name, body, w.right(body) if right is None else right))

    fresh = w.body("app")
    add("fresh", defaulted("VaultSecret", fresh))
    working = w.run(fresh)
    add("working", working)
    add("generation-ahead", _ahead(working), right=False)
    add("deleting", w.run(_deleting_in(w.kube, VAULT_SECRETS, working)))
    w.vault.available = False
    add("VaultUnavailable", w.run(w.body("outage")))
    w.vault.available = True
    add("recovered", w.run(w.body("outage")))
    add("NotFound", w.run(w.body("missing", "secret/shop/nope#password")))
    add("InvalidSpec", w.run(w.body("bad-ref", "no-field")))
    w.vault.put("secret/shop/denied", {"password": "x"})
    w.vault.deny("secret/shop/denied")
    add("Forbidden", w.run(w.body("denied", "secret/shop/denied#password")))
    w.kube.put(SECRETS, {"apiVersion": "v1", "kind": "Secret",
                         "metadata": {"name": "taken", "namespace": "shop"}, "data": {}})  # fmt: skip
    add("SecretNotOwned", w.run(w.body("taken")))
    for name, error in _write_failures():
        body = w.body(name.lower())
        w.kube.fail_next[("create", "secrets")] = error
        add(name, w.run(body))
    return out


# -- VaultConnection, ClusterVaultConnection ------------------------------------------------------


class _Connections:
    """A fake Vault login: accepts the token ``root`` (or any Kubernetes JWT) while up."""

    def __init__(self) -> None:
        self.kube = FakeKube()
        self.harness = Harness(self.kube, Clock())
        self.up = True
        self.kube.put(SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": "shop"}})
        for namespace in ("shop", "sealops-system"):
            self.kube.put(SECRETS, {"metadata": {"name": "vault-token", "namespace": namespace},
                                    "data": {"token": base64.b64encode(b"root").decode()}})  # fmt: skip
        connections = Connections(kube=self.kube, controller_namespace="sealops-system",
                                  factory=lambda config: FakeVault(), counter=RequestCounter(),
                                  login=self.login)  # fmt: skip
        made = {"kube": self.kube, "connections": connections, "reporter": self.harness.reporter,
                "metrics": self.harness.metrics, "jitter": lambda: 0.5}  # fmt: skip
        self.checks = {"VaultConnection": VaultConnectionReconciler(**made),  # type: ignore[arg-type]
                       "ClusterVaultConnection": ClusterVaultConnectionReconciler(**made)}  # type: ignore[arg-type]  # fmt: skip

    def login(self, config: VaultConfig) -> None:
        if not self.up:
            raise VaultUnavailable("cannot reach Vault at http://vault:8200: connection refused")
        if isinstance(config.auth, KubernetesAuth):
            assert config.auth.jwt_source is not None
            config.auth.jwt_source()
            return
        if config.auth.credentials() != ("root",):
            raise LoginFailed("Vault refused the login (token)")

    def body(self, kind: str, name: str, **spec: Any) -> dict[str, Any]:
        ref = VAULT_CONNECTIONS if kind == "VaultConnection" else CLUSTER_VAULT_CONNECTIONS
        meta: dict[str, Any] = {"name": name}
        if kind == "VaultConnection":
            meta["namespace"] = "shop"
        token = {"token": {"secretRef": {"name": "vault-token", "key": "token"}}}
        doc: dict[str, Any] = {"apiVersion": "sealops.dev/v1alpha1", "kind": kind, "metadata": meta,
               "spec": {"address": "http://vault:8200", "auth": token,
                        "allowedNamespaces": ["shop"], **spec}}  # fmt: skip
        if kind == "VaultConnection":
            del doc["spec"]["allowedNamespaces"]
        return self.kube.put(ref, doc)

    def run(self, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
        check = self.checks[kind]
        meta = body["metadata"]
        current = self.kube.find(check.ref, meta.get("namespace"), meta["name"])
        assert current is not None
        check.reconcile(current, fresh=True)
        after = self.kube.find(check.ref, meta.get("namespace"), meta["name"])
        assert after is not None
        return copy.deepcopy(after)


def _connection_states(kind: str) -> list[State]:
    w = _Connections()
    out: list[State] = []

    def add(name: str, body: dict[str, Any], right: bool) -> None:
        out.append(State(kind, name, body, right))

    fresh = w.body(kind, "vault")
    add("fresh", defaulted(kind, fresh), right=True)  # it would log in: kstatus cannot know yet
    working = w.run(kind, fresh)
    add("working", working, right=True)
    add("generation-ahead", _ahead(working), right=False)
    w.up = False
    add("VaultUnavailable", w.run(kind, w.body(kind, "outage")), right=False)
    w.up = True
    add("recovered", w.run(kind, w.body(kind, "outage")), right=True)
    missing = {"token": {"secretRef": {"name": "nope", "key": "token"}}}
    add("InvalidSpec", w.run(kind, w.body(kind, "no-secret", auth=missing)), right=False)
    w.kube.put(SECRETS, {"metadata": {"name": "wrong", "namespace": "shop"},
                         "data": {"token": base64.b64encode(b"wrong").decode()}})  # fmt: skip
    w.kube.put(SECRETS, {"metadata": {"name": "wrong", "namespace": "sealops-system"},
                         "data": {"token": base64.b64encode(b"wrong").decode()}})  # fmt: skip
    refused = {"token": {"secretRef": {"name": "wrong", "key": "token"}}}
    add("Forbidden", w.run(kind, w.body(kind, "refused", auth=refused)), right=False)
    body = w.body(kind, "api-down")
    w.kube.fail_next[("get", "secrets")] = unavailable()
    add("KubernetesUnavailable", w.run(kind, body), right=False)
    k8s = {"kubernetes": {"role": "r"}}
    add("kubernetes-auth", w.run(kind, w.body(kind, "k8s", auth=k8s)), right=True)
    if kind == "ClusterVaultConnection":
        globs = w.body(kind, "globs", auth=k8s, allowedNamespaces=["team-*"])
        add("InvalidSpec-no-tenant", w.run(kind, globs), right=False)
    return out


#: Builds each kind's states (each a fresh world).
BUILDERS: dict[str, Callable[[], list[State]]] = {
    "SealedSecret": _sealed_states,
    "SealedSecret.bitnami.com": _bitnami_states,
    "VaultSecret": _vault_states,
    "VaultConnection": lambda: _connection_states("VaultConnection"),
    "ClusterVaultConnection": lambda: _connection_states("ClusterVaultConnection"),
}


def all_states() -> list[State]:
    return [state for build in BUILDERS.values() for state in build()]
