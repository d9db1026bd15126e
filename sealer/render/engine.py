"""The renderer's core: find placeholders in manifests, read Vault once per secret, fill them in.

Called by the CLI (`seal render`) and :mod:`sealer.render.krm`. :func:`render` takes loaded
:class:`~sealer.render.inputs.Document` s and returns the objects to print; it prints nothing.

* ``inline`` mode (argocd-vault-plugin's behaviour) collects every placeholder first, reads each
  distinct (path, version) once through a per-run :class:`~sealer.vault.ReadCache`, in parallel
  on a bounded thread pool, and only then fills values in.
* ``reference`` mode reads nothing: it turns Secrets holding placeholders into VaultSecrets
  (:mod:`sealer.render.reference`), so no value reaches the GitOps tool; a placeholder anywhere
  else is an error.

All or nothing: the first problem, in document order, raises :class:`RenderFailed` naming the
file, the object and the field; the caller then prints no manifest at all.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from sealer.errors import SealopsError
from sealer.manifests import object_ref
from sealer.render.errors import PlaceholderError, PlaintextError, RenderError
from sealer.render.inputs import Document
from sealer.render.modifiers import apply_modifiers
from sealer.render.placeholders import (
    KvVersion,
    Placeholder,
    Segment,
    has_placeholder,
    parse_location,
    split,
)
from sealer.render.reference import ConnectionRef, to_vault_secret
from sealer.vault.cache import ReadCache
from sealer.vault.errors import NotFound, VaultError
from sealer.vault.refs import SecretLocation
from sealer.vault.resolver import Resolver, SecretData

__all__ = [
    "ANN_IGNORE",
    "ANN_KV_VERSION",
    "ANN_PATH",
    "ANN_REMOVE_MISSING",
    "ANN_SECRET_VERSION",
    "Mode",
    "RenderFailed",
    "RenderOptions",
    "render",
]

ANN_PATH = "avp.kubernetes.io/path"
ANN_SECRET_VERSION = "avp.kubernetes.io/secret-version"  # noqa: S105 - a name, not a secret
ANN_KV_VERSION = "avp.kubernetes.io/kv-version"
ANN_IGNORE = "avp.kubernetes.io/ignore"
ANN_REMOVE_MISSING = "avp.kubernetes.io/remove-missing"

Mode = Literal["inline", "reference"]
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go's strconv.ParseBool, as avp reads them
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(frozen=True)
class RenderOptions:
    mode: Mode = "inline"
    deny_plaintext: bool = False
    #: How ``<path:…>`` reads when an object has no kv-version annotation (None: by ``data/``).
    kv_version: KvVersion | None = None
    connection: ConnectionRef | None = None
    max_workers: int = 16


class RenderFailed(RenderError):
    """One located failure. ``document`` and ``field_path`` say where, for KRM results."""

    def __init__(self, cause: SealopsError, document: Document | None, field_path: str | None):
        where = f"{document.source}: {object_ref(document.obj)}" if document else None
        located = cause.located(where=where, field=field_path)
        super().__init__(located.message, where=located.where, field=located.field)
        self.cause = cause
        self.document = document
        self.field_path = field_path
        self.reason = cause.reason


@dataclass
class _Slot:
    """One string value holding placeholders, and how to put the filled value back."""

    doc: Document
    container: dict[str, Any] | list[Any]
    key: str | int
    path: str
    segments: tuple[Segment, ...]
    encoding: Literal["plain", "base64"]
    string_only: bool


@dataclass(frozen=True)
class _Context:
    generic_location: SecretLocation | None
    remove_missing: bool
    kv_version: KvVersion | None


def render(
    documents: list[Document],
    *,
    resolver: Callable[[], Resolver],
    options: RenderOptions = RenderOptions(),
) -> list[dict[str, Any]]:
    """The objects to print. ``resolver`` is called once, only if a value must be read."""
    slots: list[_Slot] = []
    contexts: dict[int, _Context] = {}
    out: list[dict[str, Any]] = []
    for doc in documents:
        context = _guard(doc, None, lambda d=doc: _context(d, options))  # type: ignore[misc]
        if context is None:  # avp.kubernetes.io/ignore
            out.append(doc.obj)
            continue
        found = list(_guard(doc, None, lambda d=doc, c=context: list(_slots(d, c, options))))  # type: ignore[misc]
        if options.deny_plaintext:
            _deny_plaintext(doc, context)
        if options.mode == "reference":
            out.append(_reference(doc, found, context, options))
            continue
        contexts[id(doc)] = context
        slots += found
        out.append(doc.obj)
    if options.mode == "inline" and slots:
        _fill(slots, contexts, _read_all(slots, contexts, resolver, options.max_workers))
    return out


def _guard(doc: Document, path: str | None, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except RenderFailed:
        raise
    except SealopsError as exc:
        raise RenderFailed(exc, doc, path) from exc


# ---------------------------------------------------------------------------------------------
# Finding placeholders


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata")
    raw = meta.get("annotations") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _context(doc: Document, options: RenderOptions) -> _Context | None:
    notes = _annotations(doc.obj)
    if notes.get(ANN_IGNORE) in _TRUE:
        return None
    kv_text = notes.get(ANN_KV_VERSION)
    kv: KvVersion | None = options.kv_version
    if kv_text is not None:
        if kv_text not in ("1", "2"):
            raise PlaceholderError(f'{ANN_KV_VERSION} must be "1" or "2", not {kv_text!r}')
        kv = 1 if kv_text == "1" else 2
    remove = notes.get(ANN_REMOVE_MISSING) in _TRUE
    if remove and doc.obj.get("kind") not in ("Secret", "ConfigMap"):
        raise PlaceholderError(f"{ANN_REMOVE_MISSING} works only on Secrets and ConfigMaps")
    location = None
    if ANN_PATH in notes:
        version_text = notes.get(ANN_SECRET_VERSION)
        version = None
        if version_text:
            if not version_text.isdigit() or int(version_text) < 1:
                raise PlaceholderError(f"{ANN_SECRET_VERSION} must be a positive integer")
            version = int(version_text)
        location = parse_location(
            notes[ANN_PATH].strip(), version=version, kv_version=kv, what=ANN_PATH
        )
    elif ANN_SECRET_VERSION in notes:
        raise PlaceholderError(f"{ANN_SECRET_VERSION} needs {ANN_PATH}")
    return _Context(generic_location=location, remove_missing=remove, kv_version=kv)


def _slots(doc: Document, context: _Context, options: RenderOptions) -> Iterator[_Slot]:
    kv = context.kv_version
    generic = context.generic_location is not None
    obj = doc.obj
    is_secret = obj.get("kind") == "Secret"
    string_maps = {"data", "stringData"} if is_secret else set()
    if obj.get("kind") == "ConfigMap":
        string_maps = {"data"}
    for container, key, path, value in _strings(obj, ""):
        top = path.split(".", 1)[0].split("[", 1)[0]
        in_map = top in string_maps and container is obj.get(top)
        encoding: Literal["plain", "base64"] = "plain"
        text = value
        if is_secret and top == "data" and in_map:
            decoded = _b64_text(value)
            if decoded is not None and has_placeholder(decoded, generic=generic):
                text, encoding = decoded, "base64"
        if not has_placeholder(text, generic=generic):
            continue
        segments = _guard(doc, path, lambda t=text: split(t, generic=generic, kv_version=kv))  # type: ignore[misc]
        yield _Slot(doc, container, key, path, segments, encoding, string_only=in_map)


def _strings(node: Any, path: str) -> Iterator[tuple[Any, Any, str, str]]:
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


def _b64_text(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        return None


def _deny_plaintext(doc: Document, context: _Context) -> None:
    obj = doc.obj
    if obj.get("kind") != "Secret":
        return
    generic = context.generic_location is not None
    for field in ("data", "stringData"):
        values = obj.get(field)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            text = str(value) if value is not None else ""
            if field == "data":
                text = _b64_text(text) or text
            if text and not has_placeholder(text, generic=generic):
                raise RenderFailed(
                    PlaintextError(
                        "holds a literal value; --deny-plaintext allows placeholders only"
                    ),
                    doc,
                    f"{field}.{key}",
                )


# ---------------------------------------------------------------------------------------------
# Reading


_Key = tuple[str, int | None]


def _key(location: SecretLocation) -> _Key:
    return location.path, location.version


def _locations(slot: _Slot, context: _Context) -> Iterator[SecretLocation]:
    for segment in slot.segments:
        if isinstance(segment, Placeholder):
            if segment.ref is not None:
                yield segment.ref.location
            elif context.generic_location is not None:
                yield context.generic_location


def _read_all(
    slots: list[_Slot],
    contexts: dict[int, _Context],
    resolver_factory: Callable[[], Resolver],
    workers: int,
) -> dict[_Key, SecretData | VaultError]:
    # One read per (path, version): <path:secret/data/app#k> and <vault:secret/app#k> name the
    # same secret. The spelling that pins a KV version is read, so the server checks it.
    wanted: dict[_Key, SecretLocation] = {}
    for slot in slots:
        for location in _locations(slot, contexts[id(slot.doc)]):
            known = wanted.get(_key(location))
            if known is None or (known.kv_version is None and location.kv_version is not None):
                wanted[_key(location)] = location
    try:
        resolver = resolver_factory()
    except SealopsError as exc:
        first = slots[0]
        raise RenderFailed(exc, first.doc, first.path) from exc
    cache = ReadCache(resolver, max_age=math.inf)

    def read(location: SecretLocation) -> SecretData | VaultError:
        try:
            return cache.read(location)
        except VaultError as exc:
            return exc

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted)))) as pool:
            results = dict(zip(wanted, pool.map(read, wanted.values()), strict=True))
    finally:
        close = getattr(resolver, "close", None)
        if callable(close):
            close()
    return results


# ---------------------------------------------------------------------------------------------
# Filling


class _Missing(Exception):
    """A generic placeholder's field is absent and the object allows removing the key."""


