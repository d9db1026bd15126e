"""The HTTP session under hvac: bounded answers, a deadline for the whole exchange, no ambient auth.

The address of a VaultConnection may be a tenant's, so a server there must not choose the
controller's memory or hold its threads. :func:`bounded_session` gives a ``requests.Session``
whose adapters read each answer themselves: at most :data:`MAX_ANSWER_BYTES`, uncompressed, and
the whole exchange (connect, status line, headers, body) within the config's timeout, enforced by
:class:`_Watchdog` (requests' own timeout is per read). It trusts the config's CA (a file, or PEM
text from a Secret) and adds no ``.netrc`` credentials. Used by :mod:`sealer.vault.hvac_backend`
only; it knows nothing of hvac.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from typing import Any

import requests
import urllib3
import urllib3.connection
from requests.adapters import HTTPAdapter

from sealer.vault.config import VaultConfig

__all__ = ["MAX_ANSWER_BYTES", "AnswerTooLarge", "bounded_session"]

# Enough pooled connections for the controller's handler threads and the renderer's readers.
_POOL_SIZE = 32
#: The most read of one answer (a KV secret fits in a Secret's 1 MiB; logins and lookups are
#: small): the address may be a tenant's, and a server there may send any amount.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
_READ = 64 * 1024


class AnswerTooLarge(requests.RequestException):
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
                    raise AnswerTooLarge("answer too large")
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


def bounded_session(config: VaultConfig) -> requests.Session:
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
