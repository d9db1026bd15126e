"""Reads secrets from one Vault with one identity: :class:`HvacResolver`.

Per read it:

1. keeps the token valid (:class:`~sealer.vault.session.TokenKeeper`, over
   :class:`~sealer.vault.hvac_backend.token_api.TokenApi`), logging in by the config's
   :mod:`sealer.vault.auth` method;
2. finds the mount and its KV version through ``sys/internal/ui/mounts/<path>``, once per mount
   (:class:`~sealer.vault.kv.MountCache`), unless the connection pins the KV version;
3. reads ``<mount>/data/<path>?version=N`` (KV v2) or ``<mount>/<path>`` (KV v1).

Every request goes through :class:`~sealer.vault.hvac_backend.transport.Transport`. Messages name
paths and mounts; tokens and values are never formatted into anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import hvac
import hvac.exceptions
import hvac.utils
from hvac.exceptions import VaultError as HvacError

from sealer.vault.config import VaultConfig
from sealer.vault.counter import RequestCounter, RequestKind
from sealer.vault.errors import InvalidReference, NotFound, VaultError, VaultUnavailable
from sealer.vault.hvac_backend.token_api import TokenApi
from sealer.vault.hvac_backend.transport import Reject, Transport, int_or_none
from sealer.vault.kv import MountCache, MountInfo, no_mount, not_found, place, version_gone
from sealer.vault.refs import VAULT_RESERVED, SecretLocation, first_segment_mount
from sealer.vault.resolver import SecretData, stringify
from sealer.vault.session import Clock, TokenKeeper

__all__ = ["HvacResolver"]

log = logging.getLogger("sealer.vault")


class HvacResolver:
    """Reads secrets from one Vault with one identity. Thread-safe; ``close()`` when done."""

    def __init__(
        self,
        config: VaultConfig,
        *,
        clock: Clock | None = None,
        counter: RequestCounter | None = None,
    ) -> None:
        self.config = config
        #: Requests sent, by kind; pass one counter to several resolvers to add them up.
        self.counter = counter if counter is not None else RequestCounter()
        self._transport = Transport(config, self.counter, credentials=self._credentials)
        api = TokenApi(self._transport, config.auth)
        self._keeper = TokenKeeper(api) if clock is None else TokenKeeper(api, clock=clock)
        self._mounts = MountCache()
        # One lookup at a time, so threads starting together on a new mount ask only once; an
        # outage met by one lookup is handed to those queued behind it.
        self._mount_lookup = threading.Lock()
        self._lookup_outages = 0
        self._lookup_outage: VaultUnavailable | None = None

    def read(self, location: SecretLocation) -> SecretData:
        mount = self._mount_of(location)
        inner = place(location, mount)
        action = f"reading Vault secret {str(location)!r}"
        if mount.kv_version == 1:
            body = self._authed(
                "read",
                action,
                lambda c: c.secrets.kv.v1.read_secret(path=inner, mount_point=mount.path),
                reject=_missing(lambda exc: not_found(location)),
            )
            return SecretData(
                location=location, data=_fields(body, location), version=None, raw=body["data"]
            )
        body = self._authed(
            "read",
            action,
            lambda c: c.secrets.kv.v2.read_secret_version(
                path=inner,
                version=location.version,
                mount_point=mount.path,
                raise_on_deleted_version=True,
            ),
            reject=_missing(lambda exc: _v2_missing(exc, location)),
        )
        payload = body.get("data") or {}
        metadata = payload.get("metadata") or {}
        if payload.get("data") is None:
            # Older servers answer a deleted version with 200 and no data instead of a 404.
            raise _v2_gone(metadata, location)
        return SecretData(
            location=location,
            data=_fields(payload, location),
            version=int_or_none(metadata.get("version")),
            raw=payload["data"],
        )

    def forget(self, location: SecretLocation) -> None:
        """Nothing to drop: reads are never kept here (mounts are: they do not move)."""

    def close(self) -> None:
        self._transport.close()

    def _authed(
        self,
        kind: RequestKind,
        action: str,
        call: Callable[[hvac.Client], Any],
        *,
        reject: Reject,
    ) -> dict[str, Any]:
        def request(token: str) -> dict[str, Any]:
            return self._transport.send(kind, action, call, token=token, reject=reject)

        return self._keeper.call(request)

    def _mount_of(self, location: SecretLocation) -> MountInfo:
        pinned = self.config.kv_version
        if pinned is not None and not _may_be_vaults_own(location.path):
            # Pinned: no lookup (the token may not read sys/internal/ui/mounts); the mount is
            # the one the spelling fixed, else the first segment.
            name = location.mount or first_segment_mount(location.path)[0]
            return MountInfo(path=name, kv_version=pinned)
        found = self._mounts.find(location.path)
        if found is not None:
            return found
        seen = self._lookup_outages
        with self._mount_lookup:
            found = self._mounts.find(location.path)
            if found is not None:
                return found
            if self._lookup_outages != seen and self._lookup_outage is not None:
                # The lookup before ours found Vault down: do not queue another timeout.
                raise self._lookup_outage.located()
            try:
                found = self._lookup_mount(location.path)
            except VaultUnavailable as exc:
                self._lookup_outages += 1
                self._lookup_outage = exc
                raise
            self._lookup_outage = None
            self._mounts.add(found)
            log.debug("Vault mount %r is KV v%s", found.path, found.kv_version)
            return found

    def _lookup_mount(self, path: str) -> MountInfo:
        def reject(exc: HvacError, said: str) -> VaultError | None:
            if isinstance(exc, hvac.exceptions.InvalidPath):
                return NotFound(f"no Vault mount for {path!r}")
            if isinstance(exc, hvac.exceptions.Forbidden):
                # Vault answers 403 both for "no such mount" and "nothing here is yours".
                return no_mount(path)
            return None

        url = hvac.utils.format_url("/v1/sys/internal/ui/mounts/{path}", path=path)
        action = f"looking up the mount of {path!r}"
        body = self._authed("mount", action, lambda c: c.adapter.get(url), reject=reject)
        data = body.get("data") or {}
        name = str(data.get("path", "")).strip("/")
        engine = data.get("type")
        if not name or engine not in ("kv", "generic"):
            raise InvalidReference(
                f"Vault path {path!r} is on mount {name!r} of type {engine!r}, not a KV engine"
            )
        options = data.get("options") or {}
        return MountInfo(path=name, kv_version=2 if str(options.get("version")) == "2" else 1)

    def _credentials(self) -> list[str]:
        lease = self._keeper.lease
        held = [lease.token] if lease is not None else []
        return [*held, *self.config.auth.credentials()]


def _may_be_vaults_own(path: str) -> bool:
    """Whether ``path`` may name one of Vault's own endpoints inside a Vault namespace
    (``team/auth/token/lookup-self``): a pinned KV version reads it only once the server's mount
    table says it is on a KV mount (parse_ref already refuses them as the first segment)."""
    return any(segment in VAULT_RESERVED for segment in path.split("/")[1:-1])


def _missing(make: Callable[[HvacError], VaultError]) -> Reject:
    def reject(exc: HvacError, said: str) -> VaultError | None:
        return make(exc) if isinstance(exc, hvac.exceptions.InvalidPath) else None

    return reject


def _fields(payload: Mapping[str, Any], location: SecretLocation) -> dict[str, str]:
    data = payload.get("data")
    if not isinstance(data, dict):
        raise not_found(location)
    return stringify(data)


def _v2_missing(exc: HvacError, location: SecretLocation) -> VaultError:
    # A deleted or destroyed version answers 404 with its metadata; a missing one without.
    body = exc.json if isinstance(exc.json, dict) else {}
    return _v2_gone((body.get("data") or {}).get("metadata") or {}, location)


def _v2_gone(metadata: Mapping[str, Any], location: SecretLocation) -> VaultError:
    if metadata.get("destroyed") or metadata.get("deletion_time"):
        return version_gone(
            location,
            version=int_or_none(metadata.get("version")),
            destroyed=bool(metadata.get("destroyed")),
        )
    return not_found(location)
