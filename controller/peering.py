"""Whether this replica is the active one of its kopf peering, for work kopf does not pause.

kopf pauses its own watches and handlers while a live peer of higher or equal priority is in the
peering object (``process_peering_event`` in kopf/_core/engines/peering.py), but the
controller's background loops run outside kopf's handlers and would act in every replica. The
resync loop asks here first: it reads the same object and applies the same rule, as kopf writes
it: ``status: {identity: {priority, lifetime, lastseen}}``, a peer being dead once
``lastseen + lifetime`` has passed. Called by ``controller.operator``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Mapping
from typing import Any

from sealer.rfc3339 import parse_rfc3339

__all__ = ["is_active", "own_identity"]


def own_identity() -> str:
    """This replica's key in the peering: the pod's name (``POD_ID``, as kopf) or a unique id."""
    pod = os.environ.get("POD_ID")
    if pod:
        return pod
    return f"sealops@{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


def is_active(
    status: Mapping[str, Any] | None, *, identity: str, priority: int, now: dt.datetime
) -> bool:
    """True unless a live peer other than ``identity`` has a priority >= ``priority``."""
    for peer, info in (status or {}).items():
        if peer == identity or not isinstance(info, Mapping):
            continue
        if not _is_dead(info, now) and int(info.get("priority", 0)) >= priority:
            return False
    return True


def _is_dead(info: Mapping[str, Any], now: dt.datetime) -> bool:
    """Whether a peer's lifetime has passed; an unreadable entry counts as alive (so we pause)."""
    try:
        lastseen = parse_rfc3339(str(info["lastseen"]))  # kopf writes it without an offset
        lifetime = dt.timedelta(seconds=int(info.get("lifetime", 60)))
    except (KeyError, TypeError, ValueError):
        return False  # kopf counts a peer without ``lastseen`` as seen now
    return lastseen + lifetime <= now
