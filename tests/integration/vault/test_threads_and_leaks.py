"""Many threads on one resolver, and the leak guard itself: it must see logs and catch leaks."""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from sealer.vault import NotFound, ReadCache, parse_ref, resolve_value
from sealer.vault.hvac_backend import HvacResolver
from tests.integration.vault.conftest import PLAINTEXT, Bao, LeakGuard

pytestmark = pytest.mark.integration

Make = Callable[..., HvacResolver]

REFS = {
    "secret/app/db#password": f"{PLAINTEXT}-pw-3",
    "secret/app/db#password#1": f"{PLAINTEXT}-pw-1",
    "kv1/app/db#password": f"{PLAINTEXT}-v1-pw",
    "team/kv/deep/a/b/c#k": f"{PLAINTEXT}-nested",
}


def test_threads_share_one_login_and_one_lookup_per_mount(openbao: Bao, resolvers: Make) -> None:
    resolver = resolvers(openbao.config(openbao.seeded.reader))
    jobs = [ref for ref in REFS for _ in range(25)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(lambda ref: resolve_value(resolver, parse_ref(ref)), jobs))
    assert got == [REFS[ref] for ref in jobs]
    counts = resolver.counter.snapshot()
    assert counts == {"read": 100, "login": 1, "mount": 3, "renew": 0, "lookup": 0, "revoke": 0}


def test_logs_are_captured_and_hold_no_secret(
    openbao: Bao, resolvers: Make, leak_guard: LeakGuard, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = resolvers(openbao.config(openbao.seeded.reader))
    for ref in REFS:
        resolve_value(resolver, parse_ref(ref))
    leak_guard.raises(NotFound, lambda: resolve_value(resolver, parse_ref("secret/app/db#x")))
    messages = [r.getMessage() for r in caplog.records if r.name == "sealer.vault"]
    assert "logged in to Vault (approle at auth/approle), ttl 3600s, renewable" in messages
    assert any("KV v2" in m for m in messages)
    # urllib3 logs every request line at DEBUG: the guard reads those as well.
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    # The guard's own check runs at teardown; here, show that it would catch a leak.
    assert leak_guard.leaks(f"value {PLAINTEXT}-pw-3") == [PLAINTEXT]
    assert leak_guard.leaks("X-Vault-Token: s.AAAAAAAAAAAAAAAAAAAAAAAA") == ["s.AA…"]
    assert leak_guard.leaks(f"root is {openbao.seeded.root_token}")


def test_read_cache_sends_one_read_per_distinct_location(openbao: Bao, resolvers: Make) -> None:
    for n in range(20):
        openbao.admin.kv_put(f"secret/many/p{n}", {"a": f"{PLAINTEXT}-a{n}", "b": f"{PLAINTEXT}-b"})
    resolver = resolvers(openbao.config(openbao.seeded.reader))
    cache = ReadCache(resolver, max_age=math.inf)
    refs = [parse_ref(f"secret/many/p{n}#{f}") for n in range(20) for f in ("a", "b")] * 5
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(lambda ref: resolve_value(cache, ref), refs))
    assert got[:2] == [f"{PLAINTEXT}-a0", f"{PLAINTEXT}-b"]
    assert resolver.counter.snapshot() == {
        "read": 20,
        "login": 1,
        "mount": 1,
        "renew": 0,
        "lookup": 0,
        "revoke": 0,
    }
