"""Record Go's output for every case of the Go-template corpus: ``python -m tests.gotemplate_record``.

Renders each case of ``tests/data/gotemplate/corpus.yaml`` through Helm's Go engine
(:mod:`tests.gotemplate_oracle`) and writes ``go-output.yaml`` beside it: per case, Go's output
as text, or ``error: true``. Run it after adding a case; never edit its output by hand.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from tests.gotemplate_oracle import CORPUS, helm_oracle, unavailable

OUTPUT = CORPUS.with_name("go-output.yaml")
HEADER = (
    "# Go's output for each case of corpus.yaml, recorded through Helm's Go engine by\n"
    "# `python -m tests.gotemplate_record` (helm-python-sdk). Do not edit by hand.\n"
)


def load_corpus() -> list[dict[str, Any]]:
    document = yaml.safe_load(CORPUS.read_text())
    cases: list[dict[str, Any]] = document["cases"]
    for case in cases:
        case.setdefault("data", document["data"])
    return cases


def main() -> int:
    if reason := unavailable():
        print(reason, file=sys.stderr)
        return 1
    recorded: dict[str, dict[str, Any]] = {}
    with helm_oracle() as oracle:
        for case in load_corpus():
            out = oracle.render(case["template"], case["data"])
            recorded[case["name"]] = {"error": True} if out is None else {"output": out.decode()}
    OUTPUT.write_text(HEADER + yaml.safe_dump(recorded, allow_unicode=True, width=1000))
    print(f"recorded {len(recorded)} cases into {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
