"""The resource types the emulator serves: the built-in table and those that CRDs add.

A :class:`ResourceType` is one (group, version, plural) as discovery shows it, plus the few facts
the write path needs: whether it is namespaced, whether it has a ``status`` subresource, whether
the real server keeps ``metadata.generation`` for it. Objects are stored per (group, plural), so
all versions of a CRD share one storage, as with a real CRD whose versions need no conversion.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    has_status: bool = False
    # The real server keeps metadata.generation only for some kinds (those with a spec that a
    # controller reconciles); Secrets, ConfigMaps, Services and Pods have none.
    has_generation: bool = False
    subresources: tuple[str, ...] = ()  # beyond status, e.g. serviceaccounts/token
    custom: bool = False  # served from a CustomResourceDefinition
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    categories: tuple[str, ...] = ()
    # How the real server validates metadata.name for this kind (see metadata.name_problem):
    # "subdomain" (most kinds, custom resources), "label" (Namespace), "dns1035" (Service),
    # "path" (only a valid path segment: RBAC objects, PersistentVolumeClaims).
    name_rule: str = "subdomain"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: one store per group and plural, whatever the version."""
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def discovery_entries(self) -> list[dict[str, Any]]:
        main: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        entries = [main]
        if self.has_status:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        for sub in self.subresources:
            entries.append(
                {
                    "name": f"{self.plural}/{sub}",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": "TokenRequest" if sub == "token" else self.kind,
                    "group": "authentication.k8s.io" if sub == "token" else self.group,
                    "version": "v1",
                    "verbs": ["create"],
                }
            )
        return entries


def _builtin() -> list[ResourceType]:
    rt = ResourceType
    # One row per built-in resource, kept one per line so the table reads as a table.
    return [
        rt("", "v1", "namespaces", "Namespace", False, short_names=("ns",), has_status=True,
           name_rule="label"),
        rt("", "v1", "secrets", "Secret", True),
        rt("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",)),
        rt("", "v1", "events", "Event", True, short_names=("ev",)),
        rt("", "v1", "services", "Service", True, short_names=("svc",), has_status=True,
           name_rule="dns1035"),
        rt("", "v1", "endpoints", "Endpoints", True, short_names=("ep",)),
        rt(
            "", "v1", "serviceaccounts", "ServiceAccount", True, short_names=("sa",),
            subresources=("token",),
        ),
        rt("", "v1", "pods", "Pod", True, short_names=("po",), has_status=True),
        rt("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True,
           short_names=("pvc",), has_status=True, name_rule="path"),
        rt("apps", "v1", "deployments", "Deployment", True,
           short_names=("deploy",), has_status=True, has_generation=True),
        rt("apps", "v1", "statefulsets", "StatefulSet", True,
           short_names=("sts",), has_status=True, has_generation=True),
        rt("apps", "v1", "daemonsets", "DaemonSet", True,
           short_names=("ds",), has_status=True, has_generation=True),
        rt("apps", "v1", "replicasets", "ReplicaSet", True,
           short_names=("rs",), has_status=True, has_generation=True),
        rt("events.k8s.io", "v1", "events", "Event", True, short_names=("ev",)),
        rt(
            "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
            False, short_names=("crd", "crds"), has_status=True, has_generation=True,
        ),
        rt("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=CREATE_ONLY),
        rt("coordination.k8s.io", "v1", "leases", "Lease", True),
        rt("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, has_generation=True),
        rt("rbac.authorization.k8s.io", "v1", "roles", "Role", True, name_rule="path"),
        rt("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, name_rule="path"),
        rt("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, name_rule="path"),
        rt("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, name_rule="path"),
        rt("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True,
           short_names=("netpol",), has_generation=True),
        rt("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True,
           short_names=("pdb",), has_status=True, has_generation=True),
    ]  # fmt: skip


class Registry:
    """Served resource types by (group, version, plural), in discovery order."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for t in _builtin():
            self.add(t)

    def add(self, t: ResourceType) -> None:
        self._types[(t.group, t.version, t.plural)] = t

    def remove(self, group: str, plural: str) -> None:
        for key in [k for k in self._types if k[0] == group and k[2] == plural]:
            del self._types[key]

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def all(self) -> Iterable[ResourceType]:
        return self._types.values()

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for t in self._types.values():
            if t.api_version == api_version and t.kind == kind:
                return t
        return None

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions, in registration order (preferred version first)."""
        out: dict[str, list[str]] = {}
        for group, version, _ in self._types:
            versions = out.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for (g, v, _), t in self._types.items() if g == group and v == version]
