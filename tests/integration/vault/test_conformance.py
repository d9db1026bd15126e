"""One contract for every resolver: the same tests against the in-memory fake and a real OpenBao.

``tests/fakes/vault.py`` stands in for Vault in the unit tests of the controller and the
renderer; whatever it claims to do is held here to what the server does, so it cannot drift.
Each test gets a ``server`` of both kinds, with mounts of its own under a fresh prefix: KV v2
``<p>/kv2`` (``app/db`` at versions 1 to 3), KV v1 ``<p>/kv1`` and a KV v2 mount of two segments
``<p>/team/kv``. OpenBao is read with a token whose policy reads ``<p>/*`` (denials are added to
it), as a tenant's token would be, not the root token.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from sandbox.openbao import free_port
from sealer.vault import (
    Forbidden,
    InvalidReference,
    NotFound,
    Resolver,
    TokenAuth,
    VaultConfig,
    VaultError,
    VaultUnavailable,
    parse_ref,
    resolve_data,
    resolve_value,
)
from sealer.vault.hvac_backend import HvacResolver
from sealer.vault.refs import RefSyntax, split_mount
from tests.fakes.vault import FakeVault
from tests.integration.vault.conftest import PLAINTEXT, Bao, LeakGuard

pytestmark = pytest.mark.integration


class Server(Protocol):
    """What the contract needs of a backend: set it up, then read it through a Resolver."""

    prefix: str
    v2: str
    v1: str
    nested: str

    def mount(self, path: str, *, kv_version: int) -> None: ...
    def put(self, path: str, data: Mapping[str, object]) -> None: ...
    def delete(self, path: str, version: int) -> None: ...
    def destroy(self, path: str, version: int) -> None: ...
    def deny(self, path: str) -> None: ...
    def resolver(self) -> Resolver: ...
    def unreachable(self) -> Resolver: ...


class FakeServer:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.v2, self.v1, self.nested = f"{prefix}/kv2", f"{prefix}/kv1", f"{prefix}/team/kv"
        self.vault = FakeVault()

    def mount(self, path: str, *, kv_version: int) -> None:
        self.vault.mount(path, kv_version=2 if kv_version == 2 else 1)

    def put(self, path: str, data: Mapping[str, object]) -> None:
        self.vault.put(path, data)

    def delete(self, path: str, version: int) -> None:
        self.vault.delete(path, version)

    def destroy(self, path: str, version: int) -> None:
        self.vault.destroy(path, version)

    def deny(self, path: str) -> None:
        self.vault.deny(path)

    def resolver(self) -> Resolver:
        return self.vault

    def unreachable(self) -> Resolver:
        self.vault.available = False
        return self.vault


class BaoServer:
    """Mounts of this test's own on the session's OpenBao, and a token with a policy for them."""

    def __init__(self, bao: Bao, prefix: str) -> None:
        self.v2, self.v1, self.nested = f"{prefix}/kv2", f"{prefix}/kv1", f"{prefix}/team/kv"
        self._bao, self.prefix = bao, prefix
        self._mounts: dict[str, int] = {}
        self._denied: list[str] = []
        self._policy = f"{prefix}-reader"
        self._write_policy()
        answer = bao.admin("POST", "auth/token/create", {"policies": [self._policy], "ttl": "1h"})
        self.token: str = answer["auth"]["client_token"]
        self._made: list[HvacResolver] = []

    def mount(self, path: str, *, kv_version: int) -> None:
        self._bao.admin.mount_kv(path, kv_version=kv_version)
        self._mounts[path] = kv_version

    def put(self, path: str, data: Mapping[str, object]) -> None:
        mount, _ = self._split(path)
        self._bao.admin.kv_put(path, dict(data), kv_version=self._mounts[mount], mount=mount)

    def delete(self, path: str, version: int) -> None:
        mount, inner = self._split(path)
        self._bao.admin("POST", f"{mount}/delete/{inner}", {"versions": [version]})

    def destroy(self, path: str, version: int) -> None:
        mount, inner = self._split(path)
        self._bao.admin("POST", f"{mount}/destroy/{inner}", {"versions": [version]})

    def deny(self, path: str) -> None:
        mount, inner = self._split(path)
        self._denied.append(f"{mount}/data/{inner}" if self._mounts[mount] == 2 else path)
        self._write_policy()

    def resolver(self) -> Resolver:
        return self._make(self._bao.address)

    def unreachable(self) -> Resolver:
        return self._make(f"http://127.0.0.1:{free_port()}")  # nothing listens there

    def close(self) -> None:
        for resolver in self._made:
            resolver.close()
        self._bao.admin("POST", "auth/token/revoke", {"token": self.token})
        for mount in self._mounts:
            self._bao.admin("DELETE", f"sys/mounts/{mount}")
        self._bao.admin("DELETE", f"sys/policies/acl/{self._policy}")

    def _make(self, address: str) -> HvacResolver:
        config = VaultConfig(address=address, auth=TokenAuth(self.token), timeout=5)
        self._made.append(HvacResolver(config))
        return self._made[-1]

    def _split(self, path: str) -> tuple[str, str]:
        split = split_mount(path, self._mounts)
        assert split is not None, path
        return split

    def _write_policy(self) -> None:
        rules = [f'path "{self.prefix}/*" {{ capabilities = ["read"] }}']
        rules += [f'path "{denied}" {{ capabilities = ["deny"] }}' for denied in self._denied]
        self._bao.admin("PUT", f"sys/policies/acl/{self._policy}", {"policy": "\n".join(rules)})


def _seed(server: Server) -> None:
    server.mount(server.v2, kv_version=2)
    server.mount(server.v1, kv_version=1)
    server.mount(server.nested, kv_version=2)
    for version in (1, 2, 3):
        server.put(
            f"{server.v2}/app/db",
            {"password": f"{PLAINTEXT}-pw-{version}", "user": f"{PLAINTEXT}-user"},
        )
    server.put(f"{server.v1}/app/db", {"password": f"{PLAINTEXT}-v1-pw", "port": 5432})
    server.put(f"{server.nested}/deep/a/b/c", {"k": f"{PLAINTEXT}-nested"})


@pytest.fixture(params=["fake", "openbao"])
def server(request: pytest.FixtureRequest, leak_guard: LeakGuard) -> Iterator[Server]:
    prefix = f"ct{secrets.token_hex(4)}"
    if request.param == "fake":
        fake = FakeServer(prefix)
        _seed(fake)
        yield fake
        return
    bao: Bao = request.getfixturevalue("openbao")
    real = BaoServer(bao, prefix)
    leak_guard.credentials |= {bao.seeded.root_token, real.token}
    try:
        _seed(real)
        yield real
    finally:
        real.close()


def _at(server: Server, text: str) -> str:
    """``text`` with the placeholders filled: {v2}, {v1}, {nested} and the prefix {p}."""
    return text.format(v2=server.v2, v1=server.v1, nested=server.nested, p=server.prefix)


# -- reads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    reason: str
    ref: str
    want: str
    syntax: RefSyntax = "logical"


READS = [
    Read("KV v2 field, current version", "{v2}/app/db#password", f"{PLAINTEXT}-pw-3"),
    Read("KV v2 field, pinned version", "{v2}/app/db#password#1", f"{PLAINTEXT}-pw-1"),
    Read("KV v1 field", "{v1}/app/db#password", f"{PLAINTEXT}-v1-pw"),
    Read("KV v1 number as JSON", "{v1}/app/db#port", "5432"),
    Read("path on a mount of two segments", "{nested}/deep/a/b/c#k", f"{PLAINTEXT}-nested"),
    Read("API path with /data/", "{v2}/data/app/db#password#2", f"{PLAINTEXT}-pw-2", "api"),
    Read("API path on KV v1", "{v1}/app/db#password", f"{PLAINTEXT}-v1-pw", "api"),
]


@pytest.mark.parametrize("case", READS, ids=[c.reason for c in READS])
def test_reads_a_field(server: Server, case: Read) -> None:
    ref = parse_ref(_at(server, case.ref), syntax=case.syntax)
    assert resolve_value(server.resolver(), ref) == case.want


@pytest.mark.parametrize(
    ("ref", "want"),
    [
        ("{v2}/app/db", {"password": f"{PLAINTEXT}-pw-3", "user": f"{PLAINTEXT}-user"}),
        ("{v2}/app/db##1", {"password": f"{PLAINTEXT}-pw-1", "user": f"{PLAINTEXT}-user"}),
        ("{v2}/app/db#user", {"user": f"{PLAINTEXT}-user"}),
        ("{v1}/app/db", {"password": f"{PLAINTEXT}-v1-pw", "port": "5432"}),
    ],
    ids=["KV v2 current", "KV v2 pinned version", "a field narrows it", "KV v1"],
)
def test_whole_secret(server: Server, ref: str, want: dict[str, str]) -> None:
    assert resolve_data(server.resolver(), parse_ref(_at(server, ref))) == want


@pytest.mark.parametrize(
    ("ref", "version"),
    [("{v2}/app/db", 3), ("{v2}/app/db##2", 2), ("{v1}/app/db", None)],
    ids=["KV v2 current: its number", "KV v2 pinned: that number", "KV v1: none"],
)
def test_reports_the_version_read(server: Server, ref: str, version: int | None) -> None:
    assert server.resolver().read(parse_ref(_at(server, ref)).location).version == version


VALUES: list[tuple[str, Any, str]] = [
    ("integer", 5432, "5432"),
    ("float", 1.5, "1.5"),
    ("true", True, "true"),
    ("null", None, "null"),
    ("list", [1, "two"], '[1,"two"]'),
    ("object, compact JSON", {"a": {"b": [True]}}, '{"a":{"b":[true]}}'),
    ("non-ASCII text stays text", "ünï-çødé", "ünï-çødé"),
    ("non-ASCII inside JSON is escaped", {"k": "ü"}, '{"k":"\\u00fc"}'),
    ("empty string", "", ""),
]


@pytest.mark.parametrize("mount", ["v2", "v1"])
@pytest.mark.parametrize(("value", "want"), [v[1:] for v in VALUES], ids=[v[0] for v in VALUES])
def test_values_that_are_not_strings(server: Server, mount: str, value: Any, want: str) -> None:
    path = f"{getattr(server, mount)}/typed"
    server.put(path, {"v": value})
    assert resolve_value(server.resolver(), parse_ref(f"{path}#v")) == want


def test_kv_v1_keeps_only_the_last_write(server: Server) -> None:
    server.put(f"{server.v1}/app/db", {"password": f"{PLAINTEXT}-new"})
    got = resolve_data(server.resolver(), parse_ref(f"{server.v1}/app/db"))
    assert got == {"password": f"{PLAINTEXT}-new"}


def test_a_secret_with_no_fields(server: Server, leak_guard: LeakGuard) -> None:
    server.put(f"{server.v2}/empty", {})
    resolver = server.resolver()
    assert resolve_data(resolver, parse_ref(f"{server.v2}/empty")) == {}
    error = leak_guard.raises(
        NotFound, lambda: resolve_value(resolver, parse_ref(f"{server.v2}/empty#k"))
    )
    assert "has no field 'k' (it has no fields)" in str(error)


# -- failures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    reason: str
    ref: str
    error: type[VaultError]
    says: str
    syntax: RefSyntax = "logical"


FAILURES = [
    Failure(
        "KV v2 missing field names it and the fields there are",
        "{v2}/app/db#nope",
        NotFound,
        "has no field 'nope' (it has: password, user)",
    ),
    Failure(
        "KV v1 missing field", "{v1}/app/db#nope", NotFound, "has no field 'nope' (it has: pass"
    ),
    Failure("KV v2 missing path", "{v2}/app/none#k", NotFound, "no Vault secret at '"),
    Failure("KV v1 missing path", "{v1}/none#k", NotFound, "no Vault secret at '"),
    Failure(
        "KV v2 version never written", "{v2}/app/db#password#99", NotFound, "has no version 99"
    ),
    Failure(
        "KV v2 missing path, pinned version", "{v2}/app/none#k#1", NotFound, "has no version 1"
    ),
    Failure("version of a KV v1 secret", "{v1}/app/db#password#1", InvalidReference, "no versions"),
    Failure(
        "API path with /data/ on a KV v1 mount",
        "{v1}/data/app/db#password",
        InvalidReference,
        "is written for KV v2, but mount",
        "api",
    ),
    Failure(
        "API path whose mount is not the server's",
        "{p}/team/data/kv/deep/a/b/c#k",  # the server's mount is {p}/team/kv
        InvalidReference,
        "puts the mount at",
        "api",
    ),
    Failure("no such mount", "{v2}-none/x#k", Forbidden, "no Vault mount for '"),
]


@pytest.mark.parametrize("case", FAILURES, ids=[c.reason for c in FAILURES])
def test_failures(server: Server, leak_guard: LeakGuard, case: Failure) -> None:
    ref = parse_ref(_at(server, case.ref), syntax=case.syntax)
    resolver = server.resolver()
    error = leak_guard.raises(case.error, lambda: resolve_value(resolver, ref))
    assert case.says in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("how", "pinned", "says"),
    [
        ("delete", True, "version 1 was deleted (it can be undeleted)"),
        ("destroy", True, "version 1 was destroyed"),
        ("delete", False, "the current version (3) was deleted"),
        ("destroy", False, "the current version (3) was destroyed"),
    ],
    ids=["deleted version", "destroyed version", "deleted current", "destroyed current"],
)
def test_deleted_and_destroyed_versions(
    server: Server, leak_guard: LeakGuard, how: str, pinned: bool, says: str
) -> None:
    path = f"{server.v2}/app/db"
    version = 1 if pinned else 3
    (server.delete if how == "delete" else server.destroy)(path, version)
    resolver = server.resolver()
    ref = parse_ref(f"{path}#password#1" if pinned else f"{path}#password")
    error = leak_guard.raises(NotFound, lambda: resolve_value(resolver, ref))
    assert says in str(error)
    if pinned:  # the other versions are untouched
        assert resolve_value(resolver, parse_ref(f"{path}#password")) == f"{PLAINTEXT}-pw-3"


@pytest.mark.parametrize("mount", ["v2", "v1"])
def test_a_denied_path_is_forbidden(server: Server, leak_guard: LeakGuard, mount: str) -> None:
    path = f"{getattr(server, mount)}/app/db"
    server.deny(path)
    resolver = server.resolver()
    error = leak_guard.raises(Forbidden, lambda: resolve_value(resolver, parse_ref(f"{path}#user")))
    assert f"permission denied reading Vault secret '{path}'" in str(error)
    if mount == "v2":  # a denial is one path's: the rest of the mount still reads
        assert resolve_value(resolver, parse_ref(f"{server.v1}/app/db#port")) == "5432"


def test_an_unreachable_vault_is_unavailable(server: Server, leak_guard: LeakGuard) -> None:
    resolver = server.unreachable()
    ref = parse_ref(f"{server.v2}/app/db#password")
    error = leak_guard.raises(VaultUnavailable, lambda: resolve_value(resolver, ref))
    assert "cannot reach Vault at " in str(error) and error.retryable
