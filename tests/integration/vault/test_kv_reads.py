"""Reading KV v1 and v2 secrets from a real OpenBao: fields, whole secrets, versions, failures."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from sealer.vault import (
    InvalidReference,
    NotFound,
    VaultError,
    parse_ref,
    resolve_data,
    resolve_value,
)
from sealer.vault.hvac_backend import HvacResolver
from sealer.vault.refs import RefSyntax
from tests.integration.vault.conftest import PLAINTEXT, Bao, LeakGuard

pytestmark = pytest.mark.integration

Make = Callable[..., HvacResolver]


@dataclass(frozen=True)
class Read:
    reason: str
    ref: str
    want: str
    syntax: RefSyntax = "logical"


READS = [
    Read("KV v2 single field, current version", "secret/app/db#password", f"{PLAINTEXT}-pw-3"),
    Read("KV v2 pinned version", "secret/app/db#password#1", f"{PLAINTEXT}-pw-1"),
    Read("KV v1 single field", "kv1/app/db#password", f"{PLAINTEXT}-v1-pw"),
    Read("KV v1 non-string value as JSON", "kv1/app/db#port", "5432"),
    Read("nested path on a two-segment mount", "team/kv/deep/a/b/c#k", f"{PLAINTEXT}-nested"),
    Read(
        "argocd-vault-plugin API path", "secret/data/app/db#password#2", f"{PLAINTEXT}-pw-2", "api"
    ),
    Read("argocd-vault-plugin API path, KV v1", "kv1/app/db#password", f"{PLAINTEXT}-v1-pw", "api"),
    Read(
        "API path on a two-segment mount", "team/kv/data/deep/a/b/c#k", f"{PLAINTEXT}-nested", "api"
    ),
]


@pytest.mark.parametrize("case", READS, ids=[c.reason for c in READS])
def test_reads_a_field(openbao: Bao, resolvers: Make, case: Read) -> None:
    resolver = resolvers(openbao.config())
    assert resolve_value(resolver, parse_ref(case.ref, syntax=case.syntax)) == case.want


@pytest.mark.parametrize(
    ("ref", "want"),
    [
        ("secret/app/db", {"password": f"{PLAINTEXT}-pw-3", "user": f"{PLAINTEXT}-user"}),
        ("secret/app/db##1", {"password": f"{PLAINTEXT}-pw-1", "user": f"{PLAINTEXT}-user"}),
        ("kv1/app/db", {"password": f"{PLAINTEXT}-v1-pw", "port": "5432"}),
    ],
    ids=["KV v2 current", "KV v2 pinned version", "KV v1"],
)
def test_whole_secret_for_data_from(
    openbao: Bao, resolvers: Make, ref: str, want: dict[str, str]
) -> None:
    assert resolve_data(resolvers(openbao.config()), parse_ref(ref)) == want


def test_path_with_characters_that_need_quoting(openbao: Bao, resolvers: Make) -> None:
    path = "secret/odd dir/ünï?cödé&x=1"
    openbao.admin.kv_put(path, {"k": f"{PLAINTEXT}-odd"})
    resolver = resolvers(openbao.config())
    assert resolve_value(resolver, parse_ref(f"{path}#k")) == f"{PLAINTEXT}-odd"


def test_reports_the_version_read(openbao: Bao, resolvers: Make) -> None:
    resolver = resolvers(openbao.config())
    assert resolver.read(parse_ref("secret/app/db").location).version == 3
    assert resolver.read(parse_ref("secret/app/db##2").location).version == 2
    assert resolver.read(parse_ref("kv1/app/db").location).version is None


@dataclass(frozen=True)
class Failure:
    reason: str
    ref: str
    error: type[VaultError]
    says: str
    syntax: RefSyntax = "logical"


FAILURES = [
    Failure(
        "KV v2 missing field names it",
        "secret/app/db#nope",
        NotFound,
        "has no field 'nope' (it has: password, user)",
    ),
    Failure("KV v1 missing field names it", "kv1/app/db#nope", NotFound, "has no field 'nope'"),
    Failure(
        "KV v2 missing path", "secret/app/none#k", NotFound, "no Vault secret at 'secret/app/none'"
    ),
    Failure("KV v1 missing path", "kv1/none#k", NotFound, "no Vault secret at 'kv1/none'"),
    Failure(
        "KV v2 version never written", "secret/app/db#password#99", NotFound, "has no version 99"
    ),
    Failure(
        "version of a KV v1 secret",
        "kv1/app/db#password#1",
        InvalidReference,
        "KV v1 mount 'kv1', which has no versions",
    ),
    Failure(
        "API path with /data/ on a KV v1 mount names another secret",
        "kv1/data/app/db#password",
        InvalidReference,
        "is written for KV v2, but mount 'kv1' is KV v1",
        "api",
    ),
]


@pytest.mark.parametrize("case", FAILURES, ids=[c.reason for c in FAILURES])
def test_failures(openbao: Bao, resolvers: Make, leak_guard: LeakGuard, case: Failure) -> None:
    resolver = resolvers(openbao.config())
    ref = parse_ref(case.ref, syntax=case.syntax)
    error = leak_guard.raises(case.error, lambda: resolve_value(resolver, ref))
    assert case.says in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize("how", ["delete", "destroy"])
def test_deleted_and_destroyed_versions(
    openbao: Bao, resolvers: Make, leak_guard: LeakGuard, how: str
) -> None:
    path = f"secret/gone/{how}-{secrets.token_hex(4)}"
    for n in (1, 2):
        openbao.admin.kv_put(path, {"k": f"{PLAINTEXT}-{n}"})
    inner = path.removeprefix("secret/")
    if how == "delete":
        openbao.admin("POST", f"secret/delete/{inner}", {"versions": [1]})
    else:
        openbao.admin("POST", f"secret/destroy/{inner}", {"versions": [1]})
    resolver = resolvers(openbao.config())
    word = "deleted (it can be undeleted)" if how == "delete" else "destroyed"
    error = leak_guard.raises(NotFound, lambda: resolve_value(resolver, parse_ref(f"{path}#k#1")))
    assert f"version 1 was {word}" in str(error)
    assert resolve_value(resolver, parse_ref(f"{path}#k")) == f"{PLAINTEXT}-2"


def test_deleted_current_version(openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    path = f"secret/gone/current-{secrets.token_hex(4)}"
    openbao.admin.kv_put(path, {"k": f"{PLAINTEXT}-1"})
    openbao.admin("DELETE", f"secret/data/{path.removeprefix('secret/')}")
    resolver = resolvers(openbao.config())
    error = leak_guard.raises(NotFound, lambda: resolve_value(resolver, parse_ref(f"{path}#k")))
    assert "the current version (1) was deleted" in str(error)


def test_one_mount_lookup_per_mount(openbao: Bao, resolvers: Make) -> None:
    resolver = resolvers(openbao.config())
    for ref in [
        "secret/app/db#password",
        "secret/app/db#user",
        "secret/denied/x#k",
        "kv1/app/db#password",
        "kv1/app/db#port",
        "team/kv/deep/a/b/c#k",
    ]:
        resolve_value(resolver, parse_ref(ref))
    counts = resolver.counter.snapshot()
    assert counts == {"read": 6, "login": 0, "mount": 3, "renew": 0, "lookup": 1, "revoke": 0}


def test_pinned_kv_version_skips_mount_lookups(openbao: Bao, resolvers: Make) -> None:
    v2 = resolvers(openbao.config(kv_version=2))
    assert resolve_value(v2, parse_ref("secret/app/db#password#2")) == f"{PLAINTEXT}-pw-2"
    v1 = resolvers(openbao.config(kv_version=1))
    assert resolve_value(v1, parse_ref("kv1/app/db#password")) == f"{PLAINTEXT}-v1-pw"
    assert v2.counter.snapshot()["mount"] == 0 and v1.counter.snapshot()["mount"] == 0


def test_mount_that_does_not_exist(openbao: Bao, resolvers: Make, leak_guard: LeakGuard) -> None:
    from sealer.vault import Forbidden

    resolver = resolvers(openbao.config())
    error = leak_guard.raises(Forbidden, lambda: resolve_value(resolver, parse_ref("nope/x#k")))
    assert "no Vault mount for 'nope/x'" in str(error)
