"""A real OpenBao dev server seeded with argocd-vault-plugin's documented example secrets.

KV v2 mounts ``secret`` (the dev default) and ``secrets`` (avp's modifier examples), a KV v1
mount ``kv1``. Every value holds :data:`MARK`, so a leak check (reference mode, error lines)
needs no list of values.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import Bao

__all__ = ["MARK", "Bao", "bao", "seed"]

MARK = "S3CR"


def seed(bao: Bao) -> None:
    admin = bao.admin
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
    server = Bao.start()
    try:
        seed(server)
        yield server
    finally:
        server.close()
