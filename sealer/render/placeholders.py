"""The placeholder grammar of `seal render`: argocd-vault-plugin's, plus our ``<vault:…>``.

Pure code, called by :mod:`sealer.render.engine` and :mod:`sealer.render.reference` for every
string value of every manifest. :func:`split` cuts a string into literal text and
:class:`Placeholder` s; nothing here reads Vault.

``<path:secret/data/app#key[#version]>``
    argocd-vault-plugin's inline-path placeholder: the Vault *API* path (``data/`` for KV v2).
``<vault:secret/app#key[#version]>``
    Ours: the logical path, as ``vault kv get`` and VaultSecret ``ref`` s take it.
``<key>``
    A generic placeholder: field ``key`` of the secret that the object's
    ``avp.kubernetes.io/path`` annotation names. Only recognised when that annotation is present,
    so ``<KEY>`` in prose (CRD descriptions) is left alone, as argocd-vault-plugin does.

Each may end in modifiers, ``<… | jsonPath {.user} | base64encode>``; see
:mod:`sealer.render.modifiers`. A placeholder never spans lines and never contains ``<`` or
``>``. Every failure is a :class:`~sealer.render.errors.PlaceholderError` naming the placeholder.
What counts as a placeholder is :mod:`sealer.plaintext`'s, the definition ``seal check`` uses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from sealer.plaintext import ANY_PLACEHOLDER, INLINE_PLACEHOLDER
from sealer.render.errors import PlaceholderError
from sealer.vault.errors import InvalidReference
from sealer.vault.refs import SecretLocation, VaultRef, parse_ref

__all__ = [
    "MODIFIER_ARITY",
    "KvVersion",
    "Modifier",
    "Placeholder",
    "Segment",
    "clear_cache",
    "parse_location",
    "split",
]

KvVersion = Literal[1, 2]
PlaceholderKind = Literal["path", "vault", "generic"]

# Name -> (least, most) arguments; jsonPath's arguments are one expression split at spaces.
MODIFIER_ARITY: dict[str, tuple[int, int | None]] = {
    "base64encode": (0, 0),
    "base64decode": (0, 0),
    "jsonPath": (1, None),
    "jsonParse": (0, 0),
    "yamlParse": (0, 0),
    "indent": (1, 1),
    "sha256sum": (0, 0),
}

_SHOWN = 120


@dataclass(frozen=True)
class Modifier:
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placeholder:
    """One ``<…>``. ``text`` is as written (it names a secret, never holds one)."""

    text: str
    kind: PlaceholderKind
    modifiers: tuple[Modifier, ...]
    #: For ``path`` and ``vault`` placeholders: what to read.
    ref: VaultRef | None = None
    #: For generic placeholders: the field of the annotated secret.
    key: str | None = None


Segment = str | Placeholder


def clear_cache() -> None:
    """Forget parsed placeholders (benchmarks: each `seal render` process starts cold)."""
    _placeholder.cache_clear()


def split(text: str, *, generic: bool, kv_version: KvVersion | None = None) -> tuple[Segment, ...]:
    """Literal text and placeholders of ``text``, in order; literals are never empty.

    ``generic`` says whether bare ``<key>`` s are placeholders (the object has a path
    annotation). ``kv_version`` is the object's ``avp.kubernetes.io/kv-version`` (or the
    configured default): it says how ``<path:…>`` API paths read.
    """
    pattern = ANY_PLACEHOLDER if generic else INLINE_PLACEHOLDER
    segments: list[Segment] = []
    end = 0
    for match in pattern.finditer(text):
        if match.start() > end:
            segments.append(text[end : match.start()])
        segments.append(_placeholder(match.group(0), match.group(1), kv_version))
        end = match.end()
    if end < len(text):
        segments.append(text[end:])
    return tuple(segments)


def parse_location(
    path: str, *, version: str | None, kv_version: KvVersion | None, what: str
) -> SecretLocation:
    """An argocd-vault-plugin API path (``<path:…>``, ``avp.kubernetes.io/path``) as a location.

    KV v2 API paths carry ``data/``; with ``kv_version`` 1 the path is taken as it is. Without a
    pinned version a path with a ``data`` segment is KV v2, one without is KV v1. ``version`` is
    the ``avp.kubernetes.io/secret-version`` text, read as :func:`_avp_version` reads one.
    """
    text = path if version is None else f"{path}##{version}"
    return _api_ref(text, kv_version, what).location


def _api_ref(text: str, kv_version: KvVersion | None, what: str) -> VaultRef:
    # argocd-vault-plugin hands "/kv/data/app" to Vault's client, which takes it as "kv/data/app".
    text = _avp_version(text.removeprefix("/"), kv_version, what)
    ref = _parse(text, "api" if kv_version != 1 else "logical", what)
    location = ref.location
    if kv_version == 1:
        location = SecretLocation(path=location.path, version=location.version, kv_version=1)
        return VaultRef(location=location, field=ref.field, text=ref.text)
    if kv_version == 2 and location.kv_version != 2:
        raise PlaceholderError(
            f"{what}: {_shown(text)} is read as KV v2 but has no 'data/' segment "
            '(write <mount>/data/<path>, or set avp.kubernetes.io/kv-version: "1")'
        )
    return ref


def _avp_version(text: str, kv_version: KvVersion | None, what: str) -> str:
    """``text`` with its version as argocd-vault-plugin reads one: on KV v1 any version (even
    ``#version``) is ignored; on KV v2 it goes to Vault as ``?version=``, where ``0`` means the
    current one and anything but a number is refused, so it is refused here without a request."""
    parts = text.split("#")
    if len(parts) != 3:
        return text
    path, field, version = parts
    kv1 = kv_version == 1 or (kv_version is None and "data" not in path.split("/")[1:])
    if kv1 or re.fullmatch(r"0+", version):
        return f"{path}#{field}" if field else path
    if not re.fullmatch(r"[0-9]+", version):
        raise PlaceholderError(
            f"{what}: version {_shown(version)} is not a number (a KV v2 version is; Vault "
            "refuses any other, as argocd-vault-plugin passes it on)"
        )
    return text


@functools.lru_cache(maxsize=4096)
def _placeholder(text: str, inner: str, kv_version: KvVersion | None) -> Placeholder:
    # Cached: apps repeat placeholders, and checking a reference costs more than the rest of a
    # render. Placeholders are frozen, so sharing one between values is safe; failures are not
    # cached (lru_cache stores results only).
    head, *pipeline = inner.split("|")
    modifiers = tuple(_modifier(text, stmt) for stmt in pipeline)
    head = head.strip()
    if head.startswith("path:"):
        ref = _api_ref(head[5:].strip(), kv_version, f"placeholder {_shown(text)}")
        return Placeholder(text=text, kind="path", modifiers=modifiers, ref=_with_field(ref, text))
    if head.startswith("vault:"):
        ref = _parse(head[6:].strip(), "logical", f"placeholder {_shown(text)}")
        return Placeholder(text=text, kind="vault", modifiers=modifiers, ref=_with_field(ref, text))
    if not head:
        raise PlaceholderError(f"placeholder {_shown(text)} names no key")
    return Placeholder(text=text, kind="generic", modifiers=modifiers, key=head)


def _with_field(ref: VaultRef, text: str) -> VaultRef:
    if ref.field is None:
        raise PlaceholderError(f"placeholder {_shown(text)} names no field: add #<field>")
    return ref


def _modifier(text: str, stmt: str) -> Modifier:
    fields = stmt.split()
    if not fields:
        raise PlaceholderError(f"placeholder {_shown(text)} has an empty modifier after '|'")
    name, args = fields[0], tuple(fields[1:])
    arity = MODIFIER_ARITY.get(name)
    if arity is None:
        known = ", ".join(MODIFIER_ARITY)
        raise PlaceholderError(f"placeholder {_shown(text)}: unknown modifier {name!r} ({known})")
    least, most = arity
    if len(args) < least or (most is not None and len(args) > most):
        raise PlaceholderError(
            f"placeholder {_shown(text)}: modifier {name!r} takes "
            + ("no arguments" if most == 0 else f"{least}{'' if most == least else '+'} argument")
        )
    if name == "indent" and not re.fullmatch(r"[0-9]{1,3}", args[0]):
        raise PlaceholderError(f"placeholder {_shown(text)}: indent takes a number of spaces")
    if name == "jsonPath":
        args = (" ".join(args),)
    return Modifier(name=name, args=args)


def _parse(text: str, syntax: Literal["logical", "api"], what: str) -> VaultRef:
    try:
        return parse_ref(text, syntax=syntax)
    except InvalidReference as exc:
        raise PlaceholderError(f"{what}: {exc}") from None


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "…")
