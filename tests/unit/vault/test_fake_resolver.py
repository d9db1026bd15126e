"""The in-memory resolver and the field helpers: the KV rules every resolver shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from sealer.vault import (
    Forbidden,
    InvalidReference,
    NotFound,
    VaultError,
    VaultUnavailable,
    parse_ref,
    resolve_data,
    resolve_value,
)
from sealer.vault.auth import AppRoleAuth, KubernetesAuth, TokenAuth
from sealer.vault.config import VaultConfig, kv_version_from_spec
from sealer.vault.errors import VaultConfigError
from sealer.vault.refs import RefSyntax
from tests.fakes.vault import FakeVault


@pytest.fixture
def vault() -> FakeVault:
    fake = FakeVault()
    fake.mount("secret", kv_version=2)
    fake.mount("kv1", kv_version=1)
    fake.mount("team/kv", kv_version=2)
    fake.put("secret/app/db", {"password": "pw-1"})
    fake.put("secret/app/db", {"password": "pw-2", "user": "app", "port": 5432})
    fake.put("kv1/app", {"token": "v1-value"})
    fake.put("team/kv/a/b", {"k": "nested"})
    return fake


@dataclass(frozen=True)
class Read:
    reason: str
    ref: str
    want: str
    syntax: RefSyntax = "logical"


READS = [
    Read("current KV v2 version", "secret/app/db#password", "pw-2"),
    Read("pinned KV v2 version", "secret/app/db#password#1", "pw-1"),
    Read("KV v1", "kv1/app#token", "v1-value"),
    Read("nested path on a two-segment mount", "team/kv/a/b#k", "nested"),
    Read("non-string values become JSON", "secret/app/db#port", "5432"),
    Read("argocd-vault-plugin API path", "secret/data/app/db#password#1", "pw-1", "api"),
    Read("argocd-vault-plugin KV v1 path", "kv1/app#token", "v1-value", "api"),
]


@pytest.mark.parametrize("case", READS, ids=[c.reason for c in READS])
def test_reads(vault: FakeVault, case: Read) -> None:
    assert resolve_value(vault, parse_ref(case.ref, syntax=case.syntax)) == case.want


def test_whole_secret(vault: FakeVault) -> None:
    got = resolve_data(vault, parse_ref("secret/app/db"))
    assert got == {"password": "pw-2", "user": "app", "port": "5432"}
    assert resolve_data(vault, parse_ref("secret/app/db#user")) == {"user": "app"}


@dataclass(frozen=True)
class Failure:
    reason: str
    ref: str
    error: type[VaultError]
    says: str
    syntax: RefSyntax = "logical"
    setup: Callable[[FakeVault], None] = lambda v: None


FAILURES = [
    Failure(
        "missing field names the field",
        "secret/app/db#nope",
        NotFound,
        "has no field 'nope' (it has: password, port, user)",
    ),
    Failure("missing path", "secret/app/none#k", NotFound, "no Vault secret at 'secret/app/none'"),
    Failure("missing version", "secret/app/db#password#9", NotFound, "has no version 9"),
    # Forbidden, as OpenBao answers it (the conformance suite checks): Vault will not say
    # whether a mount it refuses exists.
    Failure("no such mount", "nomount/x#k", Forbidden, "no Vault mount"),
    Failure("version of a KV v1 secret", "kv1/app#token#2", InvalidReference, "has no versions"),
    Failure(
        "deleted version",
        "secret/app/db#password#1",
        NotFound,
        "version 1 was deleted",
        setup=lambda v: v.delete("secret/app/db", 1),
    ),
    Failure(
        "destroyed version",
        "secret/app/db#password#1",
        NotFound,
        "version 1 was destroyed",
        setup=lambda v: v.destroy("secret/app/db", 1),
    ),
    Failure(
        "deleted current version",
        "secret/app/db#password",
        NotFound,
        "the current version (2) was deleted",
        setup=lambda v: v.delete("secret/app/db", 2),
    ),
    Failure(
        "denied path",
        "secret/app/db#password",
        Forbidden,
        "permission denied",
        setup=lambda v: v.deny("secret/app/db"),
    ),
    Failure(
        "outage",
        "secret/app/db#password",
        VaultUnavailable,
        "cannot reach Vault",
        setup=lambda v: setattr(v, "available", False),
    ),
    Failure(
        "API path with /data/ on a KV v1 mount",
        "kv1/data/app#token",
        InvalidReference,
        "written for KV v2, but mount 'kv1' is KV v1",
        "api",
    ),
    Failure(
        "API path whose mount is not the server's",
        "team/data/kv/a#k",
        InvalidReference,
        "puts the mount at 'team'",
        "api",
    ),
]


@pytest.mark.parametrize("case", FAILURES, ids=[c.reason for c in FAILURES])
def test_failures(vault: FakeVault, case: Failure) -> None:
    case.setup(vault)
    with pytest.raises(case.error) as caught:
        resolve_value(vault, parse_ref(case.ref, syntax=case.syntax))
    assert case.says in str(caught.value)
    for plaintext in ("pw-1", "pw-2", "v1-value", "nested"):
        assert plaintext not in str(caught.value)


def test_reasons_and_retry_policy() -> None:
    assert VaultUnavailable("x").retryable and VaultUnavailable("x").reason == "VaultUnavailable"
    assert not Forbidden("x").retryable and Forbidden("x").reason == "Forbidden"
    assert NotFound("x").reason == "NotFound"
    assert InvalidReference("x").reason == "InvalidSpec"


def test_field_needed_for_a_single_value(vault: FakeVault) -> None:
    with pytest.raises(InvalidReference, match="names no field"):
        resolve_value(vault, parse_ref("secret/app/db"))


def test_secret_data_repr_hides_values(vault: FakeVault) -> None:
    secret = vault.read(parse_ref("secret/app/db").location)
    assert "pw-2" not in repr(secret) and secret.version == 2


def test_reads_are_recorded(vault: FakeVault) -> None:
    resolve_value(vault, parse_ref("secret/app/db#password"))
    resolve_value(vault, parse_ref("secret/app/db#user"))
    assert [str(location) for location in vault.reads] == ["secret/app/db", "secret/app/db"]


def test_config_hides_credentials_and_checks_itself() -> None:
    config = VaultConfig(address="https://vault:8200", auth=AppRoleAuth("role", "s3cr3t-id"))
    assert "s3cr3t-id" not in repr(config)
    assert "hvs.tok" not in repr(TokenAuth("hvs.tok"))
    with pytest.raises(VaultConfigError, match="exactly one"):
        KubernetesAuth(role="r")
    with pytest.raises(VaultConfigError, match="http"):
        VaultConfig(address="vault:8200", auth=TokenAuth("t"))


@pytest.mark.parametrize(
    ("value", "want"),
    [("auto", None), (None, None), ("1", 1), (2, 2)],
    ids=["auto", "absent", "string one", "integer two"],
)
def test_kv_version_from_spec(value: object, want: int | None) -> None:
    assert kv_version_from_spec(value) == want


@pytest.mark.parametrize("value", ["3", True, "v2"], ids=["three", "bool", "prefixed"])
def test_kv_version_from_spec_rejects(value: object) -> None:
    with pytest.raises(VaultConfigError):
        kv_version_from_spec(value)
