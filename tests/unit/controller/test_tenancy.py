"""Tenant isolation in the controller, with the hand-written fake API and a fake Vault.

A tenant who can write SealedSecrets, VaultSecrets and VaultConnections in namespace ``shop``
must reach nothing outside it: not another team's Secrets, connections, ServiceAccounts or
workloads (``team-b``, ``kube-system``), not the controller's own namespace (``sealops-system``,
where the sealing keys live), and no token with the API server's audience. Each rule is a table
with a reason per case.

The fake API here builds every request path with :meth:`sealer.kube.ResourceRef.path`, as the
real client does, and records them, so a test can assert that no request left the tenant's
namespace. On the code before these rules, the traversal names below reached that builder
unchecked by the reconcilers: the refusal came out as an uncaught ``InvalidName`` naming
``metadata.name`` (a traceback in kopf, no Ready condition), not as ``InvalidSpec`` naming the
user's field; a ClusterVaultConnection that did not exist answered differently from one that did
not allow the namespace; the writer wrote into ``sealops-system``, wrote reserved labels and
annotations from a template, and merged into Secrets other objects control; a key Secret planted
while the controller ran was loaded as the sealing key; and ``audience`` was passed through.
"""

from __future__ import annotations

import base64
import builtins
import copy
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from controller.connections import Connections
from controller.datahash import HASH_KEY_SECRET
from controller.keyring import KeyPolicy, Keyring, KeyStore, key_origin, key_secret
from controller.secretwriter import WriteForbidden, reserved_key
from controller.vaultsecrets import VaultSecretReconciler
from sealer.api import (
    ANN_KEY_ORIGIN,
    ANN_OWNED_BY,
    ANN_RESTARTED_AT,
    CLUSTER_VAULT_CONNECTIONS,
    DEPLOYMENTS,
    EVENTS,
    LABEL_MANAGED_BY,
    LABEL_SEALING_KEY,
    SEALED_SECRETS,
    SECRETS,
    SERVICE_ACCOUNTS,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
)
from sealer.keys import KeyPair
from sealer.kube import KubeUnavailable, ResourceRef
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from sealer.vault import KubernetesAuth, RequestCounter, VaultConfig
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import ORIGIN_KEY, Clock, Harness, small_key
from tests.unit.fakekube import FakeKube

