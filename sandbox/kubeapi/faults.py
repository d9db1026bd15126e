"""Fault injection: make the next N matching requests fail, wait, or cut their watch stream.

A rule matches on verb (``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``,
``delete``, ``deletecollection`` or ``*``), resource (plural, or ``plural/subresource``), and
optionally name and namespace. Tests add rules from Python (the fixture's ``faults``), another
process adds them over HTTP (``POST /_emulator/faults`` with the same fields as JSON). Matching
costs O(active rules); spent rules are removed. The registry is shared between the test thread
and the server's event loop, hence the lock.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

# The Status reason the real server pairs with each code
# (https://github.com/kubernetes/apimachinery/blob/master/pkg/apis/meta/v1/types.go, StatusReason).
REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType",
    422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
    504: "Timeout",
}  # fmt: skip
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*")


@dataclass
class Fault:
    verb: str
    resource: str
    name: str | None = None
    namespace: str | None = None
    times: int = 1
    status: int | None = None  # answer with this code and a Status body ...
    reason: str = ""  # default: the reason the real server gives with that code
    message: str = "injected fault"
    delay: float = 0.0  # ... and/or wait this long first
    cut_after: int | None = None  # watch only: end the stream after this many events
    hits: int = field(default=0)

    def __post_init__(self) -> None:
        if self.verb not in VERBS:
            raise ValueError(f"unknown verb {self.verb!r}; one of {VERBS}")
        if self.status is None and not self.delay and self.cut_after is None:
            raise ValueError("a fault needs status, delay or cut_after")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.status is not None and not self.reason:
            self.reason = REASONS.get(self.status, "InternalError")

    def matches(self, verb: str, resource: str, name: str, namespace: str) -> bool:
        return (
            self.verb in ("*", verb)
            and self.resource in ("*", resource)
            and self.name in (None, name)
            and self.namespace in (None, namespace)
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(self, verb: str, resource: str, **options: Any) -> Fault:
        """Add a rule; see :class:`Fault` for the options (``status``, ``delay``, ``times`` ...)."""
        rule = Fault(verb, resource, **options)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def take(self, verb: str, resource: str, name: str, namespace: str) -> Fault | None:
        """The first rule that matches this request, counted as used."""
        if not self._rules:  # the common case, without taking the lock
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(verb, resource, name, namespace):
                    rule.hits += 1
                    if rule.hits >= rule.times:
                        self._rules.remove(rule)
                    return rule
        return None
