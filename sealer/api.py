"""The sealops API's own words, in one place: what every other module says about our objects.

- the group, the version and the kinds (ours and Bitnami's);
- every resource the code reads or writes, as a :class:`~sealer.kube.ResourceRef`;
- every annotation and label name, ours and the peers' we honour;
- the ``Ready`` condition's reasons (:class:`Reason`), each with its retry class and whether
  Argo CD shows it as Degraded, and the reasons of the Events that are not conditions;
- typed views (``TypedDict``) of the bodies the code reads: SealedSecret, VaultSecret,
  VaultConnection, ClusterVaultConnection and Secret, with :func:`metadata`, :func:`spec` and
  :func:`status` to read them.

The CLI, the renderer, the controller, the tests and the demo import these names; none spells a
group, an annotation or a reason itself. The CRDs, the Argo CD health checks and the docs' tables
are checked against :class:`Reason` by a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict, cast

from sealer.kube import ResourceRef
from sealer.reasons import EventReason, Reason, Retry

__all__ = [
    "ANN_DATA_HASH",
    "ANN_DATA_KEYS",
    "ANN_FINGERPRINT",
    "ANN_FORCE_SYNC",
    "ANN_KEY_ORIGIN",
    "ANN_MANAGED",
    "ANN_OWNED_BY",
    "ANN_RESTARTED_AT",
    "ANN_SCOPE",
    "ANN_SEALED_WITH",
    "ANN_SOURCE_HASH",
    "ANN_TEMPLATE_ENGINE",
    "API_VERSION",
    "BITNAMI_API_VERSION",
    "BITNAMI_CLUSTER_WIDE",
    "BITNAMI_GROUP",
    "BITNAMI_KEY_LABEL",
    "BITNAMI_MANAGED",
    "BITNAMI_NAMESPACE_WIDE",
    "BITNAMI_PATCH",
    "BITNAMI_SEALED_SECRET",
    "BITNAMI_SEALED_SECRETS",
    "BITNAMI_SKIP_OWNER_REFERENCES",
    "CLUSTER_PEERINGS",
    "CLUSTER_VAULT_CONNECTION",
    "CLUSTER_VAULT_CONNECTIONS",
    "CUSTOM_RESOURCE_DEFINITIONS",
    "DAEMONSETS",
    "DEPLOYMENTS",
    "ENDPOINTS",
    "EVENTS",
    "GROUP",
    "KOPF_FINALIZER",
    "LABEL_MANAGED_BY",
    "LABEL_SEALING_KEY",
    "LAST_APPLIED",
    "MANAGED_BY_VALUE",
    "NAMESPACES",
    "PEERINGS",
    "READY",
    "RECONCILING",
    "RESERVED_PREFIX",
    "SEALED_SECRET",
    "SEALED_SECRETS",
    "SECRETS",
    "SERVICES",
    "SERVICE_ACCOUNTS",
    "STALLED",
    "STATEFULSETS",
    "SYNCED",
    "VAULT_CONNECTION",
    "VAULT_CONNECTIONS",
    "VAULT_SECRET",
    "VAULT_SECRETS",
    "VERSION",
    "WORKLOADS",
    "ClusterVaultConnectionBody",
    "ClusterVaultConnectionSpec",
    "Condition",
    "EventReason",
    "Kind",
    "ObjectMeta",
    "Reason",
    "Retry",
    "SealedSecretBody",
    "SealedSecretSpec",
    "SecretBody",
    "SecretTemplate",
    "Status",
    "VaultConnectionBody",
    "VaultConnectionSpec",
    "VaultSecretBody",
    "VaultSecretSpec",
    "VaultTarget",
    "metadata",
    "object_key",
    "spec",
    "status",
]

# --- group, version, kinds ---------------------------------------------------------------------

GROUP = "sealops.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
BITNAMI_GROUP = "bitnami.com"
BITNAMI_API_VERSION = f"{BITNAMI_GROUP}/v1alpha1"

Kind = Literal[
    "SealedSecret",
    "SealedSecret.bitnami.com",
    "VaultSecret",
    "VaultConnection",
    "ClusterVaultConnection",
]
SEALED_SECRET: Kind = "SealedSecret"  # noqa: S105 - a kind name
#: Bitnami's SealedSecret (``--bitnami-compat``), named ``kind.group`` as kubectl names it, so
#: the queue, the metrics and ``sealops.dev/owned-by`` tell it from ours; its body's ``kind``
#: (and an ownerReference's) is :data:`SEALED_SECRET`.
BITNAMI_SEALED_SECRET: Kind = "SealedSecret.bitnami.com"  # noqa: S105 - a kind name
VAULT_SECRET: Kind = "VaultSecret"  # noqa: S105 - a kind name
VAULT_CONNECTION: Kind = "VaultConnection"
CLUSTER_VAULT_CONNECTION: Kind = "ClusterVaultConnection"

# --- resources ---------------------------------------------------------------------------------

SEALED_SECRETS = ResourceRef(GROUP, VERSION, "sealedsecrets")
#: Bitnami's, reconciled where they are with ``--bitnami-compat``.
BITNAMI_SEALED_SECRETS = ResourceRef(BITNAMI_GROUP, "v1alpha1", "sealedsecrets")
VAULT_SECRETS = ResourceRef(GROUP, VERSION, "vaultsecrets")
VAULT_CONNECTIONS = ResourceRef(GROUP, VERSION, "vaultconnections")
CLUSTER_VAULT_CONNECTIONS = ResourceRef(GROUP, VERSION, "clustervaultconnections", namespaced=False)
SECRETS = ResourceRef("", "v1", "secrets")
EVENTS = ResourceRef("", "v1", "events")
SERVICES = ResourceRef("", "v1", "services", name_rule="dns1035")
SERVICE_ACCOUNTS = ResourceRef("", "v1", "serviceaccounts")
DEPLOYMENTS = ResourceRef("apps", "v1", "deployments")
STATEFULSETS = ResourceRef("apps", "v1", "statefulsets")
DAEMONSETS = ResourceRef("apps", "v1", "daemonsets")
#: Read by the demo and the tests, never by the controller.
NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, name_rule="label")
ENDPOINTS = ResourceRef("", "v1", "endpoints", name_rule="dns1035")
CUSTOM_RESOURCE_DEFINITIONS = ResourceRef(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False
)
#: kopf's peering objects (the HA leader choice), namespaced and cluster-wide.
PEERINGS = ResourceRef("kopf.dev", "v1", "kopfpeerings")
CLUSTER_PEERINGS = ResourceRef("kopf.dev", "v1", "clusterkopfpeerings", namespaced=False)

#: The workloads a VaultSecret may restart (``spec.rolloutRestartTargets[].kind``).
WORKLOADS: Mapping[str, ResourceRef] = {
    "Deployment": DEPLOYMENTS,
    "StatefulSet": STATEFULSETS,
    "DaemonSet": DAEMONSETS,
}

# --- annotations and labels --------------------------------------------------------------------

#: Labels and annotations under this prefix are the controller's: a template never sets them.
RESERVED_PREFIX = f"{GROUP}/"
#: On a SealedSecret: strict, namespace-wide or cluster-wide.
ANN_SCOPE = f"{GROUP}/scope"
#: On a SealedSecret: the fingerprints each value was sealed for (a decrypt hint).
ANN_SEALED_WITH = f"{GROUP}/sealed-with"
#: On a SealedSecret: the dialect of ``template.data``, ``jinja2`` (also when absent) or ``go``
#: (Go ``text/template`` with Sprig, as Bitnami renders it; ``seal migrate`` sets it).
ANN_TEMPLATE_ENGINE = f"{GROUP}/template-engine"
#: On a Secret the controller manages: the value of :data:`LABEL_MANAGED_BY`.
LABEL_MANAGED_BY = f"{GROUP}/managed-by"
MANAGED_BY_VALUE = "sealops"
#: On an existing Secret: "true" lets the controller take it over.
ANN_MANAGED = f"{GROUP}/managed"
#: On a managed Secret: ``Kind/name`` of the object it was written for.
ANN_OWNED_BY = f"{GROUP}/owned-by"
#: On a managed Secret: keyed HMAC over its managed keys and values, and the keys' names.
ANN_DATA_HASH = f"{GROUP}/data-hash"
ANN_DATA_KEYS = f"{GROUP}/data-keys"
ANN_SOURCE_HASH = f"{GROUP}/source-hash"  # on a SealedSecret's Secret: controller.sourcehash
#: On a workload's pod template: when a VaultSecret's change restarted it.
ANN_RESTARTED_AT = f"{GROUP}/restartedAt"
#: On a VaultSecret: any new value makes the controller read Vault afresh.
ANN_FORCE_SYNC = f"{GROUP}/force-sync"
#: On a sealing-key Secret: the key label ("active"), its fingerprint and its origin mark.
LABEL_SEALING_KEY = f"{GROUP}/sealing-key"
ANN_FINGERPRINT = f"{GROUP}/fingerprint"
ANN_KEY_ORIGIN = f"{GROUP}/key-origin"
#: kopf's finalizer name: configured, never added (no handler needs one).
KOPF_FINALIZER = f"{GROUP}/kopf-finalizer"
#: Bitnami's scope annotations and its sealing-key label.
BITNAMI_NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide"
BITNAMI_CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
BITNAMI_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
#: Bitnami's per-object annotations, honoured for bitnami.com objects (exactly ``"true"``): on the
#: existing Secret, ``managed`` (take it over) and ``patch`` (merge into it); on the template,
#: ``skip-set-owner-references`` (no ownerReference).
BITNAMI_MANAGED = "sealedsecrets.bitnami.com/managed"
BITNAMI_PATCH = "sealedsecrets.bitnami.com/patch"
BITNAMI_SKIP_OWNER_REFERENCES = "sealedsecrets.bitnami.com/skip-set-owner-references"
#: kubectl's copy of the applied object: never carried into what we write.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# --- the status conditions --------------------------------------------------------------------

READY = "Ready"
#: kstatus's two "abnormal-true" conditions, beside ``Ready``: a retry of a failure that may pass
#: (Reconciling) and a failure only a change can end (Stalled); both False otherwise.
RECONCILING = "Reconciling"
STALLED = "Stalled"
#: Bitnami's condition, written beside ``Ready`` on bitnami.com objects (Argo CD's health check).
SYNCED = "Synced"

# --- typed views of the bodies we read --------------------------------------------------------


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    labels: dict[str, str]
    annotations: dict[str, str]
    deletionTimestamp: str
    ownerReferences: list[dict[str, Any]]


class Condition(TypedDict, total=False):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str
    lastTransitionTime: str
    lastUpdateTime: str  # Bitnami's Synced condition
    observedGeneration: int


class Status(TypedDict, total=False):
    observedGeneration: int
    conditions: list[Condition]
    secretName: str
    sealedWith: list[str]
    lastSyncTime: str


class SecretTemplate(TypedDict, total=False):
    metadata: ObjectMeta
    type: str
    immutable: bool
    data: dict[str, str]


class SealedSecretSpec(TypedDict, total=False):
    encryptedData: dict[str, str]
    template: SecretTemplate


class SealedSecretBody(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: SealedSecretSpec
    status: Status


class VaultTarget(TypedDict, total=False):
    name: str
    creationPolicy: Literal["Owner", "Merge", "Orphan"]
    type: str
    template: SecretTemplate


class VaultSecretSpec(TypedDict, total=False):
    connectionRef: dict[str, str]
    refreshInterval: str
    target: VaultTarget
    data: list[dict[str, Any]]  # key, ref, templateOnly
    dataFrom: list[dict[str, str]]
    rolloutRestartTargets: list[dict[str, str]]


class VaultSecretBody(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: VaultSecretSpec
    status: Status


class VaultConnectionSpec(TypedDict, total=False):
    address: str
    namespace: str
    kvVersion: int
    caSecretRef: dict[str, str]
    tlsServerName: str
    timeoutSeconds: int
    auth: dict[str, Any]


class ClusterVaultConnectionSpec(VaultConnectionSpec, total=False):
    allowedNamespaces: list[str]


class VaultConnectionBody(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: VaultConnectionSpec


class ClusterVaultConnectionBody(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: ClusterVaultConnectionSpec


class SecretBody(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    type: str
    immutable: bool
    data: dict[str, str]
    stringData: dict[str, str]


def _mapping(value: object) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, Mapping) else {}


def metadata(body: Mapping[str, Any]) -> ObjectMeta:
    """The body's ``metadata`` (empty if absent or not a mapping)."""
    return cast(ObjectMeta, _mapping(body.get("metadata")))


def spec(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body's ``spec`` (empty if absent or not a mapping); cast it to the kind's spec."""
    return _mapping(body.get("spec"))


def status(body: Mapping[str, Any]) -> Status:
    """The body's ``status`` (empty if absent or not a mapping)."""
    return cast(Status, _mapping(body.get("status")))


def object_key(body: Mapping[str, Any]) -> str:
    """``namespace/name``: how locks, queues and logs name one object."""
    meta = metadata(body)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
