"""The emulated cluster's state and verbs, without HTTP: get, list, create, update, patch, delete.

:class:`Cluster` owns the registry of served types, the store, the token issuer and the fault
registry; :mod:`sandbox.kubeapi.server` maps HTTP requests onto its methods. Each verb follows
https://kubernetes.io/docs/reference/using-api/api-concepts/ : optimistic concurrency on
resourceVersion, finalizers before removal, garbage collection of dependents by ownerReference
(https://kubernetes.io/docs/concepts/architecture/garbage-collection/), no-op writes that store
nothing and notify nobody.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.kubeapi import crds, strategy
from sandbox.kubeapi.collector import GarbageCollector
from sandbox.kubeapi.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    not_found,
)
from sandbox.kubeapi.faults import Faults
from sandbox.kubeapi.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from sandbox.kubeapi.resources import Registry, ResourceType
from sandbox.kubeapi.schema import CompiledSchema
from sandbox.kubeapi.selectors import FieldSelector, LabelSelector, combine
from sandbox.kubeapi.store import ResKey, Store
from sandbox.kubeapi.tokens import TokenIssuer, token_request, token_review
from sandbox.kubeapi.writes import Writes

Obj = dict[str, Any]
CRD_KEY: ResKey = ("apiextensions.k8s.io", "customresourcedefinitions")
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def view(rt: ResourceType, obj: Obj) -> Obj:
    """``obj`` seen through ``rt.version``: CRD versions share storage, without conversion."""
    if obj.get("apiVersion") == rt.api_version:
        return obj
    return {**obj, "apiVersion": rt.api_version}


def _position(obj: Obj) -> tuple[str, str]:
    """Where an object sorts in a list: namespace, then name (the store's order)."""
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


class Cluster:
    def __init__(self, *, window: int = 1000) -> None:
        self.registry = Registry()
        self.store = Store(window=window)
        self.tokens = TokenIssuer()
        self.faults = Faults()
        self.writes = Writes()  # every write request, by sender (sandbox.kubeapi.writes)
        self.token_reviews = 0  # TokenReviews answered: tests check a Vault really asked
        self._schemas: dict[tuple[str, str, str], CompiledSchema] = {}
        # How garbage collection runs after a delete; the server makes it a later loop callback,
        # so an owner's DELETE answers before its dependents go, as with the real collector.
        self.defer: Callable[[Callable[[], None]], None] = lambda fn: fn()
        self.collector = GarbageCollector(self.store, self.registry, self.delete)
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(self.type_of("", "v1", "namespaces"), "", {"metadata": {"name": ns}})

    # -- lookup ---------------------------------------------------------------------------------

    def type_of(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.registry.lookup(group, version, plural)
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return rt

    def _existing(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.store.get(rt.key, namespace, name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        return view(rt, self._existing(rt, namespace, name))

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
        continue_token: str | None = None,
    ) -> Obj:
        labels = LabelSelector.parse(label_selector)
        fields = FieldSelector.parse(field_selector, rt.kind)
        matches = combine(labels, fields)
        start: tuple[str, str] | None = None
        if continue_token:
            try:
                namespace_part, name_part = json.loads(base64.b64decode(continue_token))["start"]
            except (ValueError, KeyError, TypeError) as exc:
                raise bad_request("invalid continue token") from exc
            start = (str(namespace_part), str(name_part))
        items: list[Obj] = []
        next_token = None
        for obj in self._candidates(rt, namespace, fields):
            if start is not None and _position(obj) <= start:
                continue
            if not matches(obj):
                continue
            if limit and len(items) == limit:
                # The token is where the page ended; the next page starts after it.
                next_token = base64.b64encode(json.dumps({"start": _position(items[-1])}).encode())
                break
            items.append(view(rt, obj))
        meta_out: Obj = {"resourceVersion": str(self.store.resource_version)}
        if next_token:
            meta_out["continue"] = next_token.decode()
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": meta_out,
            "items": items,
        }

    def _candidates(self, rt: ResourceType, namespace: str | None, fields: FieldSelector) -> Any:
        name = fields.name
        if name is not None and namespace is not None:
            obj = self.store.get(rt.key, namespace, name)
            return [obj] if obj is not None else []
        return self.store.list(rt.key, namespace)

    # -- writes ---------------------------------------------------------------------------------

    def _check_schema(self, rt: ResourceType, obj: Obj) -> Obj:
        schema = self._schemas.get((rt.group, rt.version, rt.plural))
        if schema is None:
            return obj
        obj = schema.apply(obj)
        errors = schema.errors(obj)
        if errors:
            raise invalid(rt.kind, rt.group, obj["metadata"]["name"], errors)
        return obj

    def create(self, rt: ResourceType, namespace: str, body: Obj, *, dry_run: bool = False) -> Obj:
        if "create" not in rt.verbs:
            raise ApiError(405, "MethodNotAllowed", f"create is not supported on {rt.plural}")
        if not isinstance(body, dict):
            raise bad_request("the body of the request is not a JSON object")
        obj = strategy.prepare_create(rt, body, namespace=namespace, now=now())
        obj = self._check_schema(rt, obj)
        meta = obj["metadata"]
        if self.store.get(rt.key, meta.get("namespace", ""), meta["name"]) is not None:
            raise already_exists(rt.plural, rt.group, meta["name"])
        if rt.key == CRD_KEY:
            crds.check(obj)
            obj = crds.established(obj, now())
        if dry_run:
            return obj
        stored = self.store.put(rt.key, obj, prev=None)
        if rt.key == CRD_KEY:
            self._serve_crd(stored)
        self._collect_if_owners_absent(rt, stored)
        return stored

    def _collect_if_owners_absent(self, rt: ResourceType, obj: Obj) -> None:
        """A dependent written after all its owners are gone is collected, as the real collector
        does when it finds every owner absent (a race: the writer read the owner before its
        deletion). https://kubernetes.io/docs/concepts/architecture/garbage-collection/"""
        meta = obj["metadata"]
        refs = meta.get("ownerReferences") or []
        if not refs or any(self.store.by_uid(r.get("uid", "")) for r in refs):
            return
        namespace, name = meta.get("namespace", ""), meta["name"]

        def collect() -> None:
            current = self.store.get(rt.key, namespace, name)
            if current is None or current["metadata"].get("uid") != meta.get("uid"):
                return
            owners = current["metadata"].get("ownerReferences") or []
            if owners and not any(self.store.by_uid(r.get("uid", "")) for r in owners):
                self.delete(rt, namespace, name, {"propagationPolicy": "Background"})

        self.defer(collect)

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        if not isinstance(body, dict):
            raise bad_request("the body of the request is not a JSON object")
        old = self._existing(rt, namespace, name)
        new = strategy.prepare_update(rt, old, body, subresource=subresource)
        return self._commit(rt, old, new, dry_run=dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        patch: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        old = self._existing(rt, namespace, name)
        current = view(rt, old)
        try:
            if content_type == MERGE:
                patched = merge_patch(current, patch)
            elif content_type == JSON_PATCH:
                patched = json_patch(current, patch)
            else:
                patched = strategic_merge_patch(current, patch)
        except PatchError as exc:
            raise ApiError(422, "Invalid", str(exc)) from exc
        if not isinstance(patched, dict):
            raise bad_request("the patched object is not a JSON object")
        new = strategy.prepare_update(rt, old, patched, subresource=subresource)
        return self._commit(rt, old, new, dry_run=dry_run)

    def _commit(self, rt: ResourceType, old: Obj, new: Obj, *, dry_run: bool) -> Obj:
        new = self._check_schema(rt, new)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == view(rt, old):
            return new if dry_run else view(rt, old)  # no-op: no new version, no event
        if rt.key == CRD_KEY:
            crds.check(new)
        if dry_run:
            return new
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            gone_obj = self.store.remove(rt.key, new)
            self._after_removal(rt, gone_obj, "Background")
            return gone_obj
        stored = self.store.put(rt.key, new, prev=old)
        if rt.key == CRD_KEY:
            self._serve_crd(stored)
        self._collect_if_owners_absent(rt, stored)
        return stored

    # -- delete and garbage collection ----------------------------------------------------------

    def delete(self, rt: ResourceType, namespace: str, name: str, options: Obj) -> Obj:
        obj = self._existing(rt, namespace, name)
        meta = obj["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            raise conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, "
                f"UID in object meta: {meta['uid']}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            raise conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        policy = policy or "Background"
        if policy not in ("Orphan", "Background", "Foreground"):
            raise bad_request(f"propagationPolicy: Unsupported value: {policy!r}")
        if options.get("dryRun"):
            return view(rt, obj)
        if policy == "Orphan":
            self.collector.orphan(meta["uid"])
        elif policy == "Foreground":
            # Approximation: dependents are deleted before the owner, not awaited by a finalizer.
            self.collector.collect(meta["uid"])
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return view(rt, obj)
            marked = copy.deepcopy(obj)
            marked["metadata"]["deletionTimestamp"] = now()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            if "generation" in marked["metadata"]:
                marked["metadata"]["generation"] += 1
            return view(rt, self.store.put(rt.key, marked, prev=obj))
        gone_obj = self.store.remove(rt.key, obj)
        self._after_removal(rt, gone_obj, policy)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": meta["uid"]},
        }

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        options: Obj,
        *,
        label_selector: str | None,
        field_selector: str | None,
    ) -> Obj:
        listed = self.list(
            rt, namespace, label_selector=label_selector, field_selector=field_selector
        )
        for obj in listed["items"]:
            meta = obj["metadata"]
            if self.store.get(rt.key, meta.get("namespace", ""), meta["name"]) is not None:
                self.delete(rt, meta.get("namespace", ""), meta["name"], options)
        return listed

    def _after_removal(self, rt: ResourceType, obj: Obj, policy: str) -> None:
        if rt.key == CRD_KEY:
            self._unserve_crd(obj)
        if policy != "Orphan":
            uid = obj["metadata"]["uid"]
            self.defer(lambda: self.collector.collect(uid))

    # -- CRDs -----------------------------------------------------------------------------------

    def _serve_crd(self, crd: Obj) -> None:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        known = any(rt.key == (group, plural) for rt in self.registry.all())
        self._forget_types(group, plural)
        for rt, schema in crds.served_types(crd):
            self.registry.add(rt)
            if schema is not None:
                self._schemas[(group, rt.version, plural)] = schema
        if not known:
            self.store.hub.open_window((group, plural), self.store.resource_version)

    def _forget_types(self, group: str, plural: str) -> None:
        self.registry.remove(group, plural)
        for key in [k for k in self._schemas if k[0] == group and k[2] == plural]:
            del self._schemas[key]

    def _unserve_crd(self, crd: Obj) -> None:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        self._forget_types(group, plural)
        self.store.drop_resource((group, plural))

    # -- watches --------------------------------------------------------------------------------

    def cut_watches(self, plural: str | None = None) -> int:
        """End open watch streams (of one plural, or all); returns how many were cut."""
        keys = {rt.key for rt in self.registry.all() if plural in (None, rt.plural)}
        return sum(self.store.hub.cut(key) for key in keys)

    # -- tokens ---------------------------------------------------------------------------------

    def request_token(self, namespace: str, name: str, body: Obj) -> Obj:
        return token_request(self.tokens, self.store, namespace, name, body)

    def review_token(self, body: Obj) -> Obj:
        self.token_reviews += 1
        return token_review(self.tokens, self.store, body)
