"""Rules of the built-in kinds whose content the real server checks: Secret and ConfigMap.

From https://kubernetes.io/docs/concepts/configuration/secret/ and .../configmap/: Secret
``stringData`` is folded into base64 ``data`` (stringData wins); ``data`` must be base64; keys
are ``[-._a-zA-Z0-9]+``; all data together is at most 1 MiB; a Secret's ``type`` cannot change
and the built-in types need their keys (``tls.crt``/``tls.key`` for ``kubernetes.io/tls`` and so
on); under ``immutable: true`` the data cannot change.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from sandbox.kubeapi.errors import ApiError, bad_request, invalid
from sandbox.kubeapi.resources import ResourceType

Obj = dict[str, Any]
_MAX_DATA = 1024 * 1024
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# Secret type -> keys of which at least one must be present (all of them, for "all").
_TYPE_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "kubernetes.io/tls": ("all", ("tls.crt", "tls.key")),
    "kubernetes.io/dockerconfigjson": ("all", (".dockerconfigjson",)),
    "kubernetes.io/dockercfg": ("all", (".dockercfg",)),
    "kubernetes.io/ssh-auth": ("all", ("ssh-privatekey",)),
    "kubernetes.io/basic-auth": ("any", ("username", "password")),
}
_IMMUTABLE = "Forbidden: field is immutable when `immutable` is set"


def _invalid(rt: ResourceType, obj: Obj, field: str, message: str) -> ApiError:
    return invalid(rt.kind, rt.group, obj["metadata"]["name"], [(field, message)])


def apply(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    """Check (and for Secrets, normalise) ``obj`` in place; ``old`` is the stored version."""
    if rt.group != "":
        return
    if rt.kind == "Secret":
        _secret(rt, obj, old)
    elif rt.kind == "ConfigMap":
        _keys_and_size(rt, obj, ("data", "binaryData"))
        _immutable(rt, obj, old, ("data", "binaryData"))


def _secret(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    data = obj.get("data") or {}
    decoded: dict[str, bytes] = {}
    for key, value in data.items():
        try:
            decoded[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise bad_request(
                f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data '
                f"at key {key!r}"
            ) from exc
    for key, value in (obj.pop("stringData", None) or {}).items():
        decoded[key] = str(value).encode()
        data[key] = base64.b64encode(decoded[key]).decode()
    if data or "data" in obj:
        obj["data"] = data
    obj.setdefault("type", "Opaque")
    if old is not None and obj["type"] != old.get("type", "Opaque"):
        raise _invalid(rt, obj, "type", "Invalid value: field is immutable")
    _keys_and_size(rt, obj, ("data",), sizes={k: len(v) for k, v in decoded.items()})
    _typed(rt, obj, decoded)
    _immutable(rt, obj, old, ("data",))


def _typed(rt: ResourceType, obj: Obj, decoded: dict[str, bytes]) -> None:
    kind = obj["type"]
    if kind == "kubernetes.io/service-account-token":
        annotations = obj["metadata"].get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            raise _invalid(
                rt,
                obj,
                "metadata.annotations[kubernetes.io/service-account.name]",
                "Required value",
            )
        return
    rule = _TYPE_KEYS.get(kind)
    if rule is None:
        return
    mode, keys = rule
    present = [k for k in keys if k in decoded]
    if (mode == "all" and len(present) < len(keys)) or not present:
        missing = next(k for k in keys if k not in decoded)
        raise _invalid(rt, obj, f"data[{missing}]", "Required value")
    for key in (".dockerconfigjson", ".dockercfg"):
        if key in decoded:
            try:
                json.loads(decoded[key])
            except ValueError as exc:
                raise _invalid(rt, obj, f"data[{key}]", f"Invalid value: {exc}") from exc


def _keys_and_size(
    rt: ResourceType, obj: Obj, fields: tuple[str, ...], sizes: dict[str, int] | None = None
) -> None:
    for field in fields:
        for key in obj.get(field) or {}:
            if len(key) > 253 or not _KEY.match(key):
                why = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
                raise _invalid(rt, obj, field, f'Invalid value: "{key}": {why}')
    if sizes is None:
        sizes = {k: len(str(v)) for f in fields for k, v in (obj.get(f) or {}).items()}
    if sum(sizes.values()) > _MAX_DATA:
        raise _invalid(rt, obj, fields[0], f"Too long: must have at most {_MAX_DATA} bytes")


def _immutable(rt: ResourceType, obj: Obj, old: Obj | None, fields: tuple[str, ...]) -> None:
    if old is None or not old.get("immutable"):
        return
    if not obj.get("immutable"):
        raise _invalid(rt, obj, "immutable", _IMMUTABLE)
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            raise _invalid(rt, obj, field, _IMMUTABLE)
