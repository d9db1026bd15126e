"""Stopping a child process the same way everywhere in the sandbox: SIGTERM, then SIGKILL."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop(process: subprocess.Popen[Any], *, grace: float = 15.0) -> None:
    """SIGTERM, wait up to ``grace`` seconds for a clean exit, then SIGKILL. Idempotent."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        kill(process)


def kill(process: subprocess.Popen[Any]) -> None:
    """SIGKILL (no clean shutdown), and reap it."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
