"""An in-memory, hand-written fake of :class:`sealer.kube.Kube` for unit tests.

It keeps objects per (plural, namespace, name), sets uid/resourceVersion/generation, answers 404
and 409 the way the API does, separates the status subresource, and records every call as
``(verb, group, plural[/subresource])`` so tests can compare them with the RBAC rules.

Every call builds its request path with :meth:`ResourceRef.path` as the real client does, so a
name or namespace the API server would refuse (``../x``, ``A``, ``""``, a missing namespace for
a namespaced kind) raises :class:`InvalidName` here too, before anything is stored or recorded.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sealer.api import SERVICE_ACCOUNTS
from sealer.kube import (
    KubeConflict,
    KubeInvalid,
    KubeNotFound,
    KubeUnavailable,
    ResourceRef,
    check_label_selector,
    check_name,
    check_namespace,
)

Key = tuple[str, str, str, str]  # group, plural, namespace, name


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _selected(obj: Mapping[str, Any], selector: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif labels.get(term) is None:
            return False
    return True


class FakeKube:
    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.fail_next: dict[tuple[str, str], Exception] = {}  # (verb, plural) -> error
        self._rv = itertools.count(1)

    # -- helpers for tests ------------------------------------------------------------------

    def put(self, ref: ResourceRef, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store an object as if someone else had created it (not recorded as our call)."""
        meta = body.get("metadata") or {}
        obj = self._stamp(copy.deepcopy(dict(body)), None)
        self.objects[(ref.group, ref.plural, meta.get("namespace") or "", meta["name"])] = obj
        return obj

    def find(self, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.objects.get((ref.group, ref.plural, namespace or "", name))

    def verbs(self) -> set[tuple[str, str, str]]:
        return set(self.calls)

    # -- the protocol -----------------------------------------------------------------------

    def _record(self, verb: str, ref: ResourceRef, sub: str = "") -> None:
        self.calls.append((verb, ref.group, ref.plural + (f"/{sub}" if sub else "")))
        error = self.fail_next.pop((verb, ref.plural), None)
        if error is not None:
            raise error

    def _stamp(self, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(next(self._rv))
        if old is None:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("generation", 1)
        else:
            meta["uid"] = old["metadata"]["uid"]
            spec_changed = old.get("spec") != obj.get("spec")
            meta["generation"] = old["metadata"].get("generation", 1) + (1 if spec_changed else 0)
        return obj

    def get(self, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any]:
        ref.item_path(namespace, name)
        self._record("get", ref)
        obj = self.find(ref, namespace, name)
        if obj is None:
            raise KubeNotFound(
                "404 not found", where=f"get {ref.plural} {namespace}/{name}", status=404
            )
        return copy.deepcopy(obj)

    def list(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str = ""
    ) -> list[dict[str, Any]]:
        ref.path(namespace)
        check_label_selector(label_selector)
        self._record("list", ref)
        return [
            copy.deepcopy(obj)
            for (group, plural, ns, _), obj in sorted(self.objects.items())
            if group == ref.group
            and plural == ref.plural
            and (namespace is None or ns == namespace)
            and _selected(obj, label_selector)
        ]

    def create(
        self, ref: ResourceRef, namespace: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        if ref.namespaced:
            check_namespace(namespace)
        ref.path(namespace)
        obj = copy.deepcopy(dict(body))
        meta = obj.setdefault("metadata", {})
        if meta.get("name") is not None or not meta.get("generateName"):
            check_name(ref, meta.get("name"))
        self._record("create", ref)
        if namespace:
            meta["namespace"] = namespace
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        key = (ref.group, ref.plural, namespace or "", meta["name"])
        if key in self.objects:
            raise KubeConflict("409 already exists", where=f"create {ref.plural}", status=409)
        self.objects[key] = self._stamp(obj, None)
        return copy.deepcopy(self.objects[key])

    def replace(
        self, ref: ResourceRef, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        ref.item_path(namespace, name)
        self._record("update", ref)
        key = (ref.group, ref.plural, namespace or "", name)
        old = self.objects.get(key)
        if old is None:
            raise KubeNotFound("404 not found", where=f"update {ref.plural}", status=404)
        sent_rv = (body.get("metadata") or {}).get("resourceVersion")
        if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
            raise KubeConflict(
                "409 stale resourceVersion", where=f"update {ref.plural}", status=409
            )
        if old.get("immutable") and old.get("data") != body.get("data"):
            raise KubeInvalid("422 field is immutable", where=f"update {ref.plural}", status=422)
        obj = copy.deepcopy(dict(body))
        obj["status"] = copy.deepcopy(old.get("status"))
        if obj["status"] is None:
            obj.pop("status")
        self.objects[key] = self._stamp(obj, old)
        return copy.deepcopy(self.objects[key])

    def patch(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        ref.item_path(namespace, name, subresource)
        self._record("patch", ref, subresource)
        key = (ref.group, ref.plural, namespace or "", name)
        old = self.objects.get(key)
        if old is None:
            raise KubeNotFound("404 not found", where=f"patch {ref.plural}", status=404)
        obj = copy.deepcopy(old)
        if subresource == "status":
            obj["status"] = _merge(obj.get("status") or {}, body.get("status") or {})
        else:
            _merge(obj, {k: v for k, v in body.items() if k != "status"})
        self.objects[key] = self._stamp(obj, old)
        return copy.deepcopy(self.objects[key])

    def request_token(
        self, namespace: str, service_account: str, *, audiences: Sequence[str], seconds: int
    ) -> str:
        accounts = SERVICE_ACCOUNTS
        accounts.item_path(namespace, service_account, "token")
        self._record("create", accounts, "token")
        if self.find(accounts, namespace, service_account) is None:
            raise KubeNotFound("404 serviceaccount not found", status=404)
        # A compact JWS as the API server returns one: no audiences asked, its own.
        claims = {
            "aud": list(audiences) or [API_AUDIENCE],
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
        }
        return ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "RS256"}, claims, {"fake": "signature"})
        )


#: The audience the fake API server gives a token requested without audiences.
API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def unavailable() -> KubeUnavailable:
    return KubeUnavailable("cannot reach the Kubernetes API", status=0)
