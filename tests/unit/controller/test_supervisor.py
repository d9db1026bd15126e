"""controller.operator.supervisor: kopf started again after a failure, never after a stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from controller.operator.supervisor import KopfFailed, describe, supervise


class ApiError(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status


class Runs:
    """A kopf stand-in: fails with each of ``failures`` in turn, then returns (a signal)."""

    def __init__(self, *failures: Exception, clock: list[float], seconds: float = 0.0):
        self.failures = list(failures)
        self.clock = clock
        self.seconds = seconds  # how long each run lasts
        self.starts = 0

    async def __call__(self) -> None:
        self.starts += 1
        self.clock[0] += self.seconds
        if self.failures:
            raise self.failures.pop(0)


def _run(runs: Runs, clock: list[float], *, give_up_after: int = 5) -> int:
    return asyncio.run(
        supervise(
            runs,
            backoff=0.001,
            max_backoff=0.002,
            clock=lambda: clock[0],
            give_up_after=give_up_after,
        )
    )


def test_a_stop_ends_it_at_once() -> None:
    clock = [0.0]
    runs = Runs(clock=clock)
    assert _run(runs, clock) == 0 and runs.starts == 1


def test_failures_start_kopf_again_and_the_log_holds_no_server_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    secret = "s3cr3t-value-in-an-answer"
    runs = Runs(ApiError(410, secret), RuntimeError(secret), clock=clock)
    with caplog.at_level(logging.WARNING):
        assert _run(runs, clock) == 2
    assert runs.starts == 3
    assert "ApiError (HTTP 410)" in caplog.text and "RuntimeError" in caplog.text
    assert secret not in caplog.text


def test_quick_failures_in_a_row_give_up_with_a_one_line_reason() -> None:
    clock = [0.0]
    runs = Runs(*(ApiError(403, "forbidden: secret") for _ in range(5)), clock=clock)
    with pytest.raises(KopfFailed) as info:
        _run(runs, clock, give_up_after=3)
    assert runs.starts == 3
    assert str(info.value) == (
        "kopf stopped 3 times in a row within 60s of starting (last: ApiError (HTTP 403))"
    )


def test_a_healthy_run_resets_the_count() -> None:
    clock = [0.0]
    # Every failure comes after a healthy minute: six in a row never give up, even at 2.
    runs = Runs(*(ApiError(410, "gone") for _ in range(6)), clock=clock, seconds=61.0)
    assert _run(runs, clock, give_up_after=2) == 6


def test_describe_names_class_and_status_only() -> None:
    assert describe(ApiError(500, "text")) == "ApiError (HTTP 500)"
    assert describe(ValueError("text")) == "ValueError"
