"""Token lifecycle: the pure schedule (lease) and the keeper over a hand-written fake Vault."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from sealer.vault.errors import Forbidden, LoginFailed, VaultUnavailable
from sealer.vault.lease import Grant, Lease, Step, next_step
from sealer.vault.session import TokenKeeper


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Token:
    expires_at: float
    max_at: float
    renewable: bool = True
    revoked: bool = False


class FakeTokenVault:
    """Issues tokens with a TTL and a max TTL on a shared clock, like Vault's token store."""

    def __init__(self, clock: Clock, *, ttl: int = 30, max_ttl: int = 90, relogin: bool = True):
        self.clock = clock
        self.ttl, self.max_ttl = ttl, max_ttl
        self.can_relogin = relogin
        self.method = "fake"
        self.tokens: dict[str, Token] = {}
        self.calls: list[str] = []
        self.refuse_login = False

    def login(self) -> Grant:
        self.calls.append("login")
        if self.refuse_login:
            raise LoginFailed("Vault refused the login (fake)")
        name = f"t{len(self.tokens)}"
        now = self.clock()
        self.tokens[name] = Token(expires_at=now + self.ttl, max_at=now + self.max_ttl)
        return Grant(token=name, ttl=self.ttl, renewable=True)

    def renew(self, token: str, *, increment: int) -> Grant | None:
        self.calls.append("renew")
        if not self.alive(token) or not self.tokens[token].renewable:
            return None
        entry, now = self.tokens[token], self.clock()
        entry.expires_at = min(now + increment, entry.max_at)
        return Grant(token=token, ttl=int(entry.expires_at - now), renewable=True)

    def is_alive(self, token: str) -> bool:
        self.calls.append("lookup")
        return self.alive(token)

    def alive(self, token: str) -> bool:
        entry = self.tokens.get(token)
        return entry is not None and not entry.revoked and self.clock() < entry.expires_at

    def read(self, token: str, *, denied: bool = False) -> str:
        """A request: 403 for a dead token or a denied path, as Vault answers both."""
        self.calls.append("read")
        if denied or not self.alive(token):
            raise Forbidden("permission denied reading 'secret/x'")
        return "ok"


LEASE = Lease(token="t", granted_at=0.0, ttl=30, renewable=True, increment=30)
STEPS = [
    ("no token yet: log in", None, 0.0, True, "login"),
    ("fresh token: use it", LEASE, 5.0, True, "use"),
    ("two thirds of the TTL: renew", LEASE, 20.0, True, "renew"),
    ("expired: renewal would fail, log in", LEASE, 31.0, True, "login"),
    ("capped by max TTL: log in", Lease("t", 0.0, 9, True, 30, capped=True), 7.0, True, "login"),
    ("not renewable: log in at two thirds", Lease("t", 0.0, 30, False, 30), 21.0, True, "login"),
    ("fixed token cannot log in: use it", Lease("t", 0.0, 30, False, 30), 21.0, False, "use"),
    ("TTL 0 never expires", Lease("t", 0.0, 0, False, 0), 1e9, True, "use"),
    ("renewal cut to 0 by max TTL: log in", Lease("t", 5.0, 0, True, 30, True), 5.0, True, "login"),
]


@pytest.mark.parametrize(
    ("lease", "now", "can_login", "want"), [s[1:] for s in STEPS], ids=[s[0] for s in STEPS]
)
def test_next_step(lease: Lease | None, now: float, can_login: bool, want: Step) -> None:
    assert next_step(lease, now=now, can_login=can_login) == want


def test_renewal_that_grants_less_than_asked_is_capped() -> None:
    renewed = LEASE.renewed(Grant(token="t", ttl=12, renewable=True), now=20.0)
    assert renewed.capped and renewed.renew_at == pytest.approx(28.0)
    assert not LEASE.renewed(Grant(token="t", ttl=30, renewable=True), now=20.0).capped


def test_lease_repr_hides_the_token() -> None:
    assert "s.secret" not in repr(Lease("s.secret", 0.0, 1, True, 1))
    assert "s.secret" not in repr(Grant("s.secret", 1, True))


def test_renews_then_logs_in_again_near_max_ttl_without_a_failed_request() -> None:
    clock = Clock()
    vault = FakeTokenVault(clock, ttl=30, max_ttl=90)
    keeper = TokenKeeper(vault, clock=clock)
    for _ in range(40):  # 200 s of requests every 5 s: past the max TTL twice
        assert keeper.call(vault.read) == "ok"
        clock.now += 5
    assert vault.calls.count("renew") >= 4
    assert vault.calls.count("login") >= 3
    assert "lookup" not in vault.calls  # no 403 was ever seen


