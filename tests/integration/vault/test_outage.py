"""Outages: a stopped, sealed or silent server is VaultUnavailable; the same resolver recovers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

from sealer.vault import VaultUnavailable, parse_ref, resolve_value
from sealer.vault.auth import TokenAuth
from sealer.vault.config import VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from tests.integration.vault.conftest import PLAINTEXT, Bao, LeakGuard

pytestmark = pytest.mark.integration

Make = Callable[..., HvacResolver]
DB = parse_ref("secret/app/db#password")
V1 = parse_ref("kv1/app/db#password")


def test_stopped_server_then_back_with_the_same_resolver(
    fresh_openbao: Bao, resolvers: Make, leak_guard: LeakGuard
) -> None:
    resolver = resolvers(fresh_openbao.config(fresh_openbao.seeded.reader, timeout=2))
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"

    fresh_openbao.server.stop()
    for ref in (DB, V1):  # a cached mount and a new one: both need the server
        error = leak_guard.raises(VaultUnavailable, partial(resolve_value, resolver, ref))
        assert error.retryable and error.reason == "VaultUnavailable"
        assert f"cannot reach Vault at {fresh_openbao.address}" in str(error)

    # A dev server forgets everything: "back" means the same address and the data written again.
    fresh_openbao.server.start()
    fresh_openbao.reseed()
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
    assert resolve_value(resolver, V1) == f"{PLAINTEXT}-v1-pw"
    # The old token died with the server: one lookup told so, one login replaced it.
    assert resolver.counter.snapshot()["login"] == 2


def test_sealed_server(fresh_openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    resolver = resolvers(fresh_openbao.config())
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
    fresh_openbao.admin("PUT", "sys/seal")
    error = leak_guard.raises(VaultUnavailable, lambda: resolve_value(resolver, DB))
    assert "sealed or unavailable" in str(error) and error.retryable
    # The dev server does not print its unseal key when not on a terminal: restart instead.
    fresh_openbao.server.stop()
    fresh_openbao.server.start()
    fresh_openbao.reseed()
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"


@pytest.fixture
def silent_address() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_timeout(silent_address: str, resolvers: Make, leak_guard: LeakGuard) -> None:
    config = VaultConfig(
        address=silent_address, auth=TokenAuth("PLAINTEXT-token"), kv_version=2, timeout=0.3
    )
    resolver = resolvers(config)
    error = leak_guard.raises(VaultUnavailable, lambda: resolve_value(resolver, DB))
    assert "did not answer logging in (token) within 0.3s" in str(error)


def test_connection_refused(resolvers: Make, leak_guard: LeakGuard) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"http://127.0.0.1:{probe.getsockname()[1]}"
    resolver = resolvers(VaultConfig(address=address, auth=TokenAuth("PLAINTEXT-token")))
    error = leak_guard.raises(VaultUnavailable, lambda: resolve_value(resolver, DB))
    assert f"cannot reach Vault at {address}" in str(error)


def test_threads_do_not_queue_up_timeouts(
    silent_address: str, resolvers: Make, leak_guard: LeakGuard
) -> None:
    config = VaultConfig(address=silent_address, auth=TokenAuth("PLAINTEXT-token"), timeout=0.5)
    resolver = resolvers(config)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(resolve_value, resolver, DB) for _ in range(8)]
    for future in futures:
        assert isinstance(future.exception(), VaultUnavailable)
    # One timeout for the whole queue, not eight in turn.
    assert time.monotonic() - start < 2.5
    assert resolver.counter.total == 1
