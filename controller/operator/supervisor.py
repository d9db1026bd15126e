"""Run kopf again, in the same process, when it stops on an error rather than on a signal.

kopf ends its whole operator when one of its watch streams fails in a way it does not retry: an
HTTP 410 (or any other 4xx or 5xx) answer to a watch request, or an ERROR event other than
410 ``Expired`` in the stream (kopf/_cogs/clients/watching.py). A controller that then exits
waits for the kubelet's restart back-off, and loses in the restart what it holds in memory.
:func:`supervise` instead starts kopf again at once, here: kopf lists every kind afresh and
resumes its watches from the new list's resourceVersion, so nothing that changed meanwhile is
missed, and every object it re-lists costs no private-key operation and no write when its
Secret's source fingerprint still matches (:mod:`controller.sourcehash`).

kopf stopping with no error (SIGTERM, SIGINT: it installs its own handlers for the time it runs)
ends the process as before. So does a run of quick failures (``give_up_after`` in a row, each
shorter than ``healthy_after`` seconds): then something is wrong that a restart of kopf does not
mend (RBAC, a missing CRD), and the process exits non-zero so the pod's restarts show it. The
log line names the exception's class and, for an API error, its HTTP status, never its text: the
text of an API error quotes the server's answer, which is not ours to print.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable

__all__ = ["KopfFailed", "supervise"]

log = logging.getLogger(__name__)


class KopfFailed(Exception):
    """kopf failed ``give_up_after`` times in a row, each soon after it started."""


def describe(exc: BaseException) -> str:
    """The class of a failure and, for an API error, its HTTP status: never its message."""
    status = getattr(exc, "status", None)
    return type(exc).__name__ + (f" (HTTP {status})" if isinstance(status, int) else "")


async def supervise(
    run_once: Callable[[], Awaitable[None]],
    *,
    backoff: float = 1.0,
    max_backoff: float = 30.0,
    healthy_after: float = 60.0,
    give_up_after: int = 5,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Await ``run_once()`` until it returns (a signal stopped it); again after each failure.

    Returns how many times it was started again. Raises :class:`KopfFailed` after
    ``give_up_after`` failures in a row that each came within ``healthy_after`` seconds of
    their start (a longer run resets the count and the back-off).
    """
    restarts = quick = 0
    delay = backoff
    while True:
        started = clock()
        try:
            await run_once()
            return restarts
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure of kopf is restarted or counted
            if clock() - started >= healthy_after:
                quick, delay = 0, backoff
            quick += 1
            if quick >= give_up_after:
                raise KopfFailed(
                    f"kopf stopped {quick} times in a row within {healthy_after:g}s of starting"
                    f" (last: {describe(exc)})"
                ) from None
            log.warning(
                "kopf stopped on %s; starting its watches again in-process in %gs",
                describe(exc),
                delay,
            )
        if await _stopped_within(delay):
            return restarts
        restarts += 1
        delay = min(max_backoff, delay * 2)


async def _stopped_within(seconds: float) -> bool:
    """Sleep ``seconds``; True if SIGTERM or SIGINT came meanwhile (kopf's handlers are gone)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread: the caller's own stop applies
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    else:
        return True
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
