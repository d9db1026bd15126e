"""What a benchmark returns: rows of one table that ``make bench`` prints.

Every ``tests/bench/bench_*.py`` module defines ``run() -> list[Row]``. Figures that have a
target are ratios against a baseline measured in the same run (these machines are noisy), so a
row says the ratio, the target and whether it was met; absolute figures go in ``detail``.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    bench: str
    metric: str
    value: float
    unit: str = ""
    target: str = ""  # e.g. "<= 1.3"; empty when the figure is reported, not judged
    met: bool | None = None
    detail: str = ""


def ratio_row(
    bench: str,
    metric: str,
    ratio: float,
    *,
    limit: float,
    detail: str = "",
    higher_is_better: bool = False,
) -> Row:
    """A ratio with an upper (or lower) bound as target."""
    met = ratio >= limit if higher_is_better else ratio <= limit
    op = ">=" if higher_is_better else "<="
    return Row(bench, metric, ratio, "x", f"{op} {limit:g}", met, detail)


def best_per_call(fn: Callable[[], object], *, calls: int, repeats: int = 5) -> float:
    """Seconds per call: the median over ``repeats`` of timed loops of ``calls`` calls."""
    gc.collect()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def interleaved(
    subject: Callable[[], object], baseline: Callable[[], object], *, calls: int, rounds: int = 7
) -> tuple[float, float]:
    """Per-call seconds of subject and baseline, measured in alternating rounds.

    Alternating keeps both exposed to the same machine noise, so their ratio is stable even when
    the absolute numbers are not. Returns the medians over rounds.
    """
    subj, base = [], []
    gc.collect()
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            baseline()
        base.append((time.perf_counter() - start) / calls)
        start = time.perf_counter()
        for _ in range(calls):
            subject()
        subj.append((time.perf_counter() - start) / calls)
    return statistics.median(subj), statistics.median(base)


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.3g}"


def format_table(rows: list[Row]) -> str:
    headers = ("bench", "metric", "value", "target", "ok", "detail")
    lines = [
        (
            r.bench,
            r.metric,
            f"{_number(r.value)} {r.unit}".strip(),
            r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
            r.detail,
        )
        for r in rows
    ]
    widths = [max([len(h), *(len(line[i]) for line in lines)]) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)