TENANT, OTHER, CONTROLLER = "shop", "team-b", "sealops-system"
VICTIM = b"victim-value-7731"


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class PathKube(FakeKube):
    """The fake API, but every request goes through the request builder and is recorded."""

    def __init__(self, api_audiences: Sequence[str] = ()) -> None:
        super().__init__()
        self.paths: list[tuple[str, str]] = []
        self.token_audiences: list[tuple[str, list[str]]] = []  # (path, audiences asked)
        self.api_audiences = list(api_audiences)  # non-empty: tokens are JWT-shaped

    def get(self, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any]:
        self.paths.append(("get", ref.path(namespace, name)))
        return super().get(ref, namespace, name)

    def list(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str = ""
    ) -> list[dict[str, Any]]:
        self.paths.append(("list", ref.path(namespace)))
        return super().list(ref, namespace, label_selector=label_selector)

    def create(
        self, ref: ResourceRef, namespace: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        self.paths.append(("create", ref.path(namespace)))
        return super().create(ref, namespace, body)

    def replace(
        self, ref: ResourceRef, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        self.paths.append(("update", ref.path(namespace, name)))
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
        self.paths.append(("patch", ref.path(namespace, name, subresource)))
        return super().patch(ref, namespace, name, body, subresource=subresource)

    def request_token(
        self, namespace: str, service_account: str, *, audiences: Sequence[str], seconds: int
    ) -> str:
        path = SERVICE_ACCOUNTS.path(namespace, service_account, "token")
        self.paths.append(("create", path))
        self.token_audiences.append((path, list(audiences)))
        token = super().request_token(
            namespace, service_account, audiences=audiences, seconds=seconds
        )
        if not self.api_audiences:
            return token
        claims = {"aud": list(audiences) or self.api_audiences, "sub": token}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"

    def outside(self, namespace: str) -> builtins.list[tuple[str, str]]:
        """Requests that touched anything but ``namespace`` (Events of it included) or the
        cluster-scoped connections it may use."""
        inside = (f"/api/v1/namespaces/{namespace}/", f"/namespaces/{namespace}/")
        return [
            (verb, path)
            for verb, path in self.paths
            if not any(marker in path for marker in inside)
            and "/clustervaultconnections/" not in path
        ]

    def secret_writes(self) -> builtins.list[tuple[str, str]]:
        return [(v, p) for v, p in self.paths if "/secrets" in p and v in ("create", "update")]


class World:
    """Two tenants, the controller's namespace, a fake Vault; the tenant is ``shop``."""

    def __init__(self, kube: PathKube | None = None, **connections: Any) -> None:
        self.kube = kube or PathKube()
        self.clock = Clock()
        self.harness = Harness(self.kube, self.clock)
        self.vault = FakeVault()
        self.vault.mount("secret")
        self.vault.put("secret/shop/db", {"password": "tenant-value"})
        self.configs: list[VaultConfig] = []
        self.tokens: list[str] = []
        put = self.kube.put
        # The tenant's own connection and credential.
        put(SECRETS, secret("vault-token", TENANT, token=b"tenant-token"))
        put(VAULT_CONNECTIONS, connection("vault", TENANT, token_auth("vault-token")))
        put(SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": TENANT}})
        # Another team's objects, which the tenant must not reach.
        put(SECRETS, secret("db", OTHER, password=VICTIM))
        put(SECRETS, secret("approle-b", OTHER, value=VICTIM))
        put(VAULT_CONNECTIONS, connection("vault-b", OTHER, token_auth("approle-b")))
        put(SERVICE_ACCOUNTS, {"metadata": {"name": "reader", "namespace": OTHER}})
        put(SERVICE_ACCOUNTS, {"metadata": {"name": "admin-sa", "namespace": "kube-system"}})
        put(DEPLOYMENTS, {"metadata": {"name": "web", "namespace": OTHER},
                          "spec": {"template": {"metadata": {}}}})  # fmt: skip
        # The controller's own namespace: a sealing key and the data-hash key.
        put(SECRETS, key_secret(small_key(1), name="sealops-key-1", namespace=CONTROLLER))
        put(SECRETS, secret(HASH_KEY_SECRET, CONTROLLER, key=b"k" * 32))
        put(SECRETS, secret("shared-token", CONTROLLER, token=b"admin-token"))
        self.harness.keystore.load()
        self.before = copy.deepcopy(self.kube.objects)
        self.kube.paths.clear()
        self.connections = Connections(
            kube=self.kube,
            controller_namespace=CONTROLLER,
            factory=self._factory,
            counter=RequestCounter(),
            **connections,
        )
        self.reconciler = VaultSecretReconciler(
            kube=self.kube, connections=self.connections, writer=self.harness.writer,
            reporter=self.harness.reporter, metrics=self.harness.metrics, clock=self.clock,
            jitter=lambda: 0.5,
        )  # fmt: skip

    def _factory(self, config: VaultConfig) -> FakeVault:
        self.configs.append(config)
        if isinstance(config.auth, KubernetesAuth) and config.auth.jwt_source is not None:
            self.tokens.append(config.auth.jwt_source())  # what a login would send to Vault
        return self.vault

    def vault_secret(self, namespace: str = TENANT, name: str = "app", **spec: Any) -> Any:
        body = {
            "apiVersion": "sealops.dev/v1alpha1",
            "kind": "VaultSecret",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "connectionRef": {"kind": "VaultConnection", "name": "vault"},
                "data": [{"key": "password", "ref": "secret/shop/db#password"}],
                **spec,
            },
        }
        return self.reconciler.reconcile(self.kube.put(VAULT_SECRETS, body))

    def changed_outside(self, namespace: str = TENANT) -> list[tuple[str, ...]]:
        """Objects outside ``namespace`` that are new, gone or different (Events aside)."""
        keys = set(self.before) | set(self.kube.objects)
        return sorted(
            key
            for key in keys
            if key[2] != namespace
            and key[1] != "events"
            and self.before.get(key) != self.kube.objects.get(key)
        )


def secret(name: str, namespace: str, **data: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {k: b64(v) for k, v in data.items()},
    }


def token_auth(secret_name: str) -> dict[str, Any]:
    key = "value" if secret_name == "approle-b" else "token"
    return {"token": {"secretRef": {"name": secret_name, "key": key}}}


def connection(name: str, namespace: str | None, auth: Any, **spec: Any) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "sealops.dev/v1alpha1",
        "kind": "VaultConnection" if namespace else "ClusterVaultConnection",
        "metadata": meta,
        "spec": {"address": "http://vault.attacker.example:8200", "auth": auth, **spec},
    }


# -- every name field, every encoding of a walk out of the namespace -------------------------

BAD_NAMES = [
    pytest.param("../../team-b/secrets/db", id="traversal-to-team-b"),
    pytest.param("../../sealops-system/secrets/sealops-key-1", id="traversal-to-the-key"),
    pytest.param("%2e%2e", id="percent-encoded-dot-dot"),
    pytest.param("%2e%2e%2fteam-b", id="percent-encoded-slash"),
    pytest.param("db/../../../team-b", id="slash"),
    pytest.param("..", id="bare-dot-dot"),
    pytest.param("Db", id="upper-case: a valid Vault path segment, not a name"),
    pytest.param("a_b", id="underscore: a valid Secret data key, not a name"),
    pytest.param("x" * 254, id="too-long"),
]


def _own_connection(world: World, **spec: Any) -> dict[str, Any]:
    world.kube.put(VAULT_CONNECTIONS, connection("evil", TENANT, **spec))
    return {"connectionRef": {"kind": "VaultConnection", "name": "evil"}}


#: field → how a VaultSecret (and, for connection fields, its VaultConnection) carries a name.
NAME_FIELDS: dict[str, Callable[[World, str], dict[str, Any]]] = {
    "spec.target.name": lambda w, v: {"target": {"name": v, "creationPolicy": "Merge"}},
    "spec.connectionRef.name": lambda w, v: {
        "connectionRef": {"kind": "VaultConnection", "name": v}
    },
    "spec.connectionRef.name (cluster)": lambda w, v: {
        "connectionRef": {"kind": "ClusterVaultConnection", "name": v}
    },
    "spec.caSecretRef.name": lambda w, v: _own_connection(
        w, auth=token_auth("vault-token"), caSecretRef={"name": v, "key": "ca.crt"}
    ),
    "spec.auth.appRole.secretRef.name": lambda w, v: _own_connection(
        w, auth={"appRole": {"roleId": "r", "secretRef": {"name": v, "key": "tls.key"}}}
    ),
    "spec.auth.token.secretRef.name": lambda w, v: _own_connection(
        w, auth={"token": {"secretRef": {"name": v, "key": "token"}}}
    ),
    "spec.auth.kubernetes.serviceAccountName": lambda w, v: _own_connection(
        w, auth={"kubernetes": {"role": "r", "serviceAccountName": v}}
    ),
    "spec.rolloutRestartTargets[0].name": lambda w, v: {
        "rolloutRestartTargets": [{"kind": "Deployment", "name": v}]
    },
}


@pytest.mark.parametrize("value", BAD_NAMES)
@pytest.mark.parametrize("field", list(NAME_FIELDS), ids=list(NAME_FIELDS))
def test_a_bad_name_is_refused_naming_its_field(field: str, value: str) -> None:
    """Each field that takes a name refuses every encoding of a walk out of the namespace,
    where it is read: Ready=False InvalidSpec naming the field, no request outside ``shop``,
    nothing written, nothing sent to Vault."""
    world = World()
    result = world.vault_secret(**NAME_FIELDS[field](world, value))
    verdict = result.verdict
    assert (verdict.ready, verdict.reason) == (False, "InvalidSpec"), verdict.message
    assert f"{field.split(' ')[0]}: " in verdict.message
    assert "is not a valid name" in verdict.message
    assert world.kube.outside(TENANT) == []
    assert world.kube.secret_writes() == []
    assert world.configs == [] and world.tokens == [], "something was sent to Vault"
    assert world.changed_outside() == []
    (event,) = world.kube.list(EVENTS, TENANT)
    assert event["reason"] == "InvalidSpec" and field.split(" ")[0] in event["message"]


@pytest.mark.parametrize(
    ("spec", "reason", "expected"),
    [
        pytest.param(
            {"target": {"name": "db", "creationPolicy": "Merge"}},
            "UpdateFailed",
            "Secret shop/db: does not exist",
            id="target-name-of-a-team-b-secret: only shop/db is looked up",
        ),
        pytest.param(
            {"connectionRef": {"kind": "VaultConnection", "name": "vault-b"}},
            "InvalidSpec",
            "VaultConnection shop/vault-b not found",
            id="team-b-connection-by-name: looked up in shop",
        ),
        pytest.param(
            {"connectionRef": {"kind": "VaultConnection", "name": "vault", "namespace": OTHER}},
            "InvalidSpec",
            "spec.connectionRef.namespace",
            id="connection-with-a-namespace-field: refused, not followed",
        ),
        pytest.param(
            {"connectionRef": {"kind": "VaultConnection", "name": "evil"}, "_conn": {
                "auth": {"appRole": {"roleId": "r", "secretRef": {"name": "approle-b", "key": "value"}}}}},
            "InvalidSpec",
            "Secret shop/approle-b not found",
            id="approle-secret-of-team-b: looked up in shop",
        ),
        pytest.param(
            {"connectionRef": {"kind": "VaultConnection", "name": "evil"}, "_conn": {
                "auth": {"kubernetes": {"role": "r", "serviceAccountName": "admin-sa"}}}},
            "InvalidSpec",  # not NotFound, which says a Vault path is missing
            "ServiceAccount shop/admin-sa not found",
            id="kube-system-service-account: a token is asked for shop's only",
        ),
    ],
)  # fmt: skip
def test_a_name_valid_elsewhere_resolves_only_here(
    spec: dict[str, Any], reason: str, expected: str
) -> None:
    world = World()
    conn = spec.pop("_conn", None)
    if conn is not None:
        world.kube.put(VAULT_CONNECTIONS, connection("evil", TENANT, **conn))
    verdict = world.vault_secret(**spec).verdict
    assert (verdict.ready, verdict.reason) == (False, reason), verdict.message
    if reason != "NotFound":
        assert expected in verdict.message
    assert world.kube.outside(TENANT) == []
    assert world.changed_outside() == []
    assert all(f"/namespaces/{TENANT}/" in path for path, _ in world.kube.token_audiences)
    assert world.tokens == []


def test_a_rollout_target_of_another_team_is_not_restarted() -> None:
    world = World()
    spec: dict[str, Any] = {"rolloutRestartTargets": [{"kind": "Deployment", "name": "web"}]}
    assert world.vault_secret(**spec).verdict.ready
    world.vault.put("secret/shop/db", {"password": "rotated-value"})
    # Read afresh, as a new refresh window does: the data changed, a restart is attempted.
    body = world.kube.get(VAULT_SECRETS, TENANT, "app")
    assert world.reconciler.reconcile(body, fresh=True).verdict.ready
    patches = [p for v, p in world.kube.paths if v == "patch" and "deployments" in p]
    assert patches == ["/apis/apps/v1/namespaces/shop/deployments/web"]
    other = world.kube.find(DEPLOYMENTS, OTHER, "web")
    assert other is not None and ANN_RESTARTED_AT not in json.dumps(other)
    assert world.changed_outside() == []


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"target": {"name": "../../team-b/secrets/db"}}, id="traversal"),
        pytest.param({"target": {"name": "db", "creationPolicy": "Merge"}}, id="merge-by-name"),
        pytest.param({"target": {"name": "db"}}, id="owner-by-name"),
    ],
)
def test_no_message_says_what_exists_in_another_namespace(spec: dict[str, Any]) -> None:
    """The tenant's answer is the same whether team-b has a Secret ``db`` or not."""
    with_victim = World().vault_secret(**copy.deepcopy(spec)).verdict
    world = World()
    del world.kube.objects[("", "secrets", OTHER, "db")]
    without_victim = world.vault_secret(**copy.deepcopy(spec)).verdict
    assert (with_victim.reason, with_victim.message) == (
        without_victim.reason,
        without_victim.message,
    )
    assert "team-b" not in with_victim.message.replace("../../team-b/secrets/db", "")


