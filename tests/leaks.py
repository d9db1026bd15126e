"""The whole-run leak scan: every plaintext of the run against every output of the run.

The per-test scans (the ``plaintexts`` fixtures of the controller and VaultSecret tests, the
render tests' checks) search one test's outputs for that test's values. This pytest plugin adds a
session-wide ledger, :class:`Ledger`: tests (through those fixtures) register the plaintexts they
used and the haystacks they saw (controller logs, Events, statuses, rendered streams). When the
session ends, ``pytest_sessionfinish`` searches ALL plaintexts (raw and base64) in ALL haystacks,
so a value of test A showing up in test B's controller log is caught too, and fails the run.

Haystacks are written to files under the session's temporary directory (a soak test's logs can be
large), not kept in memory. Values shorter than :data:`MIN_LENGTH` are not searched for (they hit
by chance). Registered from ``tests/conftest.py`` (``pytest_plugins``); the fixture is
``leak_ledger``.

Tests that *plant* values on purpose, where an error message could quote them (template errors:
``tests/unit/test_template_errors.py``, ``tests/integration/security/test_template_leaks.py``),
use :meth:`Ledger.planted`: the planted values join the run-wide search, the messages are kept as
haystacks, and the test also gets the local hits at once. ``tests/unit/test_leaks.py`` proves a planted leak is found and fails a run.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["MIN_LENGTH", "Leak", "Ledger", "leak_ledger"]

MIN_LENGTH = 6
_LEDGER = pytest.StashKey["Ledger"]()


@dataclass(frozen=True)
class Leak:
    value_from: str  # the test that registered the value
    found_in: str  # the haystack's label (test and kind)
    form: str  # "raw" or "base64"
    preview: str  # the first characters only: the report itself must not leak

    def __str__(self) -> str:
        return f"{self.form} value {self.preview}… of {self.value_from} found in {self.found_in}"


@dataclass
class Ledger:
    """Plaintexts and haystacks accumulated over a run."""

    directory: Path
    values: dict[bytes, str] = field(default_factory=dict)  # value -> first test that used it
    haystacks: list[tuple[str, Path]] = field(default_factory=list)

    def plaintexts(self, origin: str, values: Iterable[bytes | str]) -> None:
        for value in values:
            raw = value.encode() if isinstance(value, str) else bytes(value)
            if len(raw) >= MIN_LENGTH:
                self.values.setdefault(raw, origin)

    def haystack(self, where: str, text: str | bytes) -> None:
        path = self.directory / f"{len(self.haystacks):06d}.txt"
        path.write_bytes(text.encode("utf-8", "replace") if isinstance(text, str) else text)
        self.haystacks.append((where, path))

    def planted(
        self, origin: str, values: Iterable[bytes | str], outputs: dict[str, str]
    ) -> list[str]:
        """Register planted ``values`` and the ``outputs`` they must not reach (label -> text).

        Returns the labels of the outputs holding one of the values (raw or base64), so a test
        can fail at once; the session-end scan searches them again, with every other value.
        """
        raws = [v.encode() if isinstance(v, str) else bytes(v) for v in values]
        self.plaintexts(origin, raws)
        for label, text in outputs.items():
            self.haystack(f"{origin}: {label}", text)
        needles = [
            n for raw in raws if len(raw) >= MIN_LENGTH for n in (raw, base64.b64encode(raw))
        ]
        return [
            label
            for label, text in outputs.items()
            if any(needle in text.encode("utf-8", "replace") for needle in needles)
        ]

    def size(self) -> int:
        return sum(path.stat().st_size for _, path in self.haystacks)

    def scan(self) -> list[Leak]:
        """Every (value, haystack) hit, raw or base64-encoded."""
        needles: dict[bytes, tuple[str, str, bytes]] = {}
        for value, origin in self.values.items():
            needles.setdefault(value, (origin, "raw", value))
            needles.setdefault(base64.b64encode(value), (origin, "base64", value))
        # A plain search per needle (C speed, GB/s); one regex alternation of thousands of
        # literals is far slower in Python's engine (measured: 17 s against 1.8 s on 6 MB).
        found: list[Leak] = []
        for where, path in self.haystacks:
            text = path.read_bytes()
            for needle, (origin, form, value) in needles.items():
                if needle in text:
                    preview = value[:3].decode("utf-8", "replace")
                    found.append(Leak(origin, where, form, preview))
        return found


@pytest.fixture(scope="session")
def leak_ledger(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    """The run's ledger: ``.plaintexts(test_id, values)``, ``.haystack(label, text)``."""
    stash = request.config.stash
    if _LEDGER not in stash:
        stash[_LEDGER] = Ledger(tmp_path_factory.mktemp("leak-ledger"))
    return stash[_LEDGER]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ledger = session.config.stash.get(_LEDGER, None)
    if ledger is None or not ledger.haystacks:
        return
    started = time.monotonic()
    leaks = ledger.scan()
    took = time.monotonic() - started
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = (
        f"whole-run leak scan: {len(ledger.values)} plaintexts x {len(ledger.haystacks)} "
        f"haystacks ({ledger.size() / 1e6:.1f} MB), {len(leaks)} hit(s), in {took:.1f} s"
    )
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(summary, red=bool(leaks), green=not leaks)
        for leak in leaks:
            reporter.write_line(f"LEAK: {leak}", red=True)
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
