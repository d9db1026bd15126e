"""Fixtures for the Vault layer against a real OpenBao dev server.

``openbao`` is one server for the session, seeded with the Vault layer's data set
(:meth:`tests.harness.Bao.seed`, every value holding :data:`PLAINTEXT`); tests that change the server's
state (outages, sealing) start their own with ``fresh_openbao``. Every test runs under
``leak_guard``: it captures all log records (any logger, DEBUG and up) and every exception a test
hands it, and fails the test if a seeded plaintext value or a Vault credential appears in any.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from sealer.vault.config import VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from tests.harness import PLAINTEXT, Bao, Seeded
from tests.leaks import Ledger

__all__ = ["PLAINTEXT", "Bao", "LeakGuard", "Seeded", "fresh_openbao", "leak_guard", "openbao"]

E = TypeVar("E", bound=BaseException)

# OpenBao service and batch tokens: "s." or "b." and 24 base62 characters.
_TOKEN = re.compile(r"\b[sb]\.[A-Za-z0-9]{24}\b")


def _start() -> Bao:
    bao = Bao.start()
    try:
        bao.seed({"reader": secrets.token_hex(16), "short": secrets.token_hex(16)})
    except BaseException:
        bao.close()
        raise
    return bao


@pytest.fixture(scope="session")
def openbao() -> Iterator[Bao]:
    bao = _start()
    yield bao
    bao.close()


@pytest.fixture
def fresh_openbao() -> Iterator[Bao]:
    """A server of this test's own, to stop, restart or seal."""
    bao = _start()
    yield bao
    bao.close()


@pytest.fixture
def resolvers() -> Iterator[Callable[..., HvacResolver]]:
    """Make resolvers that are closed after the test."""
    made: list[HvacResolver] = []

    def make(config: VaultConfig, **kwargs: object) -> HvacResolver:
        resolver = HvacResolver(config, **kwargs)  # type: ignore[arg-type]
        made.append(resolver)
        return resolver

    yield make
    for resolver in made:
        resolver.close()


class LeakGuard:
    """Collects texts a test produced and says which contain a secret."""

    def __init__(self, credentials: set[str]) -> None:
        self.credentials = credentials
        self.texts: list[str] = []

    def raises(self, error: type[E], call: Callable[[], object]) -> E:
        """Run ``call``, expect ``error``, and keep every message of its cause chain."""
        with pytest.raises(error) as caught:
            call()
        seen: BaseException | None = caught.value
        while seen is not None:
            self.texts += [str(seen), repr(seen)]
            seen = seen.__cause__ or seen.__context__
        return caught.value

    def leaks(self, text: str) -> list[str]:
        found = [PLAINTEXT] if PLAINTEXT in text else []
        found += [c[:6] + "…" for c in self.credentials if c and c in text]
        found += [m[:4] + "…" for m in _TOKEN.findall(text)]
        return found


@pytest.fixture(autouse=True)
def leak_guard(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, leak_ledger: Ledger
) -> Iterator[LeakGuard]:
    credentials: set[str] = set()
    for name in ("openbao", "fresh_openbao"):
        if name in request.fixturenames:
            bao: Bao = request.getfixturevalue(name)
            credentials |= set(bao.credentials)
    guard = LeakGuard(credentials)
    caplog.set_level(logging.DEBUG)
    yield guard
    texts = guard.texts + [r.getMessage() for r in caplog.records]
    texts += [caplog.text]
    # And into the whole-run scan (tests/leaks.py): the credentials against every test's output.
    leak_ledger.plaintexts(request.node.nodeid, guard.credentials)
    leak_ledger.haystack(f"{request.node.nodeid}: logs and errors", "\n".join(texts))
    leaked = {leak for text in texts for leak in guard.leaks(text)}
    assert not leaked, f"secret material in logs or exception messages: {sorted(leaked)}"
