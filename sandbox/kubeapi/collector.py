"""The garbage collector: dependents follow their owners by ``metadata.ownerReferences``.

As https://kubernetes.io/docs/concepts/architecture/garbage-collection/ describes: once an owner
is gone, a dependent with no other live owner is deleted (through the normal delete path, so its
own finalizers and dependents are honoured), and one with another live owner only loses the
reference to the gone one. Orphaning removes the reference and keeps the dependent. Dependents
are found through the store's owner-uid index, never by scanning.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandbox.kubeapi.resources import Registry, ResourceType
from sandbox.kubeapi.store import ResKey, Store

Obj = dict[str, Any]
Delete = Callable[[ResourceType, str, str, Obj], object]


class GarbageCollector:
    def __init__(self, store: Store, registry: Registry, delete: Delete) -> None:
        self._store = store
        self._registry = registry
        self._delete = delete

    def _resource_of(self, key: ResKey) -> ResourceType | None:
        return next((rt for rt in self._registry.all() if rt.key == key), None)

    def collect(self, owner_uid: str) -> None:
        """Act on the dependents of ``owner_uid``, which is gone or going."""
        for key, namespace, name in self._store.dependents(owner_uid):
            rt, obj = self._resource_of(key), self._store.get(key, namespace, name)
            if rt is None or obj is None:
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            live = [
                r
                for r in refs
                if r.get("uid") != owner_uid and self._store.by_uid(r.get("uid", ""))
            ]
            if live:
                self._drop_refs(rt, obj, owner_uid)
            elif obj["metadata"].get("deletionTimestamp") is None:
                self._delete(rt, namespace, name, {"propagationPolicy": "Background"})

    def orphan(self, owner_uid: str) -> None:
        """Keep the dependents of ``owner_uid``, without their reference to it."""
        for key, namespace, name in self._store.dependents(owner_uid):
            rt, obj = self._resource_of(key), self._store.get(key, namespace, name)
            if rt is not None and obj is not None:
                self._drop_refs(rt, obj, owner_uid)

    def _drop_refs(self, rt: ResourceType, obj: Obj, owner_uid: str) -> None:
        new = copy.deepcopy(obj)
        refs = [r for r in new["metadata"].get("ownerReferences", []) if r.get("uid") != owner_uid]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._store.put(rt.key, new, prev=obj)
