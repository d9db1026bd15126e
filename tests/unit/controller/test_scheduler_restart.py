"""The queue serves again after its loop was cancelled (kopf started again in-process)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from controller.scheduler import Scheduler


def test_entries_kept_and_run_after_serving_again() -> None:
    ran: list[str] = []
    done = threading.Event()

    def run(key: str) -> None:
        ran.append(key)
        if len(ran) == 2:
            done.set()

    scheduler = Scheduler(run, workers=2)

    async def serve_until(predicate: Callable[[], bool], seconds: float) -> None:
        task = asyncio.create_task(scheduler.serve())
        deadline = asyncio.get_running_loop().time() + seconds
        while not predicate() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def scenario() -> None:
        scheduler.schedule("SealedSecret/ns/first", 0)
        await serve_until(lambda: ran == ["SealedSecret/ns/first"], 5)
        # Stopped: kopf's cleanup cancelled the loop. An entry queued meanwhile is kept, and
        # the next serve (kopf's next startup) runs it on a new pool.
        scheduler.schedule("SealedSecret/ns/second", 0)
        await serve_until(done.is_set, 5)

    asyncio.run(scenario())
    assert ran == ["SealedSecret/ns/first", "SealedSecret/ns/second"]
