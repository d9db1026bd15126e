"""The resolver that talks to a real Vault or OpenBao through hvac. The only module importing hvac.

:class:`HvacResolver` implements :class:`~sealer.vault.resolver.Resolver` for one
:class:`~sealer.vault.config.VaultConfig`. The controller keeps one per connection (and, with
Kubernetes auth, per tenant ServiceAccount) and calls it from kopf's sync handler threads; the
renderer keeps one per run and reads in parallel. Per read it:

1. keeps the token valid (:class:`~sealer.vault.session.TokenKeeper`);
2. finds the mount and its KV version through ``sys/internal/ui/mounts/<path>``, once per mount
   (:class:`~sealer.vault.kv.MountCache`), unless the connection pins the KV version;
3. reads ``<mount>/data/<path>?version=N`` (KV v2) or ``<mount>/<path>`` (KV v1).

hvac and requests exceptions are translated here, once, into :mod:`sealer.vault.errors` with
``raise … from``. Messages name paths and mounts; tokens and values never reach them, and any
text Vault sends back is scrubbed of the credentials we hold before it is quoted.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import hvac
import hvac.exceptions
import hvac.utils
import requests
from requests.adapters import HTTPAdapter

from sealer.vault.config import AppRoleAuth, KubernetesAuth, TokenAuth, VaultConfig
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
from sealer.vault.refs import SecretLocation, first_segment_mount
from sealer.vault.resolver import SecretData, stringify
from sealer.vault.session import Clock, TokenKeeper

__all__ = ["HvacResolver"]

log = logging.getLogger("sealer.vault")

T = TypeVar("T")

# Enough pooled connections for the controller's handler threads and the renderer's readers.
_POOL_SIZE = 32
_MAX_QUOTED = 200


class HvacResolver:
    """Reads secrets from one Vault with one identity. Thread-safe."""

    def __init__(
        self,
        config: VaultConfig,
        *,
        clock: Clock | None = None,
        counter: RequestCounter | None = None,
    ) -> None:
        self.config = config
        self.counter = counter if counter is not None else RequestCounter()
        self._session = _session(config)
        self._local = threading.local()
        self._mounts = MountCache()
        # One lookup at a time, so threads starting together on a new mount ask only once.
        self._mount_lookup = threading.Lock()
        self._api = _TokenApi(self)
        self._keeper = (
            TokenKeeper(self._api) if clock is None else TokenKeeper(self._api, clock=clock)
        )

    # -- Resolver ----------------------------------------------------------------------------

    def read(self, location: SecretLocation) -> SecretData:
        mount = self._mount_of(location)
        inner = place(location, mount)
        action = f"reading Vault secret {str(location)!r}"
        if mount.kv_version == 1:
            body = self._authed(
                "read",
                action,
                lambda c: c.secrets.kv.v1.read_secret(path=inner, mount_point=mount.path),
                missing=lambda exc: not_found(location),
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
            missing=lambda exc: _v2_missing(exc, location),
        )
        payload = body.get("data") or {}
        metadata = payload.get("metadata") or {}
        return SecretData(
            location=location,
            data=_fields(payload, location),
            version=_int_or_none(metadata.get("version")),
        )

    def close(self) -> None:
        self._session.close()

    # -- mounts ------------------------------------------------------------------------------

    def _mount_of(self, location: SecretLocation) -> MountInfo:
        pinned = self.config.kv_version
        if pinned is not None:
            # Pinned: no lookup (the token may not read sys/internal/ui/mounts); the mount is
            # the one the spelling fixed, else the first segment.
            name = location.mount or first_segment_mount(location.path)[0]
            return MountInfo(path=name, kv_version=pinned)
        found = self._mounts.find(location.path)
        if found is not None:
            return found
        with self._mount_lookup:
            found = self._mounts.find(location.path)
            if found is None:
                found = self._lookup_mount(location.path)
                self._mounts.add(found)
                log.debug("Vault mount %r is KV v%s", found.path, found.kv_version)
            return found

    def _lookup_mount(self, path: str) -> MountInfo:
        action = f"looking up the mount of {path!r}"
        url = hvac.utils.format_url("/v1/sys/internal/ui/mounts/{path}", path=path)

        def missing(exc: hvac.exceptions.VaultError) -> VaultError:
            return NotFound(f"no Vault mount for {path!r}")

        def denied() -> Forbidden:
            # Vault answers 403 both for "no such mount" and "nothing here is yours".
            return Forbidden(
                f"no Vault mount for {path!r} that this token may read "
                "(no such mount, or its policies grant nothing there)"
            )

        body = self._authed(
            "mount", action, lambda c: c.adapter.get(url), missing=missing, denied=denied
        )
        data = body.get("data") or {}
        name = str(data.get("path", "")).strip("/")
        engine = data.get("type")
        if not name or engine not in ("kv", "generic"):
            raise InvalidReference(
                f"Vault path {path!r} is on mount {name!r} of type {engine!r}, not a KV engine"
            )
        options = data.get("options") or {}
        return MountInfo(path=name, kv_version=2 if str(options.get("version")) == "2" else 1)

    # -- requests ----------------------------------------------------------------------------

    def _client(self, token: str | None) -> hvac.Client:
        # One hvac client per thread over the shared session: each thread sets its own token,
        # so a login in one thread never changes the header of a request in flight in another.
        client: hvac.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = hvac.Client(
                url=self.config.address,
                timeout=self.config.timeout,
                namespace=self.config.namespace,
                session=self._session,
            )
            self._local.client = client
        client.token = token
        return client

    def _authed(
        self,
        kind: RequestKind,
        action: str,
        call: Callable[[hvac.Client], Any],
        *,
        missing: Callable[[hvac.exceptions.VaultError], VaultError],
        denied: Callable[[], Forbidden] | None = None,
    ) -> dict[str, Any]:
        def request(token: str) -> dict[str, Any]:
            return self._send(
                kind, action, lambda: call(self._client(token)), missing=missing, denied=denied
            )

        return self._keeper.call(request)

    def _send(
        self,
        kind: RequestKind,
        action: str,
        call: Callable[[], Any],
        *,
        missing: Callable[[hvac.exceptions.VaultError], VaultError] | None = None,
        denied: Callable[[], Forbidden] | None = None,
    ) -> dict[str, Any]:
        self.counter.add(kind)
        try:
            body = call()
        except hvac.exceptions.InvalidPath as exc:
            if missing is None:
                self._fail(exc, action)
            raise missing(exc) from exc
        except hvac.exceptions.Forbidden as exc:
            if denied is None:
                self._fail(exc, action)
            raise denied() from exc
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            self._fail(exc, action)
        except ValueError as exc:  # a 200 whose body is not JSON: a proxy, not Vault
            raise VaultUnavailable(f"Vault answered {action} with a body that is not JSON") from exc
        if isinstance(body, requests.Response):  # 204 No Content comes back raw
            return {}
        if not isinstance(body, dict):
            raise VaultUnavailable(f"Vault answered {action} with unexpected JSON")
        return body

    def _fail(self, exc: Exception, action: str) -> NoReturn:
        address = self.config.address
        if isinstance(exc, requests.Timeout):
            raise VaultUnavailable(
                f"Vault at {address} did not answer {action} within {self.config.timeout:g}s"
            ) from exc
        if isinstance(exc, requests.exceptions.SSLError):
            raise VaultUnavailable(
                f"TLS with Vault at {address} failed {action} (check the CA bundle)"
            ) from exc
        if isinstance(exc, requests.RequestException):
            raise VaultUnavailable(f"cannot reach Vault at {address} {action}") from exc
        said = self._said(exc)
        if isinstance(exc, hvac.exceptions.InvalidPath):
            raise NotFound(f"Vault found nothing {action}{said}") from exc
        if isinstance(exc, hvac.exceptions.Forbidden | hvac.exceptions.Unauthorized):
            raise Forbidden(f"permission denied {action}{said}") from exc
        if isinstance(exc, hvac.exceptions.VaultDown):
            raise VaultUnavailable(f"Vault at {address} is sealed or unavailable {action}") from exc
        if isinstance(exc, hvac.exceptions.InvalidRequest):
            raise InvalidReference(f"Vault rejected {action}{said}") from exc
        raise VaultUnavailable(f"Vault at {address} failed {action}{said}") from exc

    def _said(self, exc: Exception) -> str:
        """Vault's own error text, one line, short, scrubbed of every credential we hold."""
        errors = getattr(exc, "errors", None)
        if not errors:
            return ""
        text = " ".join(" ".join(str(e) for e in errors).split()).strip("* ")
        for secret in self._credentials():
            if secret:
                text = text.replace(secret, "<redacted>")
        if len(text) > _MAX_QUOTED:
            text = text[:_MAX_QUOTED] + "…"
        return f": {text}" if text else ""

    def _credentials(self) -> list[str]:
        lease = self._keeper.lease
        held = [lease.token] if lease is not None else []
        auth = self.config.auth
        if isinstance(auth, TokenAuth):
            held.append(auth.token)
        elif isinstance(auth, AppRoleAuth):
            held.append(auth.secret_id)
        return held


