"""``python -m tests.bench [NAME ...]``: run every benchmark (or the named ones), print one table.

Exits non-zero if a benchmark crashes; a missed target is shown in the table (``ok = NO``) and
also makes the exit code non-zero, so ``make bench`` fails loudly.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

from tests import bench
from tests.bench.report import Row, format_table


def main(argv: list[str]) -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    rows: list[Row] = []
    crashed = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"tests.bench.{name}")
            rows.extend(module.run())
        except Exception:
            traceback.print_exc()
            crashed.append(name)
    print(format_table(rows))
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
    missed = [r for r in rows if r.met is False]
    return 1 if crashed or missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
