"""How many SealedSecrets each key serves, for ``GET /v1/keys``, and the cache of that count.

:func:`count_key_usage` counts what opened each SealedSecret (its status), else what sealed it
(the hint, fingerprint-shaped entries only: the hint is the tenant's text). :class:`UsageCache`
answers from one cluster-wide LIST per ``ttl``, however many ask.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from sealer.api import ANN_SEALED_WITH
from sealer.manifests import parse_sealed_with

__all__ = ["UsageCache", "count_key_usage"]

#: Seconds between two LISTs for /v1/keys at the least, however often SealedSecrets change.
_USAGE_FLOOR = 1.0
#: Seconds after a reconcile within which its status may not be written yet.
_SETTLE = 2.0

#: A key's fingerprint (``sealer.keys.fingerprint``): a hint is the tenant's text, and only what
#: has this shape is listed.
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def count_key_usage(sealed_secrets: list[dict[str, Any]]) -> Counter[str]:
    """SealedSecrets per key: what opened them (status), else what sealed them (the hint)."""
    usage: Counter[str] = Counter()
    for body in sealed_secrets:
        fps = set((body.get("status") or {}).get("sealedWith") or [])
        if not fps:
            annotations = (body.get("metadata") or {}).get("annotations") or {}
            keys = ((body.get("spec") or {}).get("encryptedData") or {}).keys()
            for listed in parse_sealed_with(annotations.get(ANN_SEALED_WITH), keys).values():
                fps.update(fp for fp in listed if _FINGERPRINT.fullmatch(fp))
        usage.update(fps)
    return usage


class UsageCache:
    """SealedSecrets per key, from ``fetch`` (a cluster-wide LIST) at most once per ``ttl``.

    Sooner after a reconcile (:meth:`changed`): a LIST made less than ``_SETTLE`` seconds after
    one may miss its status, which kopf writes after the handler returns, so it is not kept; but
    there is never more than one LIST per ``_USAGE_FLOOR`` seconds. One caller lists while the
    others wait for its answer: a burst of requests costs one LIST.
    """

    def __init__(
        self, fetch: Callable[[], Counter[str]], *, ttl: float, clock: Callable[[], float]
    ) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self.clock = clock
        self._usage: tuple[float, Counter[str]] | None = None
        self._changed_at = float("-inf")
        self._lock = threading.Lock()

    def changed(self) -> None:
        """A SealedSecret was reconciled: list again until its status has settled."""
        self._changed_at = self.clock()

    def get(self) -> Counter[str]:
        """The counts, listed afresh if the last LIST is too old (or may predate a status)."""
        with self._lock:
            now = self.clock()
            if self._usage is not None:
                taken, usage = self._usage
                settled = taken >= self._changed_at + _SETTLE
                if now - taken < _USAGE_FLOOR or (settled and now - taken < self.ttl):
                    return Counter(usage)
            usage = self._fetch()
            self._usage = (self.clock(), usage)
            return Counter(usage)
