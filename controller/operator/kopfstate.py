"""The two places sealops extends kopf's own classes: its diff base and its credentials.

:class:`DigestDiffBase` keeps kopf's diff base as a digest of an object's essence, not a copy of
its spec; :class:`NamedConnection` puts our User-Agent (naming the replica) into the headers kopf
builds its session from. Only :mod:`controller.operator` uses them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kopf

__all__ = ["DigestDiffBase", "NamedConnection"]

_DIGEST = "sha256:"
#: What :meth:`DigestDiffBase.fetch` returns for a changed object: an essence no object has.
_CHANGED = "sealops-diffbase-changed"


def _digest(essence: Mapping[str, Any]) -> str:
    canonical = json.dumps(essence, sort_keys=True, separators=(",", ":"), default=str)
    return _DIGEST + hashlib.sha256(canonical.encode()).hexdigest()


class DigestDiffBase(kopf.StatusDiffBaseStorage):
    """kopf's diff base as a digest of the object's essence, not a copy of it.

    kopf compares the essence stored when it last handled an object with the current one: a
    difference is an update, none is a resume. Stored whole, that essence put all of
    ``spec.encryptedData`` into every object's status a second time. This stores its SHA-256
    (in the same field) instead: when the current essence hashes the same, :meth:`fetch` gives
    that essence back (no change); otherwise an essence no object has, which kopf sees as a
    change. No handler reads the diff's fields, only whether there is one, and none filters on a
    field (``extra_fields``, which this ignores, would then make every event a change). A whole
    essence that an earlier version stored is read as before; kopf replaces it with a digest when
    it next stores one, at the object's next change.
    """

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        super().store(body=body, patch=patch, essence=_digest(essence))  # type: ignore[arg-type]

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        stored: Any = super().fetch(body=body)
        if not isinstance(stored, str) or not stored.startswith(_DIGEST):
            return stored  # type: ignore[no-any-return]  # None (new), or an earlier whole essence
        current = self.build(body=body)
        if hmac.compare_digest(stored.encode(), _digest(current).encode()):  # any text, as bytes
            return current
        return {"spec": {_CHANGED: stored}}


@dataclass(frozen=True, kw_only=True)
class NamedConnection(kopf.ConnectionInfo):
    """kopf's credentials, and our User-Agent in the headers kopf builds its session from."""

    user_agent: str = ""

    def as_http_headers(self) -> dict[str, str]:
        return {**super().as_http_headers(), "User-Agent": self.user_agent}