def _fill(
    slots: list[_Slot],
    contexts: dict[int, _Context],
    results: dict[_Key, SecretData | VaultError],
) -> None:
    removals: list[_Slot] = []
    for slot in slots:
        context = contexts[id(slot.doc)]

        def lookup(placeholder: Placeholder, context: _Context = context) -> Any:
            location = placeholder.ref.location if placeholder.ref else context.generic_location
            assert location is not None
            result = results[_key(location)]
            if isinstance(result, VaultError):
                raise result
            name = placeholder.ref.field if placeholder.ref else placeholder.key
            assert name is not None
            try:
                value = result.value(name)
            except NotFound:
                if placeholder.ref is None and context.remove_missing:
                    raise _Missing from None
                raise
            return apply_modifiers(value, placeholder.modifiers)

        try:
            value = _guard(slot.doc, slot.path, lambda s=slot, f=lookup: _combine(s, f))  # type: ignore[misc]
        except _Missing:
            removals.append(slot)
            continue
        slot.container[slot.key] = value  # type: ignore[index]
    for slot in reversed(removals):
        if isinstance(slot.container, dict):
            slot.container.pop(str(slot.key), None)
        else:
            del slot.container[slot.key]  # type: ignore[arg-type]


def _combine(slot: _Slot, lookup: Callable[[Placeholder], Any]) -> Any:
    segments = slot.segments
    if len(segments) == 1 and isinstance(segments[0], Placeholder):
        value = lookup(segments[0])
        if slot.string_only or slot.encoding == "base64":
            value = _scalar_text(value, segments[0])
    else:
        value = "".join(s if isinstance(s, str) else _scalar_text(lookup(s), s) for s in segments)
    if slot.encoding == "base64":
        return base64.b64encode(value.encode()).decode("ascii")
    return value


