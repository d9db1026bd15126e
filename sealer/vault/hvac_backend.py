"""The resolver that talks to a real Vault or OpenBao through hvac. The only module importing hvac.

:class:`HvacResolver` implements :class:`~sealer.vault.resolver.Resolver` for one
:class:`~sealer.vault.config.VaultConfig`. The controller keeps one per connection (and, with
Kubernetes auth, per tenant ServiceAccount) and calls it from kopf's sync handler threads; the
renderer keeps one per run and reads in parallel. Per read it:

1. keeps the token valid (:class:`~sealer.vault.session.TokenKeeper`, over :class:`_TokenApi`);
2. finds the mount and its KV version through ``sys/internal/ui/mounts/<path>``, once per mount
   (:class:`~sealer.vault.kv.MountCache`), unless the connection pins the KV version;
3. reads ``<mount>/data/<path>?version=N`` (KV v2) or ``<mount>/<path>`` (KV v1).

Every request goes through :class:`_Transport`, which counts it, sends it and translates hvac and
requests exceptions, once, into :mod:`sealer.vault.errors` with ``raise … from``. Messages name
paths and mounts; text Vault sends back is scrubbed of every credential we hold before it is
quoted, and tokens and values are never formatted into anything.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import hvac
import hvac.exceptions
import hvac.utils
import requests
import urllib3
import urllib3.connection
from hvac.exceptions import VaultError as HvacError
from requests.adapters import HTTPAdapter

from sealer.errors import SealopsError
from sealer.vault.config import AppRoleAuth, Auth, KubernetesAuth, TokenAuth, VaultConfig
from sealer.vault.counter import RequestCounter, RequestKind
from sealer.vault.errors import (
    Forbidden,
    InvalidReference,
    LoginFailed,
    NotFound,
    VaultError,
    VaultUnavailable,
)
from sealer.vault.kv import MountCache, MountInfo, not_found, place, version_gone
from sealer.vault.lease import Grant
from sealer.vault.refs import VAULT_RESERVED, SecretLocation, first_segment_mount
from sealer.vault.resolver import SecretData, stringify
from sealer.vault.session import Clock, TokenKeeper

__all__ = ["HvacResolver"]

log = logging.getLogger("sealer.vault")

# Enough pooled connections for the controller's handler threads and the renderer's readers.
_POOL_SIZE = 32
_MAX_QUOTED = 200
#: The most read of one answer (a KV secret fits in a Secret's 1 MiB; logins and lookups are
#: small): the address may be a tenant's, and a server there may send any amount.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
_READ = 64 * 1024

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
        auth = self.config.auth
        if isinstance(auth, TokenAuth):
            held.append(auth.token)
        elif isinstance(auth, AppRoleAuth):
            held.append(auth.secret_id)
        return held


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
        self._session = _session(config)
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
        if isinstance(exc, _AnswerTooLarge):
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
    """The token lifecycle's HTTP side, for :class:`TokenKeeper`."""

    def __init__(self, transport: _Transport, auth: Auth) -> None:
        self._transport = transport
        self._auth = auth
        self.can_relogin = not isinstance(auth, TokenAuth)
        if isinstance(auth, TokenAuth):
            self.method = "token"
        elif isinstance(auth, AppRoleAuth):
            self.method = f"approle at auth/{auth.mount_path.strip('/')}"
        else:
            self.method = f"kubernetes role {auth.role!r} at auth/{auth.mount_path.strip('/')}"

    def login(self) -> Grant:
        auth = self._auth
        action = f"logging in ({self.method})"
        if isinstance(auth, TokenAuth):
            # Nothing to log in with: look the token up to learn its TTL and renewability.
            try:
                body = self._transport.send(
                    "lookup",
                    action,
                    lambda c: c.auth.token.lookup_self(),
                    token=auth.token,
                )
            except Forbidden:
                # Dead, or a token without the default policy, which may not look itself up:
                # use it as it is, and let the first real request tell.
                log.debug("cannot look up the Vault token (%s): using it unrenewed", self.method)
                return Grant(token=auth.token, ttl=0, renewable=False, checked=False)
            data = body.get("data") or {}
            ttl = _int_or_none(data.get("ttl")) or 0
            return Grant(token=auth.token, ttl=ttl, renewable=bool(data.get("renewable")))
        if isinstance(auth, AppRoleAuth):
            role_id, secret_id = auth.role_id, auth.secret_id
            mount = auth.mount_path.strip("/")
            body = self._transport.send(
                "login",
                action,
                lambda c: c.auth.approle.login(
                    role_id=role_id, secret_id=secret_id, mount_point=mount, use_token=False
                ),
                token=None,
                reject=self._refused(),
            )
        else:
            jwt, role, mount = _jwt(auth), auth.role, auth.mount_path.strip("/")
            body = self._transport.send(
                "login",
                action,
                lambda c: c.auth.kubernetes.login(
                    role=role, jwt=jwt, mount_point=mount, use_token=False
                ),
                token=None,
                reject=self._refused(),
            )
        return _grant(body, action)

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

    def _refused(self) -> Reject:
        method = self.method

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


class _AnswerTooLarge(requests.RequestException):
    """An answer over :data:`MAX_ANSWER_BYTES`."""


