"""A Kubernetes API emulator for integration tests and the local sandbox.

An in-memory aiohttp server on loopback that speaks the real REST protocol, so the
``kubernetes`` package, kopf and ``kubectl`` talk to it over HTTP exactly as to a cluster:
discovery; server-set metadata (uid, one resourceVersion counter, generation, creationTimestamp,
generateName); get, list (label and field selectors, limit/continue), watch (from a
resourceVersion, bounded history, timeouts, bookmarks, 410 Gone), create, update, patch (merge,
JSON, strategic) and delete (finalizers, ownerReference garbage collection); the status
subresource; metadata validation (names, labels, annotations, ownerReferences); Secret
``stringData``, ``immutable`` and typed-Secret keys; Events; CRDs with openAPIV3Schema pruning,
defaulting and validation; kubectl's protobuf bodies for a few kinds; the service proxy;
TokenRequest and TokenReview; fault injection; a record of every write by User-Agent and
field manager; ``Status`` errors. Start it with
``python -m sandbox.kubeapi --port N`` or the ``kubeapi`` pytest fixture
(:mod:`sandbox.kubeapi.pytest_plugin`).

What it does NOT do:

- RBAC: every caller may do everything (``deploy/`` RBAC is checked by a unit test instead).
- Authentication of callers: bearer tokens and client certificates are ignored.
- TLS: plain HTTP only.
- Admission webhooks (mutating or validating) and CEL ``x-kubernetes-validations``.
- Server-side apply (``application/apply-patch+yaml`` gets 415) and ``managedFields``.
- Namespace lifecycle: objects may live in namespaces that do not exist, and deleting a
  namespace does not delete what is in it.
- Controllers: no Deployments roll out, no Pods run, no Endpoints follow Services (tests write
  Endpoints themselves); only the garbage collector is emulated. Foreground deletion is
  approximated (dependents go first, without the ``foregroundDeletion`` finalizer).
- CRD version conversion (versions share storage, only ``apiVersion`` changes).
- Server-side table columns beyond Secret, ConfigMap, Namespace, ServiceAccount, Service and
  Deployment; OpenAPI schemas (so no ``kubectl explain``).
"""

from __future__ import annotations

from sandbox.kubeapi.cluster import Cluster
from sandbox.kubeapi.faults import Fault, Faults
from sandbox.kubeapi.harness import KubeApiProcess, RunningKubeApi
from sandbox.kubeapi.server import KubeApi
from sandbox.kubeapi.writes import Write, Writes

__all__ = [
    "Cluster",
    "Fault",
    "Faults",
    "KubeApi",
    "KubeApiProcess",
    "RunningKubeApi",
    "Write",
    "Writes",
]
