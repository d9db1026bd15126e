"""The long fuzzing run: 100,000 mutated inputs per parser, no exception but ours, no hang.

``SEALOPS_FUZZ_INPUTS`` lowers the count for a quick look. A crash is reported with the
input's length and the error (the input itself is printed to stderr, for reproduction).
"""

from __future__ import annotations

import os
import sys

from tests.bench.report import Row
from tests.fuzzing import fuzz, seeds

INPUTS = int(os.environ.get("SEALOPS_FUZZ_INPUTS", "100000"))


def run() -> list[Row]:
    rows = []
    for name, (target, samples) in seeds().items():
        report = fuzz(name, target, samples, inputs=INPUTS, seed=1)
        for data, error in report.crashes[:3]:
            print(f"fuzz {name}: {error}; input={data!r}", file=sys.stderr)
        rows.append(
            Row(
                "fuzz",
                f"{name}: inputs without a foreign exception or hang",
                report.inputs - len(report.crashes),
                target=f">= {INPUTS}",
                met=not report.crashes and report.inputs >= INPUTS,
                detail=f"{report.inputs} inputs in {report.seconds:.0f}s, {report.our_errors} refused "
                f"with our errors, slowest {report.slowest * 1000:.0f} ms",
            )
        )
    return rows
