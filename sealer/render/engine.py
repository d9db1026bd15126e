"""The renderer's core: find placeholders in manifests, read Vault once per secret, fill them in.

Called by :mod:`sealer.render.pipeline` (the CLI) and the KRM path. :func:`render` takes loaded
:class:`~sealer.render.inputs.Document` s and returns the objects to print; it prints nothing.

* ``inline`` mode (argocd-vault-plugin's behaviour) finds every placeholder first
  (:mod:`sealer.render.scan`), reads each distinct (path, version) once through a per-run
  :class:`~sealer.vault.ReadCache`, in parallel on a bounded thread pool, and only then fills
  values in.
* ``reference`` mode reads nothing: it turns Secrets holding placeholders into VaultSecrets
  (:mod:`sealer.render.reference`), so no value reaches the GitOps tool; a placeholder anywhere
  else is an error.

All or nothing: the first problem, in document order, raises :class:`RenderFailed` naming the
file, the object and the field; the caller then prints no manifest at all.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sealer.errors import SealopsError
from sealer.manifests import object_ref
from sealer.render.errors import PlaceholderError, RenderError
from sealer.render.inputs import Document
from sealer.render.modifiers import apply_modifiers
from sealer.render.pathcheck import check_paths
from sealer.render.placeholders import KvVersion, Placeholder
from sealer.render.reference import ConnectionRef, to_vault_secret
from sealer.render.scan import (
    ANN_PATH,
    ANN_REMOVE_MISSING,
    ObjectContext,
    Slot,
    check_plaintext,
    find_slots,
    object_context,
)
from sealer.vault.cache import ReadCache
from sealer.vault.errors import NotFound, VaultError
from sealer.vault.refs import SecretLocation
from sealer.vault.resolver import Resolver, SecretData

__all__ = ["Mode", "RenderFailed", "RenderOptions", "render"]

Mode = Literal["inline", "reference"]
_Key = tuple[str, int | None]  # (path, version): what one read fetches


@dataclass(frozen=True)
class RenderOptions:
    mode: Mode = "inline"
    deny_plaintext: bool = False
    #: How ``<path:…>`` reads when an object has no kv-version annotation (None: by ``data/``).
    kv_version: KvVersion | None = None
    connection: ConnectionRef | None = None
    max_workers: int = 16
    #: ``AVP_PATH_VALIDATION``: every Vault path a manifest names must match it.
    path_validation: re.Pattern[str] | None = None


class RenderFailed(RenderError):
    """One located failure. ``document`` and ``field_path`` say where, for KRM results."""

    def __init__(
        self,
        cause: SealopsError,
        document: Document | None,
        field_path: str | None,
        ref: str | None = None,
    ):
        # ``ref``: the object as it was named before any value was filled in (a placeholder in
        # metadata.name must not put its value into the error line).
        ref = ref if ref is not None else object_ref(document.obj) if document else None
        where = f"{document.source}: {ref}" if document else None
        located = cause.located(where=where, field=field_path)
        super().__init__(located.message, where=located.where, field=located.field)
        self.cause = cause
        self.document = document
        self.field_path = located.field
        self.reason = cause.reason


@contextmanager
def _located(doc: Document, path: str | None = None, ref: str | None = None) -> Iterator[None]:
    try:
        yield
    except RenderFailed:
        raise
    except SealopsError as exc:
        raise RenderFailed(exc, doc, path, ref) from exc


def render(
    documents: list[Document],
    *,
    resolver: Callable[[], Resolver],
    options: RenderOptions = RenderOptions(),
) -> list[dict[str, Any]]:
    """The objects to print. ``resolver`` is called once, only if a value must be read."""
    slots: list[tuple[Slot, ObjectContext]] = []
    out: list[dict[str, Any]] = []
    for doc in documents:
        with _located(doc):
            context = object_context(doc.obj, default_kv=options.kv_version)
            if options.deny_plaintext:
                check_plaintext(doc.obj)
            if context is None:  # avp.kubernetes.io/ignore
                out.append(doc.obj)
                continue
            found = find_slots(doc, context)
            if options.path_validation is not None:
                _validate_paths(doc, found, context, options.path_validation)
            if options.mode == "reference":
                out.append(_reference(doc, found, context, options))
                continue
        slots += [(slot, context) for slot in found]
        out.append(doc.obj)
    if options.mode == "inline" and slots:
        _fill(slots, _read_all(slots, resolver, options.max_workers))
    return out


def _validate_paths(
    doc: Document, slots: list[Slot], context: ObjectContext, pattern: re.Pattern[str]
) -> None:
    annotation = None
    if context.generic_location is not None:
        text = str(doc.obj["metadata"]["annotations"][ANN_PATH])
        annotation = (f"metadata.annotations.{ANN_PATH}", text)
    placeholders = (
        (slot.path, segment)
        for slot in slots
        for segment in slot.segments
        if isinstance(segment, Placeholder)
    )
    check_paths(pattern, annotation, placeholders)


# ---------------------------------------------------------------------------------------------
# Reading


def _key(location: SecretLocation) -> _Key:
    return location.path, location.version


def _locations(slot: Slot, context: ObjectContext) -> Iterator[SecretLocation]:
    for segment in slot.segments:
        if isinstance(segment, Placeholder):
            if segment.ref is not None:
                yield segment.ref.location
            elif context.generic_location is not None:
                yield context.generic_location


def _read_all(
    slots: list[tuple[Slot, ObjectContext]],
    resolver_factory: Callable[[], Resolver],
    workers: int,
) -> dict[_Key, SecretData | VaultError]:
    # One read per (path, version): <path:secret/data/app#k> and <vault:secret/app#k> name the
    # same secret. The spelling that pins a KV version is read, so the server checks it.
    wanted: dict[_Key, SecretLocation] = {}
    for slot, context in slots:
        for location in _locations(slot, context):
            known = wanted.get(_key(location))
            if known is None or (known.kv_version is None and location.kv_version is not None):
                wanted[_key(location)] = location
    first = slots[0][0]
    with _located(first.doc, first.path):
        resolver = resolver_factory()
    cache = ReadCache(resolver, max_age=math.inf)

    def read(location: SecretLocation) -> SecretData | VaultError:
        try:
            return cache.read(location)
        except VaultError as exc:
            return exc  # raised where it is first needed, so the error names that field

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted)))) as pool:
            return dict(zip(wanted, pool.map(read, wanted.values()), strict=True))
    finally:
        resolver.close()


# ---------------------------------------------------------------------------------------------
# Filling


class _Missing(Exception):
    """A generic placeholder's field is absent and the object allows removing the key."""