# -- ClusterVaultConnection: allowedNamespaces on every path --------------------------------


def _cluster(world: World, allowed: Any) -> None:
    world.kube.put(
        CLUSTER_VAULT_CONNECTIONS,
        connection("shared", None, token_auth("shared-token"), allowedNamespaces=allowed),
    )


@pytest.mark.parametrize(
    ("allowed", "first", "then", "edit"),
    [
        pytest.param(["team-b"], None, TENANT, None, id="not-allowed"),
        pytest.param([TENANT], TENANT, OTHER, None,
                     id="resolver-cached-for-shop: team-b still refused"),
        pytest.param([TENANT], TENANT, TENANT, ["team-b"],
                     id="allowed-then-removed: the cached resolver is not used"),
        pytest.param(["team-*"], None, "team", None, id="glob-not-matching: team is not team-*"),
        pytest.param(TENANT, None, TENANT, None, id="not-a-list: a string matches nothing"),
        pytest.param([], None, TENANT, None, id="empty: nobody"),
    ],
)  # fmt: skip
def test_cluster_connection_allowed_namespaces_on_every_sync(
    allowed: Any, first: str | None, then: str, edit: list[str] | None
) -> None:
    world = World()
    _cluster(world, allowed)
    ref = {"connectionRef": {"kind": "ClusterVaultConnection", "name": "shared"}}
    if first is not None:
        assert world.vault_secret(first, name="first", **ref).verdict.ready
        assert len(world.configs) == 1, "a resolver is cached"
    if edit is not None:
        conn = world.kube.find(CLUSTER_VAULT_CONNECTIONS, None, "shared")
        assert conn is not None
        conn["spec"]["allowedNamespaces"] = edit
    made = len(world.configs)
    verdict = world.vault_secret(then, name="second", **ref).verdict
    assert (verdict.ready, verdict.reason) == (False, "Forbidden"), verdict.message
    assert "does not exist or does not allow namespace" in verdict.message
    assert len(world.configs) == made, "no resolver for a namespace it does not allow"
    assert world.kube.find(SECRETS, then, "second") is None


