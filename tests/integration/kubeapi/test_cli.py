"""``python -m sandbox.kubeapi --port N``: the fixed entry point the demo and outside checks use.
It prints exactly one line once it listens, serves, writes a kubeconfig on request and exits
cleanly on SIGTERM (as a process manager stops an API server)."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.kubeapi.rawhttp import call

pytestmark = [pytest.mark.integration, pytest.mark.emulator_only]
ROOT = Path(__file__).resolve().parents[3]


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout), "no line printed in time"
    return process.stdout.readline().strip()


def test_entry_point(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.kubeapi", "--port", "0", "--kubeconfig", str(kubeconfig)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(process, timeout=20)
        assert line.startswith("kubeapi listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert call(f"{url}/version")[0] == 200
        assert yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"] == url
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0
        assert out == ""  # exactly one line in all
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
