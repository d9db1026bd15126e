"""What the controller and the renderer need from Vault: read one secret, pick fields from it.

:class:`Resolver` is the narrow interface, lifecycle included: :mod:`sealer.vault.hvac_backend`
implements it against a server, :class:`~sealer.vault.cache.ReadCache` in front of another one,
and the tests' in-memory fake (``tests/fakes/vault.py``) in memory. Callers deduplicate on
:class:`SecretLocation` (one read per distinct path and version), then take fields from the
:class:`SecretData`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sealer.vault.errors import InvalidReference, NotFound
from sealer.vault.refs import SecretLocation, VaultRef

__all__ = ["Resolver", "SecretData", "resolve_data", "resolve_value", "stringify"]


@dataclass(frozen=True)
class SecretData:
    """One version of one secret. ``repr`` leaves the values out, so it is safe to log."""

    location: SecretLocation
    data: Mapping[str, str] = field(repr=False)
    #: The KV v2 version that was read (the current one unless pinned); None for KV v1.
    version: int | None = None
    #: The values as Vault holds them (JSON: numbers, booleans, objects), for the renderer,
    #: which keeps ``replicas: <replicas>`` a number as argocd-vault-plugin does. None when the
    #: resolver keeps only text; :meth:`typed_value` then falls back to :attr:`data`.
    raw: Mapping[str, object] | None = field(default=None, repr=False, compare=False)

    def value(self, name: str) -> str:
        """The value of field ``name``; :class:`NotFound` naming the field if it is absent."""
        try:
            return self.data[name]
        except KeyError:
            raise NotFound(f"{self.describe()} has no field {name!r}{_fields(self.data)}") from None

    def typed_value(self, name: str) -> object:
        """Field ``name`` as Vault holds it (see :attr:`raw`); :class:`NotFound` if absent."""
        if self.raw is None:
            return self.value(name)
        if name not in self.raw:
            self.value(name)  # raises NotFound with the field list
        return self.raw[name]

    def describe(self) -> str:
        """How messages name this secret: the logical path, and the version when pinned."""
        where = self.location.path
        if self.location.version is not None:
            where += f" (version {self.location.version})"
        return f"Vault secret {where!r}"


class Resolver(Protocol):
    """Reads secrets; ``close()`` when done with it.

    Implementations raise only :class:`sealer.vault.errors.VaultError`, except that an error a
    Kubernetes JWT source raises on purpose (a :class:`sealer.errors.SealopsError`) passes through.
    """

    def read(self, location: SecretLocation) -> SecretData:
        """Read the secret at ``location`` (its pinned version, else the current one)."""
        ...

    def forget(self, location: SecretLocation) -> None:
        """Drop what is kept of ``location``: the next :meth:`read` asks Vault afresh.

        A no-op for a resolver that keeps no reads.
        """
        ...

    def close(self) -> None:
        """Release connections and tokens; the resolver is not used afterwards."""
        ...


def resolve_value(resolver: Resolver, ref: VaultRef) -> str:
    """The one field ``ref`` names (a ``data[].ref`` or a placeholder)."""
    if ref.field is None:
        raise InvalidReference(f"Vault reference {ref.text!r} names no field: add #<field>")
    return resolver.read(ref.location).value(ref.field)


def resolve_data(resolver: Resolver, ref: VaultRef) -> Mapping[str, str]:
    """All fields of the secret ``ref`` names (``dataFrom``); a field in ``ref`` narrows it."""
    secret = resolver.read(ref.location)
    if ref.field is None:
        return dict(secret.data)
    return {ref.field: secret.value(ref.field)}


def stringify(raw: Mapping[str, object]) -> dict[str, str]:
    """KV values as strings: strings as they are, anything else as compact JSON.

    KV stores JSON, so a value can be a number, a bool or a nested object; a Kubernetes Secret
    holds bytes. This matches External Secrets Operator's rendering of non-string values.
    """
    return {
        str(key): value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        for key, value in raw.items()
    }


def _fields(data: Mapping[str, str]) -> str:
    # Field names are not secret and tell the user what to write instead; values never appear.
    if not data:
        return " (it has no fields)"
    names = sorted(data)
    shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
    return f" (it has: {shown})"
