"""The resolver that talks to a real Vault or OpenBao through hvac. The only module importing hvac.

:class:`HvacResolver` implements :class:`~sealer.vault.resolver.Resolver` for one
:class:`~sealer.vault.config.VaultConfig`. The controller keeps one per connection (and, with
Kubernetes auth, per tenant ServiceAccount) and calls it from kopf's sync handler threads; the
renderer keeps one per run and reads in parallel. Per read it:

1. keeps the token valid (:class:`~sealer.vault.session.TokenKeeper`, over :class:`_TokenApi`),
   logging in by the config's :mod:`sealer.vault.auth` method through :class:`_LoginApi`;
2. finds the mount and its KV version through ``sys/internal/ui/mounts/<path>``, once per mount
   (:class:`~sealer.vault.kv.MountCache`), unless the connection pins the KV version;
3. reads ``<mount>/data/<path>?version=N`` (KV v2) or ``<mount>/<path>`` (KV v1).

Every request goes through :class:`_Transport` (over :mod:`sealer.vault.http_session`'s bounded
session), which counts it, sends it and translates hvac and requests exceptions, once, into
:mod:`sealer.vault.errors` with ``raise … from``. Messages name paths and mounts; text Vault
sends back is scrubbed of every credential we hold before it is quoted, and tokens and values
are never formatted into anything.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

import hvac
import hvac.exceptions
import hvac.utils
import requests
from hvac.exceptions import VaultError as HvacError

from sealer.vault.auth import Auth
from sealer.vault.config import VaultConfig
from sealer.vault.counter import RequestCounter, RequestKind
from sealer.vault.errors import (
    Forbidden,
    InvalidReference,
    LoginFailed,
    NotFound,
    VaultError,
    VaultUnavailable,
)
from sealer.vault.http_session import MAX_ANSWER_BYTES, AnswerTooLarge, bounded_session
from sealer.vault.kv import MountCache, MountInfo, not_found, place, version_gone
from sealer.vault.lease import Grant
from sealer.vault.refs import VAULT_RESERVED, SecretLocation, first_segment_mount
from sealer.vault.resolver import SecretData, stringify
from sealer.vault.session import Clock, TokenKeeper

__all__ = ["HvacResolver"]

log = logging.getLogger("sealer.vault")

_MAX_QUOTED = 200

#: Turns a status error Vault answered into the error a call site means, or None for the default.
Reject = Callable[[HvacError, str], VaultError | None]


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
        self._transport = _Transport(config, self.counter, credentials=self._credentials)
        api = _TokenApi(self._transport, config.auth)
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
            return SecretData(location=location, data=_fields(body, location), version=None)
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
            version=_int_or_none(metadata.get("version")),
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
                return Forbidden(
                    f"no Vault mount for {path!r} that this token may read "
                    "(no such mount, or its policies grant nothing there)"
                )
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


class _Transport:
    """Sends one request: counts it, picks this thread's client, translates its errors."""

    def __init__(
        self,
        config: VaultConfig,
        counter: RequestCounter,
        *,
        credentials: Callable[[], Iterable[str]],
    ) -> None:
        self._config = config
        self._counter = counter
        self._credentials = credentials
        self._session = bounded_session(config)
        self._local = threading.local()

    def send(
        self,
        kind: RequestKind,
        action: str,
        call: Callable[[hvac.Client], Any],
        *,
        token: str | None,
        reject: Reject | None = None,
    ) -> dict[str, Any]:
        client = self._client(token)
        self._counter.add(kind)
        try:
            body = call(client)
        except HvacError as exc:
            chosen = reject(exc, self._said(exc)) if reject is not None else None
            if chosen is not None:
                raise chosen from exc
            self._fail(exc, action)
        except requests.RequestException as exc:
            self._fail(exc, action)
        except (ValueError, RecursionError) as exc:  # not JSON (a proxy), or nested past parsing
            raise VaultUnavailable(f"Vault answered {action} with a body that is not JSON") from exc
        if isinstance(body, requests.Response):  # 204 No Content comes back raw
            return {}
        if not isinstance(body, dict):
            raise VaultUnavailable(f"Vault answered {action} with unexpected JSON")
        return body

    def close(self) -> None:
        self._session.close()

    def _client(self, token: str | None) -> hvac.Client:
        # One hvac client per thread over the shared session: each thread sets its own token,
        # so a login in one thread never changes the header of a request in flight in another.
        client: hvac.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = hvac.Client(
                url=self._config.address,
                timeout=self._config.timeout,
                namespace=self._config.namespace,
                session=self._session,
            )
            self._local.client = client
        client.token = token
        return client

    def _fail(self, exc: Exception, action: str) -> NoReturn:
        address = self._config.address
        if isinstance(exc, requests.Timeout):
            raise VaultUnavailable(
                f"Vault at {address} did not answer {action} within {self._config.timeout:g}s"
            ) from exc
        if isinstance(exc, AnswerTooLarge):
            raise VaultUnavailable(
                f"Vault at {address} answered {action} with more than "
                f"{MAX_ANSWER_BYTES // (1024 * 1024)} MiB: not read further"
            ) from exc
        if isinstance(exc, requests.exceptions.SSLError):
            raise VaultUnavailable(
                f"TLS with Vault at {address} failed {action} (check the CA bundle)"
            ) from exc
        if isinstance(exc, requests.RequestException):
            raise VaultUnavailable(f"cannot reach Vault at {address} {action}") from exc
        said = self._said(exc)
        if isinstance(exc, hvac.exceptions.Forbidden | hvac.exceptions.Unauthorized):
            raise Forbidden(f"permission denied {action}{said}") from exc
        if isinstance(exc, hvac.exceptions.InvalidPath):
            raise NotFound(f"Vault found nothing {action}{said}") from exc
        if isinstance(exc, hvac.exceptions.VaultDown):
            raise VaultUnavailable(f"Vault at {address} is sealed or unavailable {action}") from exc
        if isinstance(exc, hvac.exceptions.InvalidRequest):
            raise InvalidReference(f"Vault rejected {action}{said}") from exc
        # 429, 500, 501, 502 and anything unexpected: the server is not serving us right now.
        raise VaultUnavailable(f"Vault at {address} failed {action}{said}") from exc

    def _said(self, exc: Exception) -> str:
        """Vault's own error text as ``": …"``: one line, short, scrubbed of our credentials."""
        errors = getattr(exc, "errors", None)
        if not errors:
            return ""
        text = " ".join(" ".join(str(e) for e in errors).split())
        text = re.sub(r"^\d+ errors? occurred: ", "", text).replace("* ", "").strip()
        if text == "permission denied":
            return ""  # our own message already says so
        for secret in self._credentials():
            if secret:
                text = text.replace(secret, "<redacted>")
        if len(text) > _MAX_QUOTED:
            text = text[:_MAX_QUOTED] + "…"
        return f": {text}" if text else ""


