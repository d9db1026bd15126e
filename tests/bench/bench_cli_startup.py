"""Cold start of offline ``seal`` commands, as a ratio to ``python -c pass`` in the same run.

Each sample is a fresh interpreter (what a user or a pre-commit hook pays). The offline commands
import neither kubernetes nor hvac nor kopf, which is most of what keeps this ratio low;
``--version`` and ``--help`` load neither click nor any command (:mod:`sealer.cli.overview`).
Targets: ``--version`` and ``--help`` at most 2x, an offline ``seal create --cert`` at most 3x.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.report import Row, ratio_row

DATA = Path(__file__).parents[1] / "data"
SECRET = b"apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {k: v}\n"
ROUNDS = 15
TARGETS = {"seal --version": 2.0, "seal --help": 2.0, "seal create --cert (offline)": 3.0}


def _wall(argv: list[str], stdin: bytes = b"") -> float:
    start = time.perf_counter()
    subprocess.run(argv, input=stdin, capture_output=True, check=True)
    return time.perf_counter() - start


def run() -> list[Row]:
    python = sys.executable
    cert = str(DATA / "cert-4096.pem")
    cases = {
        "seal --version": ([python, "-m", "sealer", "--version"], b""),
        "seal --help": ([python, "-m", "sealer", "--help"], b""),
        "seal create --cert (offline)": (
            [
                python,
                "-m",
                "sealer",
                "create",
                "a",
                "-n",
                "b",
                "--from-literal",
                "k=v",
                "--cert",
                cert,
            ],
            b"",
        ),
        "seal --cert (one Secret)": (
            [python, "-m", "sealer", "--cert", cert],
            SECRET,
        ),
        "seal check (one file)": (
            [python, "-m", "sealer", "check", str(DATA / "cert-4096.pem")],
            b"",
        ),
    }
    baseline: list[float] = []
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):  # interleaved, so both see the same machine noise
        baseline.append(_wall([python, "-c", "pass"]))
        for name, (argv, stdin) in cases.items():
            samples[name].append(_wall(argv, stdin))
    base = statistics.median(baseline)
    rows = [Row("cli-startup", "python -c pass", base * 1000, "ms", detail="baseline, median")]
    for name, values in samples.items():
        median = statistics.median(values)
        metric, detail = f"{name} / python -c pass", f"{median * 1000:.0f} ms median of {ROUNDS}"
        limit = TARGETS.get(name)
        if limit is None:
            rows.append(Row("cli-startup", metric, median / base, "x", detail=detail))
        else:
            rows.append(ratio_row("cli-startup", metric, median / base, limit=limit, detail=detail))
    return rows
