"""One request to Vault: count it, pick this thread's hvac client, send it, translate its errors.

:class:`Transport` runs over :mod:`sealer.vault.http_session`'s bounded session and translates
hvac and requests exceptions, once, into :mod:`sealer.vault.errors` with ``raise … from``; a call
site may choose its own error for a status (a :data:`Reject`). Text Vault sends back is scrubbed
of every credential we hold before it is quoted.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import hvac
import hvac.exceptions
import requests
from hvac.exceptions import VaultError as HvacError

from sealer.vault.config import VaultConfig
from sealer.vault.counter import RequestCounter, RequestKind
from sealer.vault.errors import Forbidden, InvalidReference, NotFound, VaultError, VaultUnavailable
from sealer.vault.http_session import MAX_ANSWER_BYTES, AnswerTooLarge, bounded_session

__all__ = ["Reject", "Transport", "int_or_none"]

_MAX_QUOTED = 200

#: Turns a status error Vault answered into the error a call site means, or None for the default.
Reject = Callable[[HvacError, str], VaultError | None]


class Transport:
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
        address = self._config.shown
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


def int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
        return int(value)
    return None
