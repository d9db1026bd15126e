"""The write record: every create, update, patch and delete, by who sent it.

Each request with a writing verb (``create``, ``update``, ``patch``, ``delete``,
``deletecollection``) is recorded as it arrives, before faults or validation, so an attempt
that fails counts too: the question a test asks is "did this replica try to write", not "did it
succeed". A record names the sender by its ``User-Agent`` header and its ``fieldManager`` query
parameter, and the object by resource (``plural`` or ``plural/subresource``), namespace and name
(empty for a create, whose name is in the body: :attr:`Write.name` is then the body's
``metadata.name`` or ``generateName``). Tests read it from the fixture (``kubeapi.writes``);
another process reads it over HTTP (``GET /_emulator/writes``, ``?since=N`` for the records
from the N-th on; ``DELETE`` clears it). Thread-safe: the server's loop appends while the test
thread reads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class Write:
    seq: int  # 0, 1, 2 ... in arrival order, across clears
    at: float  # time.time() on arrival
    verb: str
    resource: str  # plural, or plural/subresource
    namespace: str  # "" for cluster-scoped objects
    name: str
    user_agent: str  # "" when the request sent none
    field_manager: str  # "" when the request sent none
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Writes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Write] = []
        self._next = 0

    def record(
        self,
        verb: str,
        resource: str,
        namespace: str,
        name: str,
        *,
        user_agent: str,
        field_manager: str,
        dry_run: bool = False,
    ) -> None:
        with self._lock:
            self._records.append(
                Write(self._next, time.time(), verb, resource, namespace, name, user_agent,
                      field_manager, dry_run)
            )  # fmt: skip
            self._next += 1

    def since(self, seq: int = 0) -> list[Write]:
        """The records numbered ``seq`` and later, oldest first."""
        with self._lock:
            return [w for w in self._records if w.seq >= seq]

    @property
    def next_seq(self) -> int:
        """The number the next write will get (a mark for :meth:`since`)."""
        with self._lock:
            return self._next

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def create_name(body: Any) -> str:
    """The name a create's body asks for (``generateName`` when it has none)."""
    meta = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        return ""
    return str(meta.get("name") or meta.get("generateName") or "")