def test_a_missing_cluster_connection_reads_as_one_that_does_not_allow() -> None:
    ref: dict[str, Any] = {"connectionRef": {"kind": "ClusterVaultConnection", "name": "shared"}}
    world = World()
    _cluster(world, ["team-b"])
    refused = world.vault_secret(**ref).verdict
    missing = World().vault_secret(**ref).verdict
    assert (refused.reason, refused.message) == (missing.reason, missing.message)


def test_a_cluster_connections_credentials_are_not_named_to_the_tenant() -> None:
    world = World()
    world.kube.put(
        CLUSTER_VAULT_CONNECTIONS,
        connection("shared", None, token_auth("missing-admin-secret"), allowedNamespaces=[TENANT]),
    )
    verdict = world.vault_secret(
        connectionRef={"kind": "ClusterVaultConnection", "name": "shared"}
    ).verdict
    assert verdict.reason == "InvalidSpec"
    assert "missing-admin-secret" not in verdict.message and CONTROLLER not in verdict.message


# -- the Secret writer: never the controller's namespace, never reserved metadata ------------


def sealed_secret(harness: Harness, namespace: str, **template: Any) -> dict[str, Any]:
    plain = PlainSecret(name="db", namespace=namespace, data={"password": b"sealed-value"})
    doc = seal_secret(plain, [small_key(1).recipient])
    doc["spec"]["template"].update(template)
    return harness.kube.put(SEALED_SECRETS, doc)