def _fill(
    slots: list[tuple[Slot, ObjectContext]], results: dict[_Key, SecretData | VaultError]
) -> None:
    removals: list[Slot] = []
    refs = {id(slot.doc): object_ref(slot.doc.obj) for slot, _ in slots}  # before any fill
    for slot, context in slots:

        def lookup(placeholder: Placeholder, context: ObjectContext = context) -> Any:
            location = placeholder.ref.location if placeholder.ref else context.generic_location
            name = placeholder.ref.field if placeholder.ref else placeholder.key
            assert location is not None and name is not None
            result = results[_key(location)]
            if isinstance(result, VaultError):
                raise result
            try:
                value = result.typed_value(name)
                if value is None:  # JSON null: no value, as argocd-vault-plugin reads it
                    raise NotFound(f"{result.describe()} field {name!r} is null")
            except NotFound:
                if context.remove_missing:  # inline placeholders too, as argocd-vault-plugin
                    raise _Missing from None
                raise
            return apply_modifiers(value, placeholder.modifiers)

        try:
            with _located(slot.doc, slot.path, refs[id(slot.doc)]):
                value = _combine(slot, lookup)
        except _Missing:
            removals.append(slot)
            continue
        slot.put(value)
    for slot in reversed(removals):  # from the back, so list indexes stay right
        slot.remove()


def _combine(slot: Slot, lookup: Callable[[Placeholder], Any]) -> Any:
    segments = slot.segments
    if len(segments) == 1 and isinstance(segments[0], Placeholder):
        # A whole value keeps Vault's type (argocd-vault-plugin: ``targetPort: 80``, and
        # ``PORT: 80`` in a Secret's data too), except where it must be text: a ConfigMap's
        # data, and a base64 placeholder (both stringified, as avp does).
        value = lookup(segments[0])
        text_only = slot.encoding == "base64" or (
            slot.string_only and slot.doc.obj.get("kind") != "Secret"
        )
        if text_only or (slot.string_only and isinstance(value, dict | list)):
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
    doc: Document, slots: list[Slot], context: ObjectContext, options: RenderOptions
) -> dict[str, Any]:
    if not slots:
        return doc.obj
    for slot in slots:
        if doc.obj.get("kind") != "Secret" or not slot.string_only:
            raise PlaceholderError(
                "a placeholder outside a Secret's data or stringData: --mode reference keeps "
                "values out of the rendered manifests (use --mode inline, or move it into a "
                "Secret)",
                field=slot.path,
            )
    if context.remove_missing:
        raise PlaceholderError(
            "cannot be honoured in --mode reference",
            field=f"metadata.annotations.{ANN_REMOVE_MISSING}",
        )
    return to_vault_secret(
        doc.obj,
        filled={slot.path: (slot.segments, slot.encoding) for slot in slots},
        generic_location=context.generic_location,
        connection=options.connection,
    )
