"""What the API server does to an object between the request and storage (its "strategy").

Named after the real server's registry strategies (``PrepareForCreate``, ``PrepareForUpdate``,
``Validate``): server-set metadata, the status subresource split, generation, Secret
``stringData``/``immutable``. Object semantics follow
https://kubernetes.io/docs/reference/using-api/api-concepts/ and
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#metadata
"""

from __future__ import annotations

import copy
import secrets
import uuid
from typing import Any

from sandbox.kubeapi import kinds, metadata
from sandbox.kubeapi.errors import ApiError, bad_request, conflict, invalid
from sandbox.kubeapi.resources import ResourceType

Obj = dict[str, Any]

# The alphabet and length the real server uses for generateName suffixes.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Fields only the server sets; a client's values are replaced by the stored ones.
_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


def _invalid(rt: ResourceType, name: str, field: str, message: str) -> ApiError:
    return invalid(rt.kind, rt.group, name, [(field, message)])


def check_kind(rt: ResourceType, body: Obj) -> None:
    """A body of another kind is a 400; a body without apiVersion/kind is taken as this type
    (OpenBao posts TokenReviews that way and the real server accepts them)."""
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version and api_version != rt.api_version:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({rt.api_version})"
        )
    if kind and kind != rt.kind:
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )


def _metadata(rt: ResourceType, obj: Obj) -> Obj:
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        raise bad_request(f"{rt.kind} in version {rt.version!r} cannot be handled: metadata")
    return meta


def _check_namespace(rt: ResourceType, meta: Obj, namespace: str) -> None:
    if rt.namespaced:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)


def _spec_part(rt: ResourceType, obj: Obj) -> Obj:
    """What a change to bumps generation: everything but metadata (and status, when status is
    its own subresource)."""
    skip = {"metadata", "apiVersion", "kind"}
    if rt.has_status:
        skip.add("status")
    return {k: v for k, v in obj.items() if k not in skip}


def prepare_create(rt: ResourceType, body: Obj, *, namespace: str, now: str) -> Obj:
    check_kind(rt, body)
    obj = copy.deepcopy(body)
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    meta = _metadata(rt, obj)
    if not meta.get("name"):
        prefix = meta.get("generateName")
        if not prefix:
            raise _invalid(
                rt, "", "metadata.name", "Required value: name or generateName is required"
            )
        meta["name"] = prefix + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    name = meta["name"]
    problem = metadata.name_problem(name, rt.name_rule) if isinstance(name, str) else "a string"
    if rt.plural != "tokenreviews" and problem:
        raise _invalid(rt, str(name), "metadata.name", f'Invalid value: "{name}": {problem}')
    _check_namespace(rt, meta, namespace)
    if rt.namespaced:
        # ValidateObjectMeta: a namespaced object's namespace must be a valid namespace name.
        problem = metadata.name_problem(namespace, "label")
        if problem:
            raise _invalid(
                rt, name, "metadata.namespace", f'Invalid value: "{namespace}": {problem}'
            )
    for key in (*_SERVER_META, "resourceVersion", "generation", "managedFields", "selfLink"):
        meta.pop(key, None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now
    if rt.has_generation or rt.custom:
        meta["generation"] = 1
    if rt.has_status:
        obj.pop("status", None)  # create cannot set status where status is a subresource
        if rt.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif rt.kind == "Pod":
            obj["status"] = {"phase": "Pending"}
        elif not rt.custom:
            obj["status"] = {}  # built-in kinds start from an empty status, custom ones from none
    _kind_rules(rt, obj, None)
    return obj


def prepare_update(rt: ResourceType, old: Obj, body: Obj, *, subresource: str | None) -> Obj:
    """The object to store for an update (PUT, or the result of a patch) of ``old``."""
    check_kind(rt, body)
    old_meta = old["metadata"]
    name = old_meta["name"]
    new = copy.deepcopy(body)
    new["apiVersion"], new["kind"] = rt.api_version, rt.kind
    meta = _metadata(rt, new)
    if meta.get("name") and meta["name"] != name:
        raise bad_request(
            f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
        )
    meta["name"] = name
    _check_namespace(rt, meta, old_meta.get("namespace", ""))
    rv = meta.get("resourceVersion")
    if rv and rv != old_meta["resourceVersion"]:
        raise conflict(
            rt.plural,
            rt.group,
            name,
            "the object has been modified; please apply "
            "your changes to the latest version and try again",
        )
    if meta.get("uid") and meta["uid"] != old_meta["uid"]:
        raise conflict(
            rt.plural,
            rt.group,
            name,
            f"Precondition failed: UID in precondition: {meta['uid']}, UID in object meta: "
            f"{old_meta['uid']}",
        )
    if subresource == "status":
        # Writes to /status touch only status.
        result = copy.deepcopy(old)
        if "status" in new:
            result["status"] = new["status"]
        else:
            result.pop("status", None)
        return result
    for key in (*_SERVER_META, "generation"):
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    meta.pop("managedFields", None)
    if rt.has_status:
        # Writes to the main resource ignore status.
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    if old_meta.get("deletionTimestamp"):
        added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
        if added:
            raise _invalid(
                rt,
                name,
                "metadata.finalizers",
                "Forbidden: no new finalizers can be added if the object is being deleted, "
                f"found new finalizers {sorted(added)}",
            )
    if "generation" in meta and _spec_part(rt, new) != _spec_part(rt, old):
        meta["generation"] = meta["generation"] + 1
    _kind_rules(rt, new, old)
    return new


def _kind_rules(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    metadata.check(rt, obj)
    kinds.apply(rt, obj, old)