class _Watchdog:
    """Shuts the socket of the request in flight on this thread once its deadline passes.

    requests' timeout is per read, so a server sending one header line or one byte at a time
    would hold the thread for as long as it likes; the status line and headers are read inside
    urllib3, out of the adapter's reach. A shut-down socket makes that read fail at once.
    """

    _local = threading.local()

    @classmethod
    def watch(cls, sock: socket.socket | None) -> None:
        """Called by the connection as it sends a request: the socket the answer comes on."""
        armed: _Watchdog | None = getattr(cls._local, "current", None)
        if armed is not None and sock is not None:
            armed._sock = sock
            if armed._fired:
                armed._shut()

    def __init__(self, seconds: float):
        self._sock: socket.socket | None = None
        self._fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        type(self)._local.current = self
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()
        type(self)._local.current = None

    @property
    def fired(self) -> bool:
        return self._fired

    def _fire(self) -> None:
        self._fired = True
        self._shut()

    def _shut(self) -> None:
        with contextlib.suppress(OSError):
            if self._sock is not None:
                self._sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _Watchdog.watch(self.sock)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _Watchdog.watch(self.sock)


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _BoundedAdapter(HTTPAdapter):
    """Reads each answer itself: at most :data:`MAX_ANSWER_BYTES`, and the whole exchange
    (status line, headers and body) within the timeout, watched by :class:`_Watchdog`
    (requests' timeout is per read: one byte a second would never end)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        seconds = timeout if isinstance(timeout, int | float) else None
        if seconds is None:
            return self._send_bounded(request, None, verify=verify, cert=cert, proxies=proxies)
        # The connect, the status line and headers, and the body: all within the timeout.
        with _Watchdog(seconds) as watchdog:
            try:
                return self._send_bounded(
                    request, seconds, verify=verify, cert=cert, proxies=proxies
                )
            except requests.RequestException:
                if watchdog.fired:  # the socket was shut for being slow: a timeout, not an outage
                    raise requests.exceptions.ReadTimeout("no whole answer in time") from None
                raise

    def _send_bounded(
        self,
        request: requests.PreparedRequest,
        seconds: float | None,
        *,
        verify: Any,
        cert: Any,
        proxies: Any,
    ) -> requests.Response:
        response = super().send(
            request, stream=True, timeout=seconds, verify=verify, cert=cert, proxies=proxies
        )
        deadline = None if seconds is None else time.monotonic() + seconds
        body = bytearray()
        try:
            while chunk := response.raw.read1(_READ):  # what has arrived, never more
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise _AnswerTooLarge("answer too large")
                if deadline is not None and time.monotonic() > deadline:
                    raise requests.exceptions.ReadTimeout("answer too slow")
        except BaseException:
            response.close()
            raise
        response._content = bytes(body)  # what requests would have read itself, bounded
        response._content_consumed = True
        return response


def _no_ambient_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _session(config: VaultConfig) -> requests.Session:
    session = requests.Session()
    # No compressed answers: the bound above counts what is decoded, and a gzip bomb would
    # decode a whole chunk first.
    session.headers["Accept-Encoding"] = "identity"
    # No ambient credentials: requests would add a ~/.netrc (or $NETRC) login to every request
    # carrying no auth of its own (hvac sends the token as a header), and the address may be a
    # tenant's. A session-level auth that adds nothing stops that lookup; proxies from the
    # environment still apply (an operator's egress proxy).
    session.auth = _no_ambient_auth
    # hvac takes `verify` from a given session, so the CA goes on the session itself.
    if config.ca_file is not None:
        session.verify = str(config.ca_file)
    session.mount("http://", _BoundedAdapter(pool_maxsize=_POOL_SIZE))
    session.mount("https://", _TlsAdapter(config.ca_pem))
    return session


class _TlsAdapter(_BoundedAdapter):
    """Pools whose TLS context trusts PEM text held in memory (a CA from a Secret)."""

    def __init__(self, ca_pem: str | None) -> None:
        self._ca_pem = ca_pem
        super().__init__(pool_maxsize=_POOL_SIZE)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._ca_pem is not None:
            kwargs["ssl_context"] = ssl.create_default_context(cadata=self._ca_pem)
        super().init_poolmanager(*args, **kwargs)


def _may_be_vaults_own(path: str) -> bool:
    """Whether ``path`` may name one of Vault's own endpoints inside a Vault namespace
    (``team/auth/token/lookup-self``): a pinned KV version reads it only once the server's mount
    table says it is on a KV mount (parse_ref already refuses them as the first segment)."""
    return any(segment in VAULT_RESERVED for segment in path.split("/")[1:-1])


def _jwt(auth: KubernetesAuth) -> str:
    if auth.jwt_source is not None:
        where = f"for Vault role {auth.role!r}"
        try:
            jwt = auth.jwt_source()
        except SealopsError:
            raise  # the source chose its error, and whether it is worth retrying
        except Exception as exc:
            raise LoginFailed(
                f"cannot get a Kubernetes service account token {where}: {type(exc).__name__}"
            ) from exc
    else:
        where = repr(str(auth.jwt_file))
        try:
            # Read at every login: projected ServiceAccount tokens are rotated on disk.
            jwt = Path(str(auth.jwt_file)).read_text(encoding="utf-8")
        except OSError as exc:
            raise LoginFailed(
                f"cannot read the Kubernetes service account token {where}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from exc
    if not jwt.strip():
        raise LoginFailed(f"the Kubernetes service account token {where} is empty")
    return jwt.strip()


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
