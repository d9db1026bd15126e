"""Vault/OpenBao references for the controller (VaultSecret) and the renderer (`seal render`).

Parse a reference with :func:`parse_ref`, read it through a :class:`Resolver` (the real one is
:class:`HvacResolver`, built from a :class:`VaultConfig` whose ``auth`` is one of
:mod:`sealer.vault.auth`'s methods; unit tests use an in-memory fake kept under ``tests/``), pick
fields with :func:`resolve_value` / :func:`resolve_data`; put a :class:`ReadCache` in front for one
read per secret per window. Failures are :mod:`sealer.vault.errors`.

:class:`HvacResolver` is imported lazily, so importing this package for parsing does not load
hvac and requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sealer.vault.auth import AppRoleAuth, Auth, JwtSource, KubernetesAuth, LoginApi, TokenAuth
from sealer.vault.cache import ReadCache
from sealer.vault.config import VaultConfig, kv_version_from_spec
from sealer.vault.counter import RequestCounter, RequestKind
from sealer.vault.errors import (
    Forbidden,
    InvalidReference,
    LoginFailed,
    NotFound,
    VaultConfigError,
    VaultError,
    VaultUnavailable,
)
from sealer.vault.refs import RefSyntax, SecretLocation, VaultRef, parse_ref, split_mount
from sealer.vault.resolver import Resolver, SecretData, resolve_data, resolve_value

if TYPE_CHECKING:
    from sealer.vault.hvac_backend import HvacResolver

__all__ = [
    "AppRoleAuth",
    "Auth",
    "Forbidden",
    "HvacResolver",
    "InvalidReference",
    "JwtSource",
    "KubernetesAuth",
    "LoginApi",
    "LoginFailed",
    "NotFound",
    "ReadCache",
    "RefSyntax",
    "RequestCounter",
    "RequestKind",
    "Resolver",
    "SecretData",
    "SecretLocation",
    "TokenAuth",
    "VaultConfig",
    "VaultConfigError",
    "VaultError",
    "VaultRef",
    "VaultUnavailable",
    "kv_version_from_spec",
    "parse_ref",
    "resolve_data",
    "resolve_value",
    "split_mount",
]


def __getattr__(name: str) -> Any:
    if name == "HvacResolver":
        from sealer.vault.hvac_backend import HvacResolver

        return HvacResolver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
