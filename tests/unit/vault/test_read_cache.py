"""ReadCache: one read per location per window, shared by concurrent callers, failures not kept."""

from __future__ import annotations

import threading
import time

import pytest

from sealer.errors import SealopsError
from sealer.vault import VaultError, VaultUnavailable, parse_ref
from sealer.vault.cache import ReadCache
from sealer.vault.refs import SecretLocation
from sealer.vault.resolver import SecretData
from tests.fakes.vault import FakeVault

DB = parse_ref("secret/app/db").location
DB_V1 = parse_ref("secret/app/db##1").location


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def vault() -> FakeVault:
    fake = FakeVault()
    fake.mount("secret")
    fake.put("secret/app/db", {"password": "one"})
    fake.put("secret/app/db", {"password": "two"})
    return fake


def test_one_read_per_location_per_window(vault: FakeVault) -> None:
    clock = Clock()
    cache = ReadCache(vault, max_age=60, clock=clock)
    for _ in range(5):
        assert cache.read(DB).value("password") == "two"
        assert cache.read(DB_V1).value("password") == "one"
    assert len(vault.reads) == 2  # a pinned version is a location of its own
    clock.now = 61
    vault.put("secret/app/db", {"password": "three"})
    assert cache.read(DB).value("password") == "three"
    assert len(vault.reads) == 3


def test_failures_are_not_kept(vault: FakeVault) -> None:
    cache = ReadCache(vault, max_age=60, clock=Clock())
    vault.available = False
    with pytest.raises(VaultUnavailable):
        cache.read(DB)
    vault.available = True
    assert cache.read(DB).value("password") == "two"
    assert len(vault.reads) == 2


def test_forget(vault: FakeVault) -> None:
    cache = ReadCache(vault, max_age=60, clock=Clock())
    cache.read(DB)
    cache.forget(DB)
    cache.read(DB)
    cache.forget()
    cache.read(DB)
    assert len(vault.reads) == 3


class Gate:
    """A resolver that holds every read until released, to make callers overlap."""

    def __init__(self, inner: FakeVault) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.started = threading.Event()

    def read(self, location: SecretLocation) -> SecretData:
        self.started.set()
        assert self.release.wait(5)
        return self.inner.read(location)

    def forget(self, location: SecretLocation) -> None:
        self.inner.forget(location)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("available", [True, False], ids=["success shared", "failure shared"])
def test_concurrent_callers_share_one_read(vault: FakeVault, available: bool) -> None:
    gate = Gate(vault)
    vault.available = available
    cache = ReadCache(gate, max_age=60, clock=Clock())
    outcomes: list[str] = []
    lined_up = threading.Barrier(9)

    def call() -> None:
        lined_up.wait(5)
        try:
            outcomes.append(cache.read(DB).value("password"))
        except VaultUnavailable:
            outcomes.append("unavailable")

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    lined_up.wait(5)
    assert gate.started.wait(5)
    time.sleep(0.1)  # let the other seven reach the in-flight read before it ends
    gate.release.set()
    for thread in threads:
        thread.join(5)
    assert outcomes == (["two"] if available else ["unavailable"]) * 8
    assert len(vault.reads) == 1


class Refusing:
    """A resolver whose login's token source refuses on purpose (a SealopsError, not a Vault one)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.release = threading.Event()
        self.started = threading.Event()

    def read(self, location: SecretLocation) -> SecretData:
        self.started.set()
        assert self.release.wait(5)
        raise self.error

    def forget(self, location: SecretLocation) -> None:
        pass

    def close(self) -> None:
        pass


class _Retryable(SealopsError):
    reason = "InvalidSpec"
    retryable = True


@pytest.mark.parametrize(
    ("error", "given_as_is"),
    [
        (_Retryable("no ServiceAccount"), 4),  # its reason and retry policy reach every caller
        (RuntimeError("a bug"), 1),  # a bug's text reaches only the owner; waiters a VaultError
    ],
    ids=["a token source's SealopsError reaches every waiter", "a bug reaches only the owner"],
)
def test_waiters_get_the_owners_error(error: BaseException, given_as_is: int) -> None:
    inner = Refusing(error)
    cache = ReadCache(inner, max_age=60, clock=Clock())
    caught: list[BaseException] = []
    lined_up = threading.Barrier(5)

    def call() -> None:
        lined_up.wait(5)
        try:
            cache.read(DB)
        except BaseException as exc:
            caught.append(exc)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    lined_up.wait(5)
    assert inner.started.wait(5)
    time.sleep(0.1)  # let the other three reach the in-flight read before it ends
    inner.release.set()
    for thread in threads:
        thread.join(5)
    assert len(caught) == 4
    assert sum(e is error for e in caught) == given_as_is
    assert all(type(e) is VaultError for e in caught if e is not error)
