"""One Vault read per distinct secret location per window, however many callers want it.

:class:`ReadCache` sits in front of any :class:`~sealer.vault.resolver.Resolver`. The renderer
wraps its resolver for one run (``max_age=math.inf``), so 40 placeholders on one path cost one
read; the controller wraps each connection's resolver with its refresh window, so 500
VaultSecrets over 100 paths cost 100 reads per window. Callers arriving while a read is in
flight wait for it instead of sending their own ("single flight"); its failure is handed to all
of them, then forgotten, so the next caller tries again. Thread-safe; no I/O of its own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sealer.errors import SealopsError
from sealer.vault.errors import VaultError
from sealer.vault.refs import SecretLocation
from sealer.vault.resolver import Resolver, SecretData
from sealer.vault.session import Clock

__all__ = ["ReadCache"]


@dataclass
class _Entry:
    done: threading.Event = field(default_factory=threading.Event)
    data: SecretData | None = None
    error: SealopsError | None = None
    read_at: float = 0.0


class ReadCache:
    """A caching, deduplicating :class:`Resolver` over another one."""

    def __init__(
        self, resolver: Resolver, *, max_age: float, clock: Clock = time.monotonic
    ) -> None:
        self._resolver = resolver
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[SecretLocation, _Entry] = {}

    def read(self, location: SecretLocation) -> SecretData:
        with self._lock:
            entry = self._entries.get(location)
            fresh = entry is not None and (
                not entry.done.is_set() or self._clock() - entry.read_at < self._max_age
            )
            owner = not fresh
            if owner:
                entry = self._entries[location] = _Entry()
        assert entry is not None
        if owner:
            self._fetch(location, entry)
        else:
            entry.done.wait()
        if entry.error is not None:
            raise entry.error
        assert entry.data is not None
        return entry.data

    def forget(self, location: SecretLocation | None = None) -> None:
        """Drop one location, or everything: the next read goes to Vault."""
        with self._lock:
            if location is None:
                self._entries.clear()
            else:
                self._entries.pop(location, None)
        if location is not None:
            self._resolver.forget(location)

    def close(self) -> None:
        """Close the resolver behind the cache, and keep nothing."""
        with self._lock:
            self._entries.clear()
        self._resolver.close()

    def _fetch(self, location: SecretLocation, entry: _Entry) -> None:
        try:
            entry.data = self._resolver.read(location)
        except BaseException as exc:
            # Waiters get the same error, a JWT source's own (a SealopsError that says whether to
            # retry) included; a bug's exception reaches only the owner, as is.
            entry.error = (
                exc
                if isinstance(exc, SealopsError)
                else VaultError(f"reading Vault secret {str(location)!r} failed unexpectedly")
            )
            with self._lock:
                # Failures are not cached: whoever asks next sends a new request.
                if self._entries.get(location) is entry:
                    del self._entries[location]
            if not isinstance(exc, SealopsError):
                raise
        finally:
            entry.read_at = self._clock()
            entry.done.set()
