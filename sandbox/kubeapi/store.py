"""In-memory object storage: objects by resource, namespace and name, one resourceVersion counter.

Stored objects are never modified in place: the write path builds a new dict and :meth:`Store.put`
replaces the old one, so responses and watch events can share the stored dict without copying.
Indexes keep every lookup O(1) (by name, by uid, dependents by owner uid); a list costs O(objects
in the namespace or resource), never O(history).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from sandbox.kubeapi.watch import Event, WatchHub

Obj = dict[str, Any]
ResKey = tuple[str, str]  # (group, plural)
ObjRef = tuple[ResKey, str, str]  # (resource, namespace, name)


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj["metadata"]
    return meta


class Store:
    def __init__(self, *, window: int) -> None:
        self._rv = 0
        self._objects: dict[ResKey, dict[str, dict[str, Obj]]] = {}
        self._by_uid: dict[str, ObjRef] = {}
        self._dependents: dict[str, set[ObjRef]] = {}  # owner uid -> objects that name it
        self.hub = WatchHub(window)

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion handed out (what a list reports)."""
        return self._rv

    def next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def get(self, key: ResKey, namespace: str, name: str) -> Obj | None:
        return self._objects.get(key, {}).get(namespace, {}).get(name)

    def list(self, key: ResKey, namespace: str | None) -> Iterable[Obj]:
        """Objects of one namespace (or all, when ``namespace`` is None) sorted like etcd keys."""
        by_ns = self._objects.get(key, {})
        namespaces = [namespace] if namespace is not None else sorted(by_ns)
        for ns in namespaces:
            objects = by_ns.get(ns, {})
            for name in sorted(objects):
                yield objects[name]

    def count(self, key: ResKey) -> int:
        return sum(len(v) for v in self._objects.get(key, {}).values())

    def by_uid(self, uid: str) -> ObjRef | None:
        return self._by_uid.get(uid)

    def dependents(self, owner_uid: str) -> builtins.list[ObjRef]:
        return sorted(self._dependents.get(owner_uid, ()))

    def put(self, key: ResKey, obj: Obj, *, prev: Obj | None) -> Obj:
        """Store ``obj`` with a new resourceVersion and publish ADDED or MODIFIED."""
        rv = self.next_rv()
        meta = _meta(obj)
        meta["resourceVersion"] = str(rv)
        ns, name = meta.get("namespace", ""), meta["name"]
        self._objects.setdefault(key, {}).setdefault(ns, {})[name] = obj
        self._by_uid[meta["uid"]] = (key, ns, name)
        self._index_owners(key, prev, remove=True)
        self._index_owners(key, obj, remove=False)
        self.hub.publish(key, Event("MODIFIED" if prev else "ADDED", obj, prev, rv))
        return obj

    def remove(self, key: ResKey, obj: Obj) -> Obj:
        """Delete ``obj`` for good; the DELETED event carries a new resourceVersion."""
        rv = self.next_rv()
        gone = {**obj, "metadata": {**_meta(obj), "resourceVersion": str(rv)}}
        meta = _meta(obj)
        ns, name = meta.get("namespace", ""), meta["name"]
        by_ns = self._objects.get(key, {})
        by_ns.get(ns, {}).pop(name, None)
        if ns in by_ns and not by_ns[ns]:
            del by_ns[ns]
        self._by_uid.pop(meta["uid"], None)
        self._index_owners(key, obj, remove=True)
        self.hub.publish(key, Event("DELETED", gone, None, rv))
        return gone

    def drop_resource(self, key: ResKey) -> None:
        """Forget a whole resource (its CRD was deleted); watchers of it are cut."""
        for ns_objects in self._objects.pop(key, {}).values():
            for obj in ns_objects.values():
                self._by_uid.pop(_meta(obj)["uid"], None)
                self._index_owners(key, obj, remove=True)
        self.hub.drop(key)

    def _index_owners(self, key: ResKey, obj: Obj | None, *, remove: bool) -> None:
        if obj is None:
            return
        meta = _meta(obj)
        ref: ObjRef = (key, meta.get("namespace", ""), meta["name"])
        for owner in meta.get("ownerReferences") or ():
            uid = owner.get("uid", "")
            if remove:
                deps = self._dependents.get(uid)
                if deps is not None:
                    deps.discard(ref)
                    if not deps:
                        del self._dependents[uid]
            else:
                self._dependents.setdefault(uid, set()).add(ref)
