"""The RBAC rules in deploy/ grant exactly the API calls the controller makes: each one, nothing more.

The calls are recorded, not listed by hand: one pass through every code path of the controller
that talks to the API (key store, data-hash key, SealedSecret and VaultSecret reconcilers with
every auth kind, rollout restarts, drift checks, resync, refresh, the /v1/keys usage count) runs
against the recording fake API. kopf's own calls (watching, peering, resource and namespace
scanning) cannot be recorded without a cluster, so they are the one declared table, each with
its reason. (A real API server enforces RBAC; the emulator does not, hence this test.)
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from controller.connections import Connections
from controller.datahash import load_or_create_hasher
from controller.engines.queue import QueueRuns
from controller.http import count_key_usage
from controller.keyring import key_secret
from controller.operator import App, assemble
from controller.settings import Settings
from controller.vaultsecrets import VaultSecretReconciler
from sealer.api import (
    BITNAMI_API_VERSION,
    BITNAMI_SEALED_SECRETS,
    CLUSTER_PEERINGS,
    CLUSTER_VAULT_CONNECTIONS,
    PEERINGS,
    SEALED_SECRETS,
    SECRETS,
    SERVICE_ACCOUNTS,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
)
from sealer.kube import ResourceRef
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from sealer.vault import KubernetesAuth, RequestCounter, VaultConfig
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import Clock, Harness, small_key
from tests.unit.fakekube import FakeKube

DEPLOY = Path(__file__).parents[3] / "deploy"

# kopf's own calls, with why it makes them.
KOPF_CALLS: dict[tuple[str, str], set[str]] = {
    # Watch-streams for the resources with handlers (list, then watch from its version).
    ("sealops.dev", "sealedsecrets"): {"list", "watch"},
    ("sealops.dev", "vaultsecrets"): {"list", "watch"},
    ("sealops.dev", "vaultconnections"): {"list", "watch"},  # their own status: login checks
    ("sealops.dev", "clustervaultconnections"): {"list", "watch"},
    ("", "secrets"): {"list", "watch"},  # managed-Secret events: drift correction
    # Diff base and retry progress are kept in status (never in annotations).
    ("sealops.dev", "sealedsecrets/status"): {"patch"},
    ("sealops.dev", "vaultsecrets/status"): {"patch"},
    ("sealops.dev", "vaultconnections/status"): {"patch"},
    ("sealops.dev", "clustervaultconnections/status"): {"patch"},
    # With --bitnami-compat: Bitnami's SealedSecrets, watched and their status patched the same way.
    ("bitnami.com", "sealedsecrets"): {"list", "watch"},
    ("bitnami.com", "sealedsecrets/status"): {"patch"},
    # Peering between replicas: watch the peering object, patch our own entry in it.
    ("kopf.dev", "clusterkopfpeerings"): {"list", "watch", "patch"},
    ("kopf.dev", "kopfpeerings"): {"list", "watch", "patch"},  # when sharded by namespace
    # Resource scanning (CRDs appearing at run time) and namespace scanning (sharding).
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    ("", "namespaces"): {"list", "watch"},
}
# The calls kopf makes on one object by name: its keep-alive patch goes to the peering object it
# was given (--peering sealops in overlays/ha and the chart), never to another.
KOPF_NAMED: dict[tuple[str, str, str], set[str]] = {
    ("kopf.dev", "clusterkopfpeerings", "patch"): {"sealops"},
    ("kopf.dev", "kopfpeerings", "patch"): {"sealops"},
}

Grant = tuple[str, str, str]  # (apiGroup, resource, verb)


class NamingKube(FakeKube):
    """The recording fake, also noting the object name of every call made on one object."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[Grant, set[str]] = {}

    def _named(self, verb: str, ref: ResourceRef, name: str, sub: str = "") -> None:
        resource = ref.plural + (f"/{sub}" if sub else "")
        self.names.setdefault((ref.group, resource, verb), set()).add(name)

    def get(self, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any]:
        self._named("get", ref, name)
        return super().get(ref, namespace, name)

    def replace(
        self, ref: ResourceRef, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        self._named("update", ref, name)
        return super().replace(ref, namespace, name, body)

    def patch(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        self._named("patch", ref, name, subresource)
        return super().patch(ref, namespace, name, body, subresource=subresource)


def record_controller_calls() -> dict[tuple[str, str], set[str]]:
    return _record()[0]


def _record() -> tuple[dict[tuple[str, str], set[str]], dict[Grant, set[str]]]:
    kube = NamingKube()
    harness = Harness(kube, Clock())
    # Keys and the data-hash key (a restored key loads at start; a renewal adds one).
    kube.put(SECRETS, key_secret(small_key(1), name="k1", namespace="sealops-system"))
    harness.keystore.load()
    harness.keystore.ensure_current()
    harness.keystore.load()
    load_or_create_hasher(kube, "sealops-system")
    # A SealedSecret: create, then update its Secret.
    plain = PlainSecret(name="db", namespace="prod", data={"a": b"1"})
    body = kube.put(SEALED_SECRETS, seal_secret(plain, [small_key(1).recipient]))
    harness.sealed.reconcile(body)
    kube.find(SECRETS, "prod", "db")["data"]["a"] = "Mg=="  # type: ignore[index]
    harness.sealed.reconcile(body)
    # VaultSecrets through a VaultConnection with Kubernetes auth and a ClusterVaultConnection.
    vault = FakeVault()
    vault.mount("secret")
    vault.put("secret/app", {"k": "v1"})

    def factory(config: VaultConfig) -> FakeVault:
        if isinstance(config.auth, KubernetesAuth) and config.auth.jwt_source is not None:
            config.auth.jwt_source()  # a login asks for the tenant's token
        return vault

    kube.put(SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": "prod"}})
    kube.put(SECRETS, {"metadata": {"name": "t", "namespace": "sealops-system"},
                       "data": {"token": base64.b64encode(b"x").decode()}})  # fmt: skip
    kube.put(VAULT_CONNECTIONS, {"metadata": {"name": "v", "namespace": "prod"},
                                 "spec": {"address": "http://v:8200", "auth": {"kubernetes": {"role": "r"}}}})  # fmt: skip
    kube.put(CLUSTER_VAULT_CONNECTIONS, {"metadata": {"name": "c"},
                                         "spec": {"address": "http://v:8200", "allowedNamespaces": ["prod"],
                                                  "auth": {"token": {"secretRef": {"name": "t", "key": "token"}}}}})  # fmt: skip
    targets = []
    for plural, kind in (
        ("deployments", "Deployment"),
        ("statefulsets", "StatefulSet"),
        ("daemonsets", "DaemonSet"),
    ):
        kube.put(
            ResourceRef("apps", "v1", plural),
            {"metadata": {"name": "web", "namespace": "prod"}, "spec": {"template": {}}},
        )
        targets.append({"kind": kind, "name": "web"})
    connections = Connections(
        kube=kube, controller_namespace="sealops-system", factory=factory, counter=RequestCounter()
    )
    reconciler = VaultSecretReconciler(kube=kube, connections=connections, writer=harness.writer,
                                       reporter=harness.reporter, metrics=harness.metrics, clock=harness.clock)  # fmt: skip
    for kind, name in (("VaultConnection", "v"), ("ClusterVaultConnection", "c")):
        vs = kube.put(VAULT_SECRETS, {"apiVersion": "sealops.dev/v1alpha1", "kind": "VaultSecret",
                                      "metadata": {"name": f"app-{name}", "namespace": "prod"},
                                      "spec": {"connectionRef": {"kind": kind, "name": name},
                                               "data": [{"key": "k", "ref": "secret/app#k"}],
                                               "rolloutRestartTargets": targets}})  # fmt: skip
        reconciler.reconcile(vs)
    vault.put("secret/app", {"k": "v2"})
    reconciler.reconcile(
        kube.get(VAULT_SECRETS, "prod", "app-v"), fresh=True
    )  # read afresh, data changed: a rollout restart

    # The operator's own paths: drift, resync, refresh, and /v1/keys' usage count.
    def app(settings: Settings) -> App:
        return assemble(settings, kube=kube, keystore=harness.keystore, writer=harness.writer,
                        reporter=harness.reporter, metrics=harness.metrics,
                        connections=connections, clock=harness.clock)  # fmt: skip

    standalone = app(Settings())
    for owner in ("db", "app-v"):
        secret = kube.get(SECRETS, "prod", owner)
        standalone.drift.check({"type": "DELETED", "object": secret})
    standalone.resync.once()
    # With --peering the resync loop first reads the peering object, cluster-wide or (sharded)
    # per namespace, to act only in the active replica, as kopf does.

    kube.put(CLUSTER_PEERINGS, {"metadata": {"name": "sealops"}, "status": {}})
    kube.put(PEERINGS, {"metadata": {"name": "sealops", "namespace": "prod"}, "status": {}})
    for shards in ((), ("prod",)):
        peered = app(Settings(peering="sealops", peering_identity="me", priority=1,
                              watch_namespaces=shards))  # fmt: skip
        peered.resync.once()
    # A refresh come due in the queue.
    QueueRuns(reconcilers=standalone.reconcilers, leader=standalone.leader)(
        "VaultSecret/prod/app-v"
    )
    count_key_usage(kube.list(SEALED_SECRETS))
    # The connections' login checks, each as its queued run does it (status patch, Event).
    connections.login = lambda config: None
    for check in standalone.connection_checks:
        key = "prod/v" if check.ref.namespaced else "/c"
        check.run_queued(key)
    # --bitnami-compat: a Bitnami SealedSecret reconciled in place, its Secret's drift, the resync.
    bitnami_doc = seal_secret(PlainSecret(name="old", namespace="prod", data={"a": b"1"}),
                              [small_key(1).recipient]) | {"apiVersion": BITNAMI_API_VERSION}  # fmt: skip
    compat = app(Settings(bitnami_compat=True))
    assert compat.bitnami is not None
    compat.bitnami.reconcile(kube.put(BITNAMI_SEALED_SECRETS, bitnami_doc))
    compat.drift.check({"type": "DELETED", "object": kube.get(SECRETS, "prod", "old")})
    compat.resync.once()
    calls: dict[tuple[str, str], set[str]] = {}
    for verb, group, resource in kube.calls:
        calls.setdefault((group, resource), set()).add(verb)
    return calls, kube.names


def rules() -> list[dict[str, Any]]:
    docs = list(yaml.safe_load_all((DEPLOY / "base" / "rbac.yaml").read_text()))
    roles = [d for d in docs if d and d["kind"] in ("ClusterRole", "Role")]
    assert [r["kind"] for r in roles] == ["ClusterRole"], "one ClusterRole holds every grant"
    return list(roles[0]["rules"])


def granted() -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for rule in rules():
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def granted_names() -> dict[Grant, set[str] | None]:
    """Per (group, resource, verb): the resourceNames it is limited to, None when unlimited."""
    out: dict[Grant, set[str] | None] = {}
    for rule in rules():
        names = rule.get("resourceNames")
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    key = (group, resource, verb)
                    if names is None or out.get(key, set()) is None:
                        out[key] = None  # an unlimited rule wins over any limited one
                    else:
                        out[key] = (out.get(key) or set()) | set(names)
    return out


def needed() -> dict[tuple[str, str], set[str]]:
    out = record_controller_calls()
    for key, verbs in KOPF_CALLS.items():
        out.setdefault(key, set()).update(verbs)
    return out


def test_every_call_is_granted_and_nothing_more() -> None:
    want, have = needed(), granted()
    missing = {k: sorted(v - have.get(k, set())) for k, v in want.items() if v - have.get(k, set())}
    extra = {k: sorted(v - want.get(k, set())) for k, v in have.items() if v - want.get(k, set())}
    assert not missing, f"calls the RBAC does not grant: {missing}"
    assert not extra, f"grants no call needs: {extra}"


def named_calls() -> dict[Grant, set[str]]:
    out = {k: set(v) for k, v in _record()[1].items()}
    for key, names in KOPF_NAMED.items():
        out.setdefault(key, set()).update(names)
    return out


def test_grants_limited_to_names_allow_exactly_the_names_used() -> None:
    # Both ways: every call on a named object is allowed by name, and a grant limited by
    # resourceNames names only objects the controller (or kopf) really touches.
    limits, used = granted_names(), named_calls()
    limited = {k: v for k, v in limits.items() if v is not None}
    assert limited, "the peering grants are limited to the peering's name"
    for key, names in limited.items():
        assert key in used, f"{key}: limited to {names}, but never called by name"
        assert used[key] <= names, f"{key}: calls {used[key] - names} outside {names}"
        assert names <= used[key], f"{key}: names {names - used[key]} that nothing touches"
    # A kind only ever listed or watched cannot be limited by name (kopf uses no field selector).
    for group, resource, verb in limited:
        assert verb not in ("list", "watch"), f"{group}/{resource}: {verb} by name needs a selector"


def test_the_recording_covers_every_kind_of_call() -> None:
    calls = record_controller_calls()
    assert calls[("", "serviceaccounts/token")] == {"create"}
    assert calls[("apps", "deployments")] == {"patch"}
    assert {"create", "update", "get", "list"} <= calls[("", "secrets")]
    assert "create" in calls[("", "events")]