@pytest.mark.parametrize(
    "target",
    [
        pytest.param({"name": "app"}, id="a-new-secret-there"),
        pytest.param({"name": "sealops-key-1", "creationPolicy": "Merge"}, id="merge-into-the-key"),
        pytest.param({"name": HASH_KEY_SECRET, "creationPolicy": "Merge"},
                     id="merge-into-the-data-hash-key"),
        pytest.param({"name": "sealops-key-2", "creationPolicy": "Orphan"},
                     id="a-new-key-named-like-a-renewal"),
    ],
)  # fmt: skip
def test_a_vault_secret_in_the_controller_namespace_writes_nothing(target: dict[str, Any]) -> None:
    world = World()
    world.kube.put(SECRETS, secret("vault-token", CONTROLLER, token=b"t"))
    world.kube.put(VAULT_CONNECTIONS, connection("vault", CONTROLLER, token_auth("vault-token")))
    world.before = copy.deepcopy(world.kube.objects)
    verdict = world.vault_secret(CONTROLLER, target=target).verdict
    assert (verdict.ready, verdict.reason) == (False, "Forbidden"), verdict.message
    assert "controller's own namespace" in verdict.message
    assert world.configs == [], "refused before its connection was resolved or Vault read"
    assert world.kube.secret_writes() == []
    assert [k for k in world.changed_outside(namespace="nowhere") if k[1] == "secrets"] == []


def _unhinted(doc: dict[str, Any]) -> dict[str, Any]:
    doc["metadata"]["annotations"].pop("sealops.dev/sealed-with")
    return doc


