"""What the API server does to an object between the request and storage (its "strategy").

Named after the real server's registry strategies (``PrepareForCreate``, ``PrepareForUpdate``,
``Validate``): server-set metadata, the status subresource split, generation, Secret
``stringData``/``immutable``. Object semantics follow
https://kubernetes.io/docs/reference/using-api/api-concepts/ and
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#metadata
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import secrets
import uuid
from typing import Any

from tests.kubeapi.errors import ApiError, bad_request, conflict, invalid
from tests.kubeapi.resources import ResourceType

Obj = dict[str, Any]

# The alphabet and length the real server uses for generateName suffixes.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
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
    if rt.plural != "tokenreviews" and (len(name) > 253 or not _DNS_SUBDOMAIN.match(name)):
        raise _invalid(
            rt,
            name,
            "metadata.name",
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
            "character",
        )
    _check_namespace(rt, meta, namespace)
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


_NAME_PART = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_MAX_ANNOTATIONS = 256 * 1024  # total bytes of annotation keys and values
_MAX_SECRET = 1024 * 1024  # total bytes of a Secret's or ConfigMap's data


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (``[prefix/]name``), or None if it is one."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not _NAME_PART.match(name):
        return "name part must consist of alphanumeric characters, '-', '_' or '.', at most 63"
    return None


def _check_metadata(rt: ResourceType, obj: Obj) -> None:
    """Label and annotation rules of
    https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
    and the annotation size limit, for every kind."""
    meta, name = obj["metadata"], obj["metadata"]["name"]
    causes = []
    for key, value in (meta.get("labels") or {}).items():
        problem = _key_problem(key)
        if problem:
            causes.append(("metadata.labels", f'Invalid value: "{key}": {problem}'))
        if not isinstance(value, str) or len(value) > 63 or (value and not _NAME_PART.match(value)):
            why = "a label value is empty or at most 63 alphanumeric characters, '-', '_' or '.'"
            causes.append(("metadata.labels", f'Invalid value: "{value}": {why}'))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        problem = _key_problem(key)
        if problem:
            causes.append(("metadata.annotations", f'Invalid value: "{key}": {problem}'))
    size = sum(len(k) + len(str(v)) for k, v in annotations.items())
    if size > _MAX_ANNOTATIONS:
        causes.append(
            ("metadata.annotations", f"Too long: must have at most {_MAX_ANNOTATIONS} bytes")
        )
    if causes:
        raise invalid(rt.kind, rt.group, name, causes)


def _check_size(rt: ResourceType, obj: Obj, fields: tuple[str, ...]) -> None:
    size = sum(len(str(v)) for f in fields for v in (obj.get(f) or {}).values())
    if rt.kind == "Secret":  # data is base64: count the decoded bytes, as the limit does
        size = sum(len(base64.b64decode(v)) for v in (obj.get("data") or {}).values())
    if size > _MAX_SECRET:
        raise _invalid(
            rt,
            obj["metadata"]["name"],
            fields[0],
            f"Too long: must have at most {_MAX_SECRET} bytes",
        )


def _kind_rules(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    _check_metadata(rt, obj)
    if rt.group == "" and rt.kind == "Secret":
        _secret_rules(rt, obj, old)
    elif rt.group == "" and rt.kind == "ConfigMap":
        _check_size(rt, obj, ("data", "binaryData"))
        _immutable(rt, obj, old, ("data", "binaryData"))


def _secret_rules(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    """stringData is folded into base64 data (stringData wins); data must be base64; type and,
    under ``immutable: true``, data cannot change.
    https://kubernetes.io/docs/concepts/configuration/secret/#secret-immutable"""
    name = obj["metadata"]["name"]
    data = obj.get("data") or {}
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise bad_request(
                f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data '
                f"at key {key!r}"
            ) from exc
    string_data = obj.pop("stringData", None) or {}
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data or "data" in obj:
        obj["data"] = data
    obj.setdefault("type", "Opaque")
    if old is not None and obj["type"] != old.get("type", "Opaque"):
        raise _invalid(rt, name, "type", "Invalid value: field is immutable")
    _check_size(rt, obj, ("data",))
    _immutable(rt, obj, old, ("data",))


def _immutable(rt: ResourceType, obj: Obj, old: Obj | None, fields: tuple[str, ...]) -> None:
    if old is None or not old.get("immutable"):
        return
    name = obj["metadata"]["name"]
    if not obj.get("immutable"):
        raise _invalid(
            rt, name, "immutable", "Forbidden: field is immutable when `immutable` is set"
        )
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            raise _invalid(rt, name, field, "Forbidden: field is immutable when `immutable` is set")
