"""Logging in to a real OpenBao: tokens, AppRole, renewal, re-login, denials that must not loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sealer.vault import Forbidden, LoginFailed, parse_ref, resolve_value
from sealer.vault.auth import AppRoleAuth, KubernetesAuth, TokenAuth
from sealer.vault.config import VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from tests.integration.vault.conftest import PLAINTEXT, Bao, LeakGuard

pytestmark = pytest.mark.integration

Make = Callable[..., HvacResolver]
DB = parse_ref("secret/app/db#password")
DENIED = parse_ref("secret/denied/x#k")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _token(openbao: Bao, **settings: object) -> str:
    body = openbao.admin("POST", "auth/token/create", {"policies": ["reader"], **settings})
    token: str = body["auth"]["client_token"]
    return token


def test_token_login(openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    token = _token(openbao, ttl="1h")
    leak_guard.credentials.add(token)
    resolver = resolvers(openbao.config(TokenAuth(token)))
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
    assert resolver.counter.snapshot()["lookup"] == 1  # learns the TTL once
    assert resolver.counter.snapshot()["login"] == 0


def test_approle_login(openbao: Bao, resolvers: Make) -> None:
    resolver = resolvers(openbao.config(openbao.seeded.reader))
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
    assert resolve_value(resolver, parse_ref("kv1/app/db#password")) == f"{PLAINTEXT}-v1-pw"
    assert resolver.counter.snapshot()["login"] == 1


def test_policy_denial_is_forbidden_and_does_not_loop(
    openbao: Bao, resolvers: Make, leak_guard: LeakGuard
) -> None:
    resolver = resolvers(openbao.config(openbao.seeded.reader))
    resolve_value(resolver, DB)
    for _ in range(3):
        error = leak_guard.raises(Forbidden, lambda: resolve_value(resolver, DENIED))
        assert "permission denied reading Vault secret 'secret/denied/x'" in str(error)
        assert error.reason == "Forbidden"
    counts = resolver.counter.snapshot()
    assert counts["login"] == 1  # one lookup-self per denial tells it from a dead token
    assert counts["lookup"] == 3


def test_denial_on_the_first_request_after_login(
    openbao: Bao, resolvers: Make, leak_guard: LeakGuard
) -> None:
    # Pinned KV version: no mount lookup, so the denied read is the login's first request.
    resolver = resolvers(openbao.config(openbao.seeded.reader, kv_version=2))
    leak_guard.raises(Forbidden, lambda: resolve_value(resolver, DENIED))
    assert resolver.counter.snapshot()["login"] == 1
    assert resolver.counter.snapshot()["lookup"] == 0


def test_fixed_token_denied(openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    token = _token(openbao, ttl="1h")
    leak_guard.credentials.add(token)
    resolver = resolvers(openbao.config(TokenAuth(token)))
    leak_guard.raises(Forbidden, lambda: resolve_value(resolver, DENIED))


def test_short_ttl_renews_then_logs_in_again_without_a_failed_read(
    openbao: Bao, resolvers: Make
) -> None:
    # The "short" AppRole issues tokens with ttl=2s and max_ttl=4s.
    resolver = resolvers(openbao.config(openbao.seeded.short))
    deadline = time.monotonic() + 6.5
    reads = 0
    while time.monotonic() < deadline:
        assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
        reads += 1
        time.sleep(0.2)
    counts = resolver.counter.snapshot()
    assert counts["read"] == reads  # every read succeeded the first time
    assert counts["renew"] >= 2
    assert counts["login"] >= 2


def test_renews_a_fixed_token_at_two_thirds_of_its_ttl(openbao: Bao, resolvers: Make) -> None:
    token = _token(openbao, ttl="3s", renewable=True)
    resolver = resolvers(openbao.config(TokenAuth(token)))
    for _ in range(12):  # 4.8 s, past the first TTL
        assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
        time.sleep(0.4)
    assert resolver.counter.snapshot()["renew"] >= 2


def test_injected_clock_drives_renewal(openbao: Bao, resolvers: Make) -> None:
    clock = Clock()
    resolver = resolvers(openbao.config(openbao.seeded.reader), clock=clock)
    resolve_value(resolver, DB)
    clock.now += 3600 * 0.5
    resolve_value(resolver, DB)
    assert resolver.counter.snapshot()["renew"] == 0
    clock.now += 3600 * 0.2  # past two thirds of the one-hour TTL
    resolve_value(resolver, DB)
    assert resolver.counter.snapshot()["renew"] == 1
    assert resolver.counter.snapshot()["login"] == 1


def test_revoked_token_logs_in_again(openbao: Bao, resolvers: Make) -> None:
    resolver = resolvers(openbao.config(openbao.seeded.reader))
    resolve_value(resolver, DB)
    openbao.admin("PUT", "sys/leases/revoke-prefix/auth/approle/login")
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
    counts = resolver.counter.snapshot()
    assert counts["login"] == 2 and counts["lookup"] == 1 and counts["read"] == 3


def test_revoked_fixed_token_is_forbidden(
    openbao: Bao, resolvers: Make, leak_guard: LeakGuard
) -> None:
    token = _token(openbao, ttl="1h")
    leak_guard.credentials.add(token)
    resolver = resolvers(openbao.config(TokenAuth(token)))
    resolve_value(resolver, DB)
    openbao.admin("POST", "auth/token/revoke", {"token": token})
    error = leak_guard.raises(Forbidden, lambda: resolve_value(resolver, DB))
    assert "invalid, expired or revoked" in str(error)


def test_refused_approle_login(openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    wrong = AppRoleAuth(role_id="role-reader", secret_id="PLAINTEXT-wrong-secret-id")
    resolver = resolvers(openbao.config(wrong))
    error = leak_guard.raises(LoginFailed, lambda: resolve_value(resolver, DB))
    assert "Vault refused the login (approle at auth/approle)" in str(error)
    assert error.reason == "Forbidden"


def test_unknown_auth_mount(openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    elsewhere = AppRoleAuth(role_id="r", secret_id="s", mount_path="nowhere")
    resolver = resolvers(openbao.config(elsewhere))
    error = leak_guard.raises(LoginFailed, lambda: resolve_value(resolver, DB))
    assert "auth/nowhere" in str(error)


def test_kubernetes_jwt_file_that_cannot_be_read(
    openbao: Bao, resolvers: Make, leak_guard: LeakGuard
) -> None:
    auth = KubernetesAuth(role="tenant-a", jwt_file=Path("/nonexistent/jwt"))
    resolver = resolvers(VaultConfig(address=openbao.address, auth=auth))
    error = leak_guard.raises(LoginFailed, lambda: resolve_value(resolver, DB))
    assert "cannot read the Kubernetes service account token '/nonexistent/jwt'" in str(error)
    assert resolver.counter.snapshot()["login"] == 0


def test_fixed_token_without_default_policy(openbao: Bao, resolvers: Make) -> None:
    # Such a token may not look itself up: it is used as it is, without renewal.
    token = _token(openbao, ttl="1h", no_default_policy=True)
    resolver = resolvers(openbao.config(TokenAuth(token)))
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
    assert resolver.counter.snapshot()["renew"] == 0


def test_unknown_fixed_token(openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    bogus = "s.PLAINTEXTbogusPLAINTEXT00"
    leak_guard.credentials.add(bogus)
    resolver = resolvers(openbao.config(TokenAuth(bogus)))
    error = leak_guard.raises(Forbidden, lambda: resolve_value(resolver, DB))
    assert "the Vault token (token) is invalid, expired or revoked" in str(error)


def test_check_login_gives_its_token_back(openbao: Bao, resolvers: Make) -> None:
    # A connection's status check: one login, then revoke-self; the next check logs in afresh.
    resolver = resolvers(openbao.config(openbao.seeded.reader))
    resolver.check_login()
    assert resolver.counter.snapshot()["login"] == 1
    assert resolver.counter.snapshot()["revoke"] == 1
    # The revoked token is dead: a read now finds out, logs in again, and succeeds.
    assert resolve_value(resolver, DB) == f"{PLAINTEXT}-pw-3"
    assert resolver.counter.snapshot()["login"] == 2


def test_check_login_of_a_fixed_token(openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    token = _token(openbao, ttl="1h")
    leak_guard.credentials.add(token)
    live = resolvers(openbao.config(TokenAuth(token)))
    live.check_login()  # looked up, never revoked: it is the connection's own
    assert live.counter.snapshot()["revoke"] == 0
    assert resolve_value(live, DB) == f"{PLAINTEXT}-pw-3"
    dead = resolvers(openbao.config(TokenAuth("s.planted0000000000000000000")))
    error = leak_guard.raises(Forbidden, dead.check_login)
    assert error.reason == "Forbidden" and "planted" not in str(error)
