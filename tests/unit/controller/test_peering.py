"""``is_active`` judges a kopf peering object exactly as kopf's ``process_peering_event`` does."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from controller.engines.leader import KOPF_PEERING_LOGGER, Leader, is_active, own_identity
from sealer.api import CLUSTER_PEERINGS
from tests.unit.fakekube import FakeKube

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
ME, PRIORITY = "me@host/1", 100


def peer(priority: int, *, seen_ago: float = 1.0, lifetime: int = 60) -> dict[str, Any]:
    lastseen = (NOW - dt.timedelta(seconds=seen_ago)).isoformat()  # as kopf writes it
    return {"priority": priority, "lifetime": lifetime, "lastseen": lastseen}


CASES: list[tuple[str, dict[str, Any] | None, bool, str]] = [
    ("empty", None, True, "no status yet: nobody else is there"),
    ("alone", {ME: peer(PRIORITY)}, True, "our own entry never pauses us"),
    ("lower", {ME: peer(PRIORITY), "b": peer(50)}, True, "we outrank a live lower peer"),
    ("higher", {ME: peer(PRIORITY), "b": peer(200)}, False, "a live higher peer leads"),
    ("equal", {"b": peer(PRIORITY)}, False, "kopf pauses every peer of equal priority"),
    ("higher-dead", {"b": peer(200, seen_ago=61)}, True, "lastseen + lifetime has passed"),
    ("higher-at-deadline", {"b": peer(200, seen_ago=60)}, True, "dead at the deadline itself"),
    ("higher-left", {"b": peer(200, lifetime=0, seen_ago=0)}, True, "lifetime 0: left on SIGTERM"),
    ("no-lastseen", {"b": {"priority": 200}}, False, "kopf counts it as seen now"),
    ("bad-lastseen", {"b": {"priority": 200, "lastseen": "x"}}, False, "unreadable: alive"),
    ("junk-entry", {"b": "junk", "c": peer(50)}, True, "entries that are not peers are ignored"),
]


@pytest.mark.parametrize(
    ("status", "expected", "reason"),
    [pytest.param(status, expected, reason, id=name) for name, status, expected, reason in CASES],
)
def test_is_active(status: dict[str, Any] | None, expected: bool, reason: str) -> None:
    assert is_active(status, identity=ME, priority=PRIORITY, now=NOW) is expected, reason


def test_own_identity_is_the_pod_name_or_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_ID", "sealops-controller-abc")
    assert own_identity() == "sealops-controller-abc"
    monkeypatch.delenv("POD_ID")
    assert own_identity() != own_identity()


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


def test_a_kopf_peering_record_drops_the_kept_answer() -> None:
    """kopf pauses the moment it sees a higher peer and logs it then: the kept "active" must not
    outlive that, or a queued refresh would write beside the new active peer."""
    kube = FakeKube()
    now = dt.datetime.now(dt.UTC)
    kube.put(CLUSTER_PEERINGS, {"metadata": {"name": "ha"}, "status": {ME: peer(PRIORITY)}})
    leader = Leader(kube, peering="ha", identity=ME, priority=PRIORITY, clock=lambda: now, ttl=600)
    name = "tests.kopf-peering-follow"  # a logger of its own: the real one is process-wide
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)  # as with --log-level warning
    handler = Collect()
    logger.addHandler(handler)
    try:
        leader.follow_kopf(name)
        leader.follow_kopf(name)  # once per process, however often asked
        assert len(logger.filters) == 1 and logger.getEffectiveLevel() == logging.INFO
        assert leader.is_active(None)
        higher = {ME: {**peer(PRIORITY), "lastseen": now.isoformat()},
                  "b": {**peer(200), "lastseen": now.isoformat()}}  # fmt: skip
        kube.put(CLUSTER_PEERINGS, {"metadata": {"name": "ha"}, "status": higher})
        assert leader.is_active(None), "kept for ttl: the peering object is not read again"
        logger.info("Pausing operations in favour of [b].")
        assert not leader.is_active(None), "read afresh after kopf's record"
        assert handler.seen == ["Pausing operations in favour of [b]."], "the filter hides nothing"
    finally:
        for f in list(logger.filters):
            logger.removeFilter(f)
        logger.removeHandler(handler)


def test_kopfs_peering_logger_is_where_kopf_logs() -> None:
    """The name :meth:`Leader.follow_kopf` hooks is the one kopf's peering module logs on."""
    from kopf._core.engines import peering

    assert peering.logger.name == KOPF_PEERING_LOGGER