def test_idle_past_expiry_logs_in_without_trying_to_renew() -> None:
    clock = Clock()
    vault = FakeTokenVault(clock)
    keeper = TokenKeeper(vault, clock=clock)
    keeper.call(vault.read)
    clock.now += 500
    vault.calls.clear()
    assert keeper.call(vault.read) == "ok"
    assert vault.calls == ["login", "read"]


def test_revoked_token_logs_in_again_and_retries_once() -> None:
    clock = Clock()
    vault = FakeTokenVault(clock)
    keeper = TokenKeeper(vault, clock=clock)
    keeper.call(vault.read)
    vault.tokens["t0"].revoked = True
    vault.calls.clear()
    assert keeper.call(vault.read) == "ok"
    assert vault.calls == ["read", "lookup", "login", "read"]


def test_policy_denial_with_a_live_token_is_forbidden_without_login() -> None:
    clock = Clock()
    vault = FakeTokenVault(clock)
    keeper = TokenKeeper(vault, clock=clock)
    keeper.call(vault.read)
    vault.calls.clear()
    with pytest.raises(Forbidden, match="permission denied"):
        keeper.call(lambda token: vault.read(token, denied=True))
    assert vault.calls == ["read", "lookup"]


def test_denial_right_after_a_login_does_not_loop() -> None:
    vault = FakeTokenVault(Clock())
    keeper = TokenKeeper(vault, clock=vault.clock)
    with pytest.raises(Forbidden):
        keeper.call(lambda token: vault.read(token, denied=True))
    assert vault.calls == ["login", "read"]


def test_dead_fixed_token_is_forbidden_and_says_so() -> None:
    clock = Clock()
    vault = FakeTokenVault(clock, relogin=False)
    keeper = TokenKeeper(vault, clock=clock)
    keeper.call(vault.read)
    vault.tokens["t0"].revoked = True
    with pytest.raises(Forbidden, match="invalid, expired or revoked"):
        keeper.call(vault.read)


def test_refused_login_surfaces_as_login_failed() -> None:
    vault = FakeTokenVault(Clock())
    vault.refuse_login = True
    with pytest.raises(LoginFailed):
        TokenKeeper(vault, clock=vault.clock).call(vault.read)


def test_threads_share_one_login() -> None:
    vault = FakeTokenVault(Clock())
    keeper = TokenKeeper(vault, clock=vault.clock)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(keeper.call(vault.read))) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["ok"] * 16
    assert vault.calls.count("login") == 1


def test_unchecked_fixed_token_is_checked_on_its_first_denial() -> None:
    class Unlookable(FakeTokenVault):
        def login(self) -> Grant:
            self.calls.append("login")
            return Grant(token="unknown", ttl=0, renewable=False, checked=False)

    vault = Unlookable(Clock(), relogin=False)
    with pytest.raises(Forbidden, match="invalid, expired or revoked"):
        TokenKeeper(vault, clock=vault.clock).call(vault.read)
    assert vault.calls == ["login", "read", "lookup"]


def test_threads_queued_behind_a_failed_login_share_the_outage() -> None:
    class Hanging(FakeTokenVault):
        def __init__(self, clock: Clock) -> None:
            super().__init__(clock)
            self.entered = threading.Event()
            self.release = threading.Event()

        def login(self) -> Grant:
            self.calls.append("login")
            self.entered.set()
            assert self.release.wait(5)
            raise VaultUnavailable("Vault at http://vault did not answer logging in within 1s")

    vault = Hanging(Clock())
    keeper = TokenKeeper(vault, clock=vault.clock)
    outcomes: list[str] = []

    def call() -> None:
        try:
            keeper.call(vault.read)
        except VaultUnavailable as exc:
            outcomes.append(str(exc))

    first = threading.Thread(target=call)
    first.start()
    assert vault.entered.wait(5)
    others = [threading.Thread(target=call) for _ in range(5)]
    for thread in others:
        thread.start()
    time.sleep(0.1)  # let them queue on the keeper's lock
    vault.release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert len(outcomes) == 6 and len(set(outcomes)) == 1
    assert vault.calls.count("login") == 1
