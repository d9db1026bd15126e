"""The three patch formats of the real API, applied to plain JSON objects.

- JSON merge patch (RFC 7386, ``application/merge-patch+json``): ``null`` deletes, objects merge,
  everything else replaces.
- JSON patch (RFC 6902, ``application/json-patch+json``): a failing ``test`` or a bad path raises
  :class:`PatchError`, which the server answers with 422 as the real one does.
- Strategic merge patch (``application/strategic-merge-patch+json``): a merge patch that merges
  the lists Kubernetes declares with a merge key (containers, env, ports, volumes,
  ownerReferences, conditions ... by their key) and unions ``finalizers``, and honours the
  ``$patch``, ``$retainKeys``, ``$deleteFromPrimitiveList/`` and ``$setElementOrder/`` directives.
  The merge keys come from a fixed table (the real server reads them from Go struct tags), which
  covers the built-in kinds this project uses; see
  https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(Exception):
    """The patch cannot be applied (bad path, failed ``test``): 422 from the server."""


# Field name -> merge key, for lists that strategic merge patch merges instead of replacing.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "secrets": "name",  # ServiceAccount.secrets
}
# Primitive lists that strategic merge patch unions instead of replacing.
_MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: returns a new value; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"doc is missing path: /{'/'.join(parts)}")
    return node


def _index(node: list[Any], part: str, *, adding: bool) -> int:
    if adding and part == "-":
        return len(node)
    if not part.isdigit():
        raise PatchError(f"invalid array index {part!r}")
    index = int(part)
    if index > len(node) or (not adding and index == len(node)):
        raise PatchError(f"array index {index} out of bounds")
    return index


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    return _container(doc, parts)


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _container(doc, parts[:-1])
    if isinstance(parent, dict):
        parent[parts[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, parts[-1], adding=True), value)
    else:
        raise PatchError(f"cannot add to a scalar at {path}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _container(doc, parts[:-1])
    if isinstance(parent, dict):
        if parts[-1] not in parent:
            raise PatchError(f"unable to remove nonexistent key: {parts[-1]}: missing value")
        del parent[parts[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, parts[-1], adding=False)]
    else:
        raise PatchError(f"cannot remove from a scalar at {path}")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 on a copy of ``target``."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)  # the target must exist
            doc = _add(_remove(doc, path), path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            value = copy.deepcopy(_get(doc, op["from"]))
            doc = _add(_remove(doc, op["from"]), path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"unexpected operation {kind!r}")
    return doc


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge of ``patch`` into a copy of ``target`` (see the module docstring)."""
    return _smp_value(copy.deepcopy(target), patch, field="")


def _smp_value(target: Any, patch: Any, *, field: str) -> Any:
    if isinstance(patch, dict):
        return _smp_dict(target if isinstance(target, dict) else {}, patch)
    if isinstance(patch, list) and isinstance(target, list):
        if field in _MERGE_KEYS:
            return _smp_keyed_list(target, patch, _MERGE_KEYS[field])
        if field in _MERGED_PRIMITIVE_LISTS:
            return target + [v for v in patch if v not in target]
    return copy.deepcopy(patch)


def _smp_dict(target: dict[str, Any], patch: dict[str, Any]) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(target.get(name), list):
                target[name] = [v for v in target[name] if v not in value]
            continue
        if value is None:
            target.pop(key, None)
            continue
        merged = _smp_value(target.get(key), value, field=key)
        if merged is None:
            target.pop(key, None)
        else:
            target[key] = merged
    if isinstance(retain, list):
        for key in [k for k in target if k not in retain]:
            del target[key]
    return target


def _smp_keyed_list(target: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    result = list(target)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            if isinstance(item, dict) and item.get("$patch") == "replace":
                return [copy.deepcopy(i) for i in patch if i is not item]
            result.append(copy.deepcopy(item))
            continue
        index = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(merge_key) == item[merge_key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append({k: copy.deepcopy(v) for k, v in item.items() if k != "$patch"})
        else:
            result[index] = _smp_dict(result[index], item)
    return result