def _many_values(doc: dict[str, Any]) -> dict[str, Any]:
    value = doc["spec"]["encryptedData"]["password"]
    doc["spec"]["encryptedData"] = {f"k{i}": value for i in range(40)}
    doc["metadata"]["annotations"].pop("sealops.dev/sealed-with")
    return doc


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda doc: doc, id="hinted: one op per value would be spent"),
        pytest.param(_unhinted, id="no hint: every key would be tried"),
        pytest.param(_many_values, id="40 values, no hint: most RSA work under the bound"),
    ],
)
def test_a_sealed_secret_in_the_controller_namespace_is_refused_before_rsa_work(
    shape: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    world = World()
    plain = PlainSecret(name="db", namespace=CONTROLLER, data={"password": b"sealed-value"})
    body = world.harness.kube.put(
        SEALED_SECRETS, shape(seal_secret(plain, [small_key(1).recipient]))
    )
    verdict = world.harness.sealed.reconcile(body).verdict
    assert (verdict.ready, verdict.reason) == (False, "Forbidden"), verdict.message
    # The writer's own rule and message, asked before the RSA work instead of after it.
    with pytest.raises(WriteForbidden) as refused:
        world.harness.writer.refuse_namespace(CONTROLLER, where=f"SealedSecret {CONTROLLER}/db")
    assert verdict.message == str(refused.value)
    assert world.harness.metrics.private_key_ops._value.get() == 0
    assert world.kube.secret_writes() == []
    assert world.kube.find(SECRETS, CONTROLLER, "db") is None


def test_a_sealed_secret_of_a_tenant_still_spends_its_rsa_work() -> None:
    """The early refusal is only for the controller's namespace: a tenant's object is opened."""
    world = World()
    verdict = world.harness.sealed.reconcile(sealed_secret(world.harness, TENANT)).verdict
    assert verdict.ready, verdict.message
    assert world.harness.metrics.private_key_ops._value.get() == 1


RESERVED = [
    pytest.param("labels", LABEL_SEALING_KEY, id="the-sealing-key-label"),
    pytest.param("labels", "sealedsecrets.bitnami.com/sealed-secrets-key", id="bitnami-key-label"),
    pytest.param("labels", LABEL_MANAGED_BY, id="managed-by: the drift watch's selector"),
    pytest.param("annotations", "sealops.dev/data-hash", id="data-hash: forged drift state"),
    pytest.param("annotations", "sealops.dev/data-keys", id="data-keys"),
    pytest.param("annotations", ANN_OWNED_BY, id="owned-by: another object's claim"),
    pytest.param("annotations", "sealops.dev/managed", id="managed: open to takeover"),
    pytest.param("annotations", ANN_KEY_ORIGIN, id="key-origin: the mark of a made key"),
    pytest.param("labels", "sealops.dev/anything-new", id="the-whole-prefix"),
]


@pytest.mark.parametrize(("kind", "key"), RESERVED)
def test_reserved_template_metadata_is_refused_for_a_vault_secret(kind: str, key: str) -> None:
    world = World()
    target = {"template": {"metadata": {kind: {key: "active"}}}}
    verdict = world.vault_secret(target=target).verdict
    assert (verdict.ready, verdict.reason) == (False, "InvalidSpec"), verdict.message
    assert f"spec.target.template.metadata.{kind}: " in verdict.message
    assert "reserved" in verdict.message
    assert world.kube.secret_writes() == []


@pytest.mark.parametrize(("kind", "key"), RESERVED)
def test_reserved_template_metadata_is_refused_for_a_sealed_secret(kind: str, key: str) -> None:
    world = World()
    body = sealed_secret(world.harness, TENANT, metadata={kind: {key: "active"}})
    verdict = world.harness.sealed.reconcile(body).verdict
    assert (verdict.ready, verdict.reason) == (False, "InvalidSpec"), verdict.message
    assert f"spec.template.metadata.{kind}: " in verdict.message
    assert world.kube.secret_writes() == []


def test_ordinary_template_metadata_is_written() -> None:
    assert not reserved_key("app.kubernetes.io/name")
    assert not reserved_key("example.com/sealops.dev/x")
    world = World()
    meta = {"labels": {"app": "shop"}, "annotations": {"team.example/owner": "shop"}}
    assert world.vault_secret(target={"template": {"metadata": meta}}).verdict.ready


# -- Merge: only into a Secret no other object controls --------------------------------------


def _existing(**meta: Any) -> dict[str, Any]:
    body = secret("shared", TENANT, other=b"kept")
    body["metadata"].update(meta)
    return body


@pytest.mark.parametrize(
    ("existing", "reason"),
    [
        pytest.param(_existing(ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                     "name": "web-1", "uid": "u-rs", "controller": True}]),
                     "SecretNotOwned", id="controlled-by-a-replicaset"),
        pytest.param(_existing(ownerReferences=[{"apiVersion": "sealops.dev/v1alpha1",
                     "kind": "SealedSecret", "name": "shared", "uid": "u-ss", "controller": True}]),
                     "SecretNotOwned", id="controlled-by-a-sealed-secret"),
        pytest.param(_existing(annotations={ANN_OWNED_BY: "VaultSecret/other"}),
                     "SecretNotOwned", id="orphan-of-another-vault-secret"),
        pytest.param(_existing(labels={LABEL_SEALING_KEY: "active"}), "Forbidden",
                     id="labelled-as-a-sealing-key"),
        pytest.param(_existing(labels={"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}),
                     "Forbidden", id="labelled-as-a-bitnami-key"),
        pytest.param(_existing(ownerReferences=[{"apiVersion": "v1", "kind": "ConfigMap",
                     "name": "cm", "uid": "u-cm"}]), None, id="a-non-controller-owner: allowed"),
        pytest.param(_existing(), None, id="nobody-controls-it: allowed"),
    ],
)  # fmt: skip
def test_merge_only_into_a_secret_no_other_object_controls(
    existing: dict[str, Any], reason: str | None
) -> None:
    world = World()
    world.kube.put(SECRETS, existing)
    before = copy.deepcopy(world.kube.find(SECRETS, TENANT, "shared"))
    verdict = world.vault_secret(target={"name": "shared", "creationPolicy": "Merge"}).verdict
    after = world.kube.find(SECRETS, TENANT, "shared")
    assert after is not None
    if reason is None:
        assert verdict.ready, verdict.message
        assert base64.b64decode(after["data"]["other"]) == b"kept"
        assert base64.b64decode(after["data"]["password"]) == b"tenant-value"
    else:
        assert (verdict.ready, verdict.reason) == (False, reason), verdict.message
        assert after == before, "the Secret was touched"


def test_merge_into_its_own_secret_is_allowed() -> None:
    world = World()
    assert world.vault_secret(target={"name": "mine"}).verdict.ready
    body = world.kube.find(VAULT_SECRETS, TENANT, "app")
    assert body is not None
    body["spec"]["target"]["creationPolicy"] = "Merge"
    assert world.reconciler.reconcile(body).verdict.ready


# -- the keyring: what loads, at start and while running -------------------------------------


def keystore(kube: FakeKube, *, origin_key: bytes | None = ORIGIN_KEY) -> KeyStore:
    return KeyStore(
        kube=kube,
        keyring=Keyring(),
        clock=Clock(),
        policy=KeyPolicy(namespace=CONTROLLER, key_size=2048),
        origin_key=origin_key,
    )


def _marked(pair: KeyPair, mark: str | None) -> dict[str, Any]:
    body: dict[str, Any] = key_secret(pair, name="sealops-key-9", namespace=CONTROLLER)
    if mark is not None:
        body["metadata"]["annotations"][ANN_KEY_ORIGIN] = mark
    return body


def _forged(key: bytes, namespace: str, fingerprint: str) -> str:
    message = f"sealops key-origin v1\0{namespace}\0{fingerprint}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "hmac-sha256:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


PLANTED = small_key(9)
RUNTIME_KEYS = [
    pytest.param(None, False, id="planted-without-a-mark"),
    pytest.param(_forged(b"x" * 32, CONTROLLER, PLANTED.fingerprint), False,
                 id="mark-under-another-key"),
    pytest.param(key_origin(ORIGIN_KEY, CONTROLLER, small_key(1).fingerprint), False,
                 id="mark-copied-from-the-controllers-key"),
    pytest.param(key_origin(ORIGIN_KEY, "team-b", PLANTED.fingerprint), False,
                 id="mark-for-another-namespace"),
    pytest.param("hmac-sha256:", False, id="empty-mark"),
    pytest.param(key_origin(ORIGIN_KEY, CONTROLLER, PLANTED.fingerprint), True,
                 id="made-by-a-peer-replica: loads"),
]  # fmt: skip


@pytest.mark.parametrize(("mark", "loads"), RUNTIME_KEYS)
def test_a_key_that_appears_while_running_loads_only_if_the_controller_made_it(
    mark: str | None, loads: bool
) -> None:
    kube = FakeKube()
    kube.put(SECRETS, key_secret(small_key(1), name="sealops-key-1", namespace=CONTROLLER))
    keys = keystore(kube)
    keys.load()
    kube.put(SECRETS, _marked(PLANTED, mark))  # newer than the controller's key
    keys.load()
    newest = keys.keyring.newest()
    assert newest is not None
    assert (keys.keyring.get(PLANTED.fingerprint) is not None) is loads
    assert newest.fingerprint == (PLANTED if loads else small_key(1)).fingerprint
    if not loads:
        assert any("not made by it" in e for e in keys.load_errors)
        restarted = keystore(kube)  # the explicit act: a restart loads what is there
        restarted.load()
        assert restarted.keyring.get(PLANTED.fingerprint) is not None


def test_a_peer_replicas_renewal_loads_on_the_other_replica() -> None:
    """HA: both replicas started; the active one renews; the other loads the new key on its
    next reload (the two share the data-hash key, hence the origin key)."""
    kube = FakeKube()
    kube.put(SECRETS, key_secret(small_key(1), name="sealops-key-1", namespace=CONTROLLER))
    a, b = keystore(kube), keystore(kube)
    a.load()
    b.load()
    created = small_key(1).created
    assert created is not None
    a.clock = b.clock = Clock(created + dt.timedelta(days=31))
    made = a.ensure_current()
    assert made is not None
    b.load()
    newest = b.keyring.newest()
    assert newest is not None and newest.fingerprint == made.fingerprint
    assert b.load_errors == []


def test_without_an_origin_key_no_new_key_is_trusted_but_its_own() -> None:
    kube = FakeKube()
    keys = keystore(kube, origin_key=None)
    keys.load()
    assert keys.ensure_current() is not None, "its own key loads"
    kube.put(SECRETS, _marked(PLANTED, key_origin(ORIGIN_KEY, CONTROLLER, PLANTED.fingerprint)))
    keys.load()
    assert keys.keyring.get(PLANTED.fingerprint) is None


@pytest.mark.parametrize(
    ("change", "why"),
    [
        pytest.param({"type": "Opaque"}, "not kubernetes.io/tls", id="opaque"),
        pytest.param({"labels": {LABEL_MANAGED_BY: "sealops"}}, "written by sealops",
                     id="written-for-a-user-object (managed-by label)"),
        pytest.param({"annotations": {ANN_OWNED_BY: "VaultSecret/app"}}, "written by sealops",
                     id="written-for-a-user-object (owned-by annotation)"),
    ],
)  # fmt: skip
def test_only_tls_key_secrets_never_written_for_users_load_even_at_start(
    change: dict[str, Any], why: str
) -> None:
    kube = FakeKube()
    body: Any = key_secret(PLANTED, name="planted", namespace=CONTROLLER)
    if "type" in change:
        body["type"] = change["type"]
    for part in ("labels", "annotations"):
        body["metadata"][part].update(change.get(part, {}))
    kube.put(SECRETS, body)
    keys = keystore(kube)
    keys.load()
    assert len(keys.keyring) == 0
    assert any(why in e for e in keys.load_errors), keys.load_errors


def test_a_lost_key_applied_again_loads_while_running() -> None:
    kube = FakeKube()
    kube.put(SECRETS, key_secret(small_key(1), name="k1", namespace=CONTROLLER))
    kube.put(SECRETS, key_secret(small_key(2), name="k2", namespace=CONTROLLER))
    keys = keystore(kube)
    keys.load()
    backup = kube.objects.pop(("", "secrets", CONTROLLER, "k2"))
    keys.load()
    assert keys.keyring.get(small_key(2).fingerprint) is None
    kube.put(SECRETS, backup)
    keys.load()
    assert keys.keyring.get(small_key(2).fingerprint) is not None


# -- Kubernetes auth: never a token with the API server's audience ---------------------------

LEARNED = "https://oidc.example/clusters/one"


@pytest.mark.parametrize(
    ("audience", "refused"),
    [
        pytest.param("https://kubernetes.default.svc", True, id="the-in-cluster-service"),
        pytest.param("https://kubernetes.default.svc.cluster.local", True, id="with-the-domain"),
        pytest.param("kubernetes.default.svc", True, id="without-the-scheme"),
        pytest.param("https://kubernetes.default.svc/", True, id="trailing-slash"),
        pytest.param("HTTPS://Kubernetes.Default.Svc", True, id="other-case"),
        pytest.param(LEARNED, True, id="learned-from-the-api-servers-own-token"),
        pytest.param(" " + LEARNED, True, id="learned-with-a-space"),
        pytest.param("vault", False, id="vaults-audience: allowed"),
        pytest.param(None, False, id="default (vault): allowed"),
    ],
)
def test_no_token_with_the_api_servers_audience(audience: str | None, refused: bool) -> None:
    world = World(PathKube(api_audiences=[LEARNED]))
    k8s: dict[str, Any] = {"role": "r"}
    if audience is not None:
        k8s["audience"] = audience
    world.kube.put(VAULT_CONNECTIONS, connection("k8s", TENANT, {"kubernetes": k8s}))
    verdict = world.vault_secret(connectionRef={"kind": "VaultConnection", "name": "k8s"}).verdict
    asked = [aud for _, aud in world.kube.token_audiences if aud]  # [] is the learning request
    if refused:
        assert (verdict.ready, verdict.reason) == (False, "InvalidSpec"), verdict.message
        assert "spec.auth.kubernetes.audience: " in verdict.message
        assert asked == [] and world.tokens == [], "a token with that audience was made"
    else:
        assert verdict.ready, verdict.message
        assert asked == [["vault"]]
        (token,) = world.tokens
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["aud"] == ["vault"], "Vault got a token for Vault only"


class _NoLearning(PathKube):
    """The API answers every TokenRequest but the one made without audiences (an outage)."""

    def request_token(
        self, namespace: str, service_account: str, *, audiences: Sequence[str], seconds: int
    ) -> str:
        if not audiences:
            self.token_audiences.append(("learning", []))
            raise KubeUnavailable("cannot reach the Kubernetes API", status=0)
        return super().request_token(
            namespace, service_account, audiences=audiences, seconds=seconds
        )


@pytest.mark.parametrize(
    "audience",
    [
        pytest.param("vault", id="vaults-own: still refused, any audience may be the API's"),
        pytest.param("https://oidc.example/unknown", id="an-issuer-the-controller-cannot-check"),
    ],
)
def test_no_token_at_all_while_the_api_servers_audiences_are_unknown(audience: str) -> None:
    """Fail closed: the refusal list is only complete once learned, so nothing is asked first."""
    world = World(_NoLearning(api_audiences=[LEARNED]))
    k8s = {"role": "r", "audience": audience}
    world.kube.put(VAULT_CONNECTIONS, connection("k8s", TENANT, {"kubernetes": k8s}))
    verdict = world.vault_secret(connectionRef={"kind": "VaultConnection", "name": "k8s"}).verdict
    assert (verdict.ready, verdict.reason) == (False, "Forbidden"), verdict.message
    assert "spec.auth.kubernetes.serviceAccountName: cannot tell" in verdict.message
    assert verdict.retry_after is not None and verdict.retry_after <= 60, "retried, not stuck"
    assert [aud for _, aud in world.kube.token_audiences if aud] == [], "a token was asked for"
    assert world.tokens == []


def test_configured_api_audiences_are_refused_even_when_not_among_the_learned() -> None:
    world = World(api_audiences=["https://api.internal.example"])
    k8s = {"role": "r", "audience": "https://api.internal.example"}
    world.kube.put(VAULT_CONNECTIONS, connection("k8s", TENANT, {"kubernetes": k8s}))
    verdict = world.vault_secret(connectionRef={"kind": "VaultConnection", "name": "k8s"}).verdict
    assert verdict.reason == "InvalidSpec" and "audience" in verdict.message
    assert world.tokens == []


def test_the_audiences_are_learned_once() -> None:
    world = World(PathKube(api_audiences=[LEARNED]))
    world.kube.put(VAULT_CONNECTIONS, connection("k8s", TENANT, {"kubernetes": {"role": "r"}}))
    for name in ("a", "b", "c"):
        ref: dict[str, Any] = {"connectionRef": {"kind": "VaultConnection", "name": "k8s"}}
        assert world.vault_secret(name=name, **ref).verdict.ready
    learning = [aud for _, aud in world.kube.token_audiences if not aud]
    assert learning == [[]]
