"""The bounded YAML reader against a bare libyaml load, and how fast it refuses an alias bomb.

``sealer.reader.read_yaml`` (the one reader every entry point uses) composes with libyaml,
measures each document's expanded size, depth and aliases, then constructs it. The baseline,
measured in the same run, is ``yaml.load_all(..., Loader=yaml.CSafeLoader)`` on the same bytes:

* a stream of 1,000 manifests: no ``*`` where an alias could start, so each document is measured
  as a tree (target 1.3x);
* the same stream with one ``*"`` in a quoted string: the reader cannot tell it from an alias
  without parsing, so the whole stream takes the alias-checking path (target 1.5x);
* one 5 MB document, a CRD-like schema of about 130,000 nodes (target 1.3x).

The alias bomb (nine nested ``kind: List`` levels of nine aliases, ~820 bytes standing for 9**9
nodes) is timed until refused, with ``read_yaml`` and with ``load_documents``, the manifest
loader the CLI, renderer and controller call (target 50 ms).
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable

import yaml

from sealer.manifests import load_documents
from sealer.reader import InputBoundError, read_yaml
from tests.bench.report import Row, interleaved, ratio_row

BENCH = "reader"
MANIFESTS = 1000
TREE_LIMIT = 1.3
ALIAS_PATH_LIMIT = 1.5
BIG_LIMIT = 1.3
BOMB_LIMIT_MS = 50.0

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def stream(*, star: bool = False) -> bytes:
    docs = []
    for n in range(MANIFESTS):
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap" if n % 2 else "Secret",
                "metadata": {
                    "name": f"m{n}",
                    "namespace": "bench",
                    "labels": {"app": "bench", "tier": f"t{n % 7}"},
                    "annotations": {"sealops.dev/owner": "team-a"},
                },
                ("data" if n % 2 else "stringData"): {f"k{i}": f"value-{n}-{i}" for i in range(5)},
            }
        )
    text = yaml.safe_dump_all(docs, sort_keys=False)
    if star:
        # In a double-quoted scalar: no alias, but ` *"` is where one could start.
        text = text.replace("team-a", 'team-a "see *"', 1)
    return text.encode()


def big_document() -> bytes:
    """One ~5 MB document: a CRD-like schema of 1,600 documented fields (~130,000 nodes)."""
    prose = "A sentence of documentation text, as a generated CRD schema has. " * 33
    properties = {
        f"field{n}": {
            "type": "object",
            "description": f"Field {n} of the resource. {prose}",
            "properties": {
                f"sub{i}": {"type": "string", "enum": [f"a{i}", f"b{i}", f"c{i}"]} for i in range(8)
            },
        }
        for n in range(1600)
    }
    doc = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "bigs.bench.sealops.dev"},
        "spec": {"schema": {"openAPIV3Schema": {"type": "object", "properties": properties}}},
    }
    return yaml.safe_dump(doc, sort_keys=False, width=120).encode()


def alias_bomb(levels: int = 9, width: int = 9) -> bytes:
    lines = [
        "apiVersion: v1",
        "kind: List",
        "items:",
        "- &l0 {apiVersion: v1, kind: ConfigMap, metadata: {name: laugh}}",
    ]
    for k in range(1, levels + 1):
        refs = ",".join(f"*l{k - 1}" for _ in range(width))
        lines.append(f"- &l{k} {{apiVersion: v1, kind: List, items: [{refs}]}}")
    return ("\n".join(lines) + "\n").encode()


def _ratio(
    metric: str, data: bytes, *, limit: float, calls: int, rounds: int = 7, note: str
) -> Row:
    expected = list(yaml.load_all(data, Loader=LOADER))
    assert read_yaml(data, source="bench.yaml") == expected

    bounded_s, bare_s = interleaved(
        lambda: read_yaml(data, source="bench.yaml"),
        lambda: list(yaml.load_all(data, Loader=LOADER)),
        calls=calls,
        rounds=rounds,
    )
    return ratio_row(
        BENCH,
        f"{metric}: read_yaml / CSafeLoader",
        bounded_s / bare_s,
        limit=limit,
        detail=f"{bounded_s * 1000:.0f} ms vs {bare_s * 1000:.0f} ms; {note}",
    )


def _noise(data: bytes) -> Row:
    def bare() -> object:
        return list(yaml.load_all(data, Loader=LOADER))

    first, second = interleaved(bare, bare, calls=2, rounds=9)
    return Row(
        BENCH,
        "noise: CSafeLoader / itself",
        first / second,
        "x",
        detail="same load twice; how far from 1.0 the ratios above can drift by noise alone",
    )


def _refusal(name: str, load: Callable[..., object], bomb: bytes) -> Row:
    def once() -> float:
        start = time.perf_counter()
        try:
            load(bomb, source="bomb.yaml")
        except InputBoundError:
            return time.perf_counter() - start
        raise AssertionError("the alias bomb was read")

    times = [once() for _ in range(9)]
    tracemalloc.start()
    try:
        once()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stop_ms = statistics.median(times) * 1000
    return Row(
        BENCH,
        f"alias bomb ({len(bomb)} bytes): time to refusal, {name}",
        stop_ms,
        "ms",
        f"<= {BOMB_LIMIT_MS:g}",
        stop_ms <= BOMB_LIMIT_MS,
        detail=f"median of {len(times)}, max {max(times) * 1000:.1f} ms; "
        f"peak {peak / 1024:.0f} KiB (tracemalloc)",
    )


def run() -> list[Row]:
    plain, starred, big = stream(), stream(star=True), big_document()
    assert b' *"' in starred and b"*" not in plain
    bomb = alias_bomb()
    return [
        _ratio(
            f"{MANIFESTS:,} manifests",
            plain,
            limit=TREE_LIMIT,
            calls=2,
            rounds=9,
            note=f"{len(plain) / 1024:.0f} KiB, no '*': measured as trees",
        ),
        _ratio(
            f"{MANIFESTS:,} manifests with one '*\"'",
            starred,
            limit=ALIAS_PATH_LIMIT,
            calls=2,
            rounds=9,
            note="alias-checking path for every document",
        ),
        _ratio(
            f"one {len(big) / 1024**2:.1f} MB document",
            big,
            limit=BIG_LIMIT,
            calls=1,
            rounds=5,
            note="no '*': measured as a tree",
        ),
        _noise(plain),
        _refusal("read_yaml", read_yaml, bomb),
        _refusal("load_documents", load_documents, bomb),
    ]