class _RenewRefused(VaultError):
    """Vault answered a renewal but will not renew: the keeper logs in instead."""


class _TokenApi:
    """The token lifecycle's HTTP side, for :class:`TokenKeeper`; the login is the method's own."""

    def __init__(self, transport: _Transport, auth: Auth) -> None:
        self._transport = transport
        self._auth = auth
        self._logins = _LoginApi(transport)
        self.method = auth.method
        self.can_relogin = auth.can_relogin

    def login(self) -> Grant:
        return self._auth.login(self._logins)

    def renew(self, token: str, *, increment: int) -> Grant | None:
        def reject(exc: HvacError, said: str) -> VaultError | None:
            # 403: dead token. 400: "lease is not renewable". 500: "past the max TTL, cannot
            # renew". Vault is up in all three, and a login helps.
            refused = (
                hvac.exceptions.Forbidden,
                hvac.exceptions.InvalidRequest,
                hvac.exceptions.InternalServerError,
            )
            return (
                _RenewRefused(f"Vault will not renew the token{said}")
                if isinstance(exc, refused)
                else None
            )

        try:
            body = self._transport.send(
                "renew",
                "renewing the token",
                lambda c: c.auth.token.renew_self(increment=f"{increment}s"),
                token=token,
                reject=reject,
            )
        except _RenewRefused as exc:
            log.debug("%s (%s); logging in instead", exc.message, self.method)
            return None
        return _grant(body, "renewing the token")

    def is_alive(self, token: str) -> bool:
        try:
            self._transport.send(
                "lookup", "checking the token", lambda c: c.auth.token.lookup_self(), token=token
            )
        except Forbidden:
            return False
        return True


class _LoginApi:
    """What an auth method may ask of Vault (:class:`sealer.vault.auth.LoginApi`), over hvac."""

    def __init__(self, transport: _Transport) -> None:
        self._transport = transport

    def login(self, mount: str, body: Mapping[str, str], *, method: str) -> Grant:
        url = hvac.utils.format_url("/v1/auth/{mount_point}/login", mount_point=mount)
        action = f"logging in ({method})"
        answer = self._transport.send(
            "login",
            action,
            lambda c: c.adapter.post(url, json=dict(body)),
            token=None,
            reject=_refused(method),
        )
        return _grant(answer, action)

    def lookup(self, token: str, *, method: str) -> Grant:
        answer = self._transport.send(
            "lookup", f"logging in ({method})", lambda c: c.auth.token.lookup_self(), token=token
        )
        data = answer.get("data") or {}
        ttl = _int_or_none(data.get("ttl")) or 0
        return Grant(token=token, ttl=ttl, renewable=bool(data.get("renewable")))


def _refused(method: str) -> Reject:
    def reject(exc: HvacError, said: str) -> VaultError | None:
        # 400 (bad role or secret id), 401/403 (refused), 404 (no such auth mount).
        refused = (
            hvac.exceptions.InvalidRequest,
            hvac.exceptions.Unauthorized,
            hvac.exceptions.Forbidden,
            hvac.exceptions.InvalidPath,
        )
        if isinstance(exc, refused):
            return LoginFailed(f"Vault refused the login ({method}){said}")
        return None

    return reject


def _may_be_vaults_own(path: str) -> bool:
    """Whether ``path`` may name one of Vault's own endpoints inside a Vault namespace
    (``team/auth/token/lookup-self``): a pinned KV version reads it only once the server's mount
    table says it is on a KV mount (parse_ref already refuses them as the first segment)."""
    return any(segment in VAULT_RESERVED for segment in path.split("/")[1:-1])


def _missing(make: Callable[[HvacError], VaultError]) -> Reject:
    def reject(exc: HvacError, said: str) -> VaultError | None:
        return make(exc) if isinstance(exc, hvac.exceptions.InvalidPath) else None

    return reject


def _grant(body: Mapping[str, Any], action: str) -> Grant:
    auth = body.get("auth") or {}
    token = auth.get("client_token")
    if not isinstance(token, str) or not token:
        raise VaultUnavailable(f"Vault answered {action} without a token")
    return Grant(
        token=token,
        ttl=_int_or_none(auth.get("lease_duration")) or 0,
        renewable=bool(auth.get("renewable")),
    )


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
            version=_int_or_none(metadata.get("version")),
            destroyed=bool(metadata.get("destroyed")),
        )
    return not_found(location)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
        return int(value)
    return None