def _scalar_text(value: Any, placeholder: Placeholder) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise PlaceholderError(
        f"placeholder {placeholder.text!r} gives structured data, which can only fill a "
        "whole value outside a Secret's or ConfigMap's data"
    )


# ---------------------------------------------------------------------------------------------
# Reference mode


def _reference(
    doc: Document, slots: list[_Slot], context: _Context, options: RenderOptions
) -> dict[str, Any]:
    if not slots:
        return doc.obj
    for slot in slots:
        if doc.obj.get("kind") != "Secret" or not slot.string_only:
            raise RenderFailed(
                PlaceholderError(
                    "a placeholder outside a Secret's data or stringData: --mode reference keeps "
                    "values out of the rendered manifests (use --mode inline, or move it into a "
                    "Secret)"
                ),
                doc,
                slot.path,
            )
    if context.remove_missing:
        raise RenderFailed(
            PlaceholderError(f"{ANN_REMOVE_MISSING} cannot be honoured in --mode reference"),
            doc,
            f"metadata.annotations.{ANN_REMOVE_MISSING}",
        )
    filled = {slot.path: slot for slot in slots}
    vault_secret: dict[str, Any] = _guard(
        doc,
        None,
        lambda: to_vault_secret(
            doc.obj,
            filled={p: (s.segments, s.encoding) for p, s in filled.items()},
            generic_location=context.generic_location,
            connection=options.connection,
        ),
    )
    return vault_secret
