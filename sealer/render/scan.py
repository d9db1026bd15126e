"""Finding placeholders in one object: its avp annotations, and every string that holds some.

Pure; called by :mod:`sealer.render.engine` for each document. :func:`object_context` reads the
``avp.kubernetes.io/*`` annotations; :func:`find_slots` walks the object and returns a
:class:`Slot` for every string value holding a placeholder, with how the filled value goes back
(as it is, or base64-encoded again for a base64 placeholder in ``Secret.data``).
:func:`check_plaintext` is ``--deny-plaintext``. Errors carry the field (``data.password``);
the engine adds the file and the object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sealer.errors import SealopsError
from sealer.plaintext import fills_generic, has_placeholder, is_secret, plaintext_reason
from sealer.render.errors import PlaceholderError, PlaintextError
from sealer.render.inputs import Document
from sealer.render.placeholders import KvVersion, Segment, parse_location, split
from sealer.secretdata import text_of
from sealer.vault.refs import SecretLocation

__all__ = [
    "ANN_IGNORE",
    "ANN_KV_VERSION",
    "ANN_PATH",
    "ANN_REMOVE_MISSING",
    "ANN_SECRET_VERSION",
    "ObjectContext",
    "Slot",
    "check_plaintext",
    "find_slots",
    "object_context",
]

ANN_PATH = "avp.kubernetes.io/path"
ANN_SECRET_VERSION = "avp.kubernetes.io/secret-version"  # noqa: S105 - a name, not a secret
ANN_KV_VERSION = "avp.kubernetes.io/kv-version"
ANN_IGNORE = "avp.kubernetes.io/ignore"
ANN_REMOVE_MISSING = "avp.kubernetes.io/remove-missing"

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go's strconv.ParseBool, as avp reads them


@dataclass(frozen=True)
class ObjectContext:
    """What an object's annotations say about its placeholders."""

    #: The secret generic ``<key>`` placeholders read (path and secret-version annotations).
    generic_location: SecretLocation | None
    remove_missing: bool
    kv_version: KvVersion | None

    @property
    def generic(self) -> bool:
        return self.generic_location is not None


@dataclass
class Slot:
    """One string value holding placeholders, and how to put the filled value back."""

    doc: Document
    container: dict[Any, Any] | list[Any]
    key: str | int
    path: str
    segments: tuple[Segment, ...]
    #: ``base64``: the value was a base64 placeholder in Secret.data; encode the result again.
    encoding: Literal["plain", "base64"]
    #: A Secret's or ConfigMap's data: the result must be text.
    string_only: bool

    def put(self, value: Any) -> None:
        if isinstance(self.container, dict):
            self.container[self.key] = value
        else:
            self.container[int(self.key)] = value

    def remove(self) -> None:
        if isinstance(self.container, dict):
            self.container.pop(self.key, None)
        else:
            del self.container[int(self.key)]


def object_context(obj: dict[str, Any], *, default_kv: KvVersion | None) -> ObjectContext | None:
    """The object's annotations read; None when ``avp.kubernetes.io/ignore`` is true."""
    notes = _annotations(obj)
    if notes.get(ANN_IGNORE) in _TRUE:
        return None
    kv = default_kv
    kv_text = notes.get(ANN_KV_VERSION)
    if kv_text is not None:
        if kv_text not in ("1", "2"):
            raise PlaceholderError(
                f'must be "1" or "2", not {kv_text!r}',
                field=f"metadata.annotations.{ANN_KV_VERSION}",
            )
        kv = 1 if kv_text == "1" else 2
    remove = notes.get(ANN_REMOVE_MISSING) in _TRUE
    if remove and obj.get("kind") not in ("Secret", "ConfigMap"):
        raise PlaceholderError(
            "works only on Secrets and ConfigMaps",
            field=f"metadata.annotations.{ANN_REMOVE_MISSING}",
        )
    location = None
    if notes.get(ANN_PATH, "").strip():  # an empty path is no path, as argocd-vault-plugin
        version = _version(notes.get(ANN_SECRET_VERSION))
        try:
            location = parse_location(
                notes[ANN_PATH].strip(), version=version, kv_version=kv, what=ANN_PATH
            )
        except SealopsError as exc:
            raise exc.located(field=f"metadata.annotations.{ANN_PATH}") from None
    elif notes.get(ANN_SECRET_VERSION, "").strip():
        raise PlaceholderError(
            f"needs {ANN_PATH}", field=f"metadata.annotations.{ANN_SECRET_VERSION}"
        )
    return ObjectContext(generic_location=location, remove_missing=remove, kv_version=kv)


def find_slots(doc: Document, context: ObjectContext) -> list[Slot]:
    obj = doc.obj
    _refuse_key_placeholders(obj, "", generic=context.generic)
    kind = obj.get("kind")
    text_maps = {"Secret": ("data", "stringData"), "ConfigMap": ("data",)}.get(str(kind), ())
    slots = []
    for container, key, path, value in _strings(obj, ""):
        top = path.split(".", 1)[0]
        in_map = top in text_maps and container is obj.get(top)
        encoding: Literal["plain", "base64"] = "plain"
        text = value
        if kind == "Secret" and top == "data" and in_map:
            decoded = text_of(value)
            if decoded is not None and has_placeholder(decoded, generic=context.generic):
                text, encoding = decoded, "base64"
        if not has_placeholder(text, generic=context.generic):
            continue
        try:
            segments = split(text, generic=context.generic, kv_version=context.kv_version)
        except SealopsError as exc:
            raise exc.located(field=path) from None
        slots.append(Slot(doc, container, key, path, segments, encoding, string_only=in_map))
    return slots


def check_plaintext(obj: dict[str, Any]) -> None:
    """``--deny-plaintext``: each value of a v1 Secret must pass
    :func:`sealer.plaintext.plaintext_reason`, the rule ``seal check`` applies. Objects marked
    ``avp.kubernetes.io/ignore`` too: the annotation stops filling, not the guard."""
    if not is_secret(obj.get("apiVersion"), obj.get("kind")):
        return
    generic = fills_generic(_annotations(obj).get(ANN_PATH))
    for field in ("data", "stringData"):
        values = obj.get(field)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            reason = plaintext_reason(value, generic=generic, encoded=field == "data")
            if reason:
                raise PlaintextError(
                    f"{reason}; --deny-plaintext allows placeholders only",
                    field=f"{field}.{key}",
                )


def _version(text: str | None) -> str | None:
    """The secret-version annotation's text (checked with the path: KV v1 ignores it)."""
    return (text or "").strip() or None


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata")
    raw = meta.get("annotations") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _refuse_key_placeholders(node: Any, path: str, *, generic: bool) -> None:
    """A placeholder in a key is refused: keys are names, shown unmasked where values are not
    (``kubectl describe secret``, Argo CD's diff), so a secret never goes into one."""
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and has_placeholder(key, generic=generic):
                raise PlaceholderError(
                    "a placeholder in a key is not filled (keys are shown unmasked, by kubectl "
                    "describe and Argo CD's diff): put it in the value",
                    field=child,
                )
            _refuse_key_placeholders(value, child, generic=generic)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _refuse_key_placeholders(value, f"{path}[{index}]", generic=generic)


def _strings(node: Any, path: str) -> Iterator[tuple[Any, Any, str, str]]:
    """(container, key, dotted path, value) for every string value, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(value, str):
                yield node, key, child, value
            else:
                yield from _strings(value, child)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            child = f"{path}[{index}]"
            if isinstance(value, str):
                yield node, index, child, value
            else:
                yield from _strings(value, child)