class _TokenApi:
    """The token lifecycle's HTTP side for :class:`TokenKeeper`, on the resolver's clients."""

    def __init__(self, resolver: HvacResolver) -> None:
        self._r = resolver
        auth = resolver.config.auth
        self.can_relogin = not isinstance(auth, TokenAuth)
        if isinstance(auth, TokenAuth):
            self.method = "token"
        elif isinstance(auth, AppRoleAuth):
            self.method = f"approle at auth/{auth.mount_path.strip('/')}"
        else:
            self.method = f"kubernetes role {auth.role!r} at auth/{auth.mount_path.strip('/')}"

    def login(self) -> Grant:
        auth = self._r.config.auth
        action = f"logging in ({self.method})"
        try:
            if isinstance(auth, TokenAuth):
                client = self._r._client(auth.token)
                body = self._r._send("lookup", action, client.auth.token.lookup_self)
                data = body.get("data") or {}
                return Grant(
                    token=auth.token,
                    ttl=_int_or_none(data.get("ttl")) or 0,
                    renewable=bool(data.get("renewable")),
                )
            client = self._r._client(None)
            if isinstance(auth, AppRoleAuth):
                body = self._r._send(
                    "login",
                    action,
                    lambda: client.auth.approle.login(
                        role_id=auth.role_id,
                        secret_id=auth.secret_id,
                        mount_point=auth.mount_path.strip("/"),
                        use_token=False,
                    ),
                )
            else:
                jwt = _jwt(auth)
                body = self._r._send(
                    "login",
                    action,
                    lambda: client.auth.kubernetes.login(
                        role=auth.role,
                        jwt=jwt,
                        mount_point=auth.mount_path.strip("/"),
                        use_token=False,
                    ),
                )
        except (Forbidden, InvalidReference, NotFound) as exc:
            # 400 (bad role or secret id), 403 and 404 (no such auth mount) all mean: refused.
            raise LoginFailed(f"Vault refused the login ({self.method}): {exc.message}") from exc
        return _grant(body, action)

    def renew(self, token: str, *, increment: int) -> Grant | None:
        client = self._r._client(token)
        try:
            body = self._r._send(
                "renew",
                "renewing the token",
                lambda: client.auth.token.renew_self(increment=f"{increment}s"),
            )
        except (Forbidden, InvalidReference):
            return None  # dead, or "lease is not renewable": the caller logs in instead
        except VaultUnavailable as exc:
            # Vault answers "past the max TTL, cannot renew" with a 500: it is up, and a
            # login helps. Anything else (refused connection, 503) is an outage.
            if isinstance(exc.__cause__, hvac.exceptions.InternalServerError):
                return None
            raise
        return _grant(body, "renewing the token")

    def is_alive(self, token: str) -> bool:
        client = self._r._client(token)
        try:
            self._r._send("lookup", "checking the token", client.auth.token.lookup_self)
        except Forbidden:
            return False
        return True


def _session(config: VaultConfig) -> requests.Session:
    session = requests.Session()
    # hvac takes `verify` from a given session, so the CA goes on the session itself.
    if config.ca_file is not None:
        session.verify = str(config.ca_file)
    session.mount("http://", HTTPAdapter(pool_maxsize=_POOL_SIZE))
    session.mount("https://", _TlsAdapter(config.ca_pem))
    return session


class _TlsAdapter(HTTPAdapter):
    """Pools whose TLS context trusts PEM text held in memory (a CA from a Secret)."""

    def __init__(self, ca_pem: str | None) -> None:
        self._ca_pem = ca_pem
        super().__init__(pool_maxsize=_POOL_SIZE)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._ca_pem is not None:
            context = ssl.create_default_context(cadata=self._ca_pem)
            kwargs["ssl_context"] = context
        super().init_poolmanager(*args, **kwargs)


def _jwt(auth: KubernetesAuth) -> str:
    if auth.jwt_source is not None:
        return auth.jwt_source().strip()
    assert auth.jwt_file is not None
    try:
        # Read at every login: projected ServiceAccount tokens are rotated on disk.
        return Path(auth.jwt_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise LoginFailed(
            f"cannot read the Kubernetes service account token {str(auth.jwt_file)!r}: "
            f"{exc.strerror or type(exc).__name__}"
        ) from exc


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


def _v2_missing(exc: hvac.exceptions.VaultError, location: SecretLocation) -> VaultError:
    # A deleted or destroyed version answers 404 with its metadata; a missing one without.
    body = exc.json if isinstance(exc.json, dict) else {}
    metadata = (body.get("data") or {}).get("metadata") or {}
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
