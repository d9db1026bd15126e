"""What a VaultSecret reads from KV v1 and KV v2 mounts, through the real controller.

One controller per KV version syncs a table of VaultSecrets at once: a single field, ``dataFrom``,
a pinned version, deleted and destroyed versions (v2), a missing field and a missing secret, a
nested path, and a template combining fields. Failures end Ready=False with their reason, an
Event, and no Secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.vaultsecrets.conftest import Env, StartController

pytestmark = pytest.mark.integration

NS = "kv-tenant"


@dataclass(frozen=True)
class Case:
    name: str
    spec: dict[str, Any]
    want: dict[str, str] | None  # the Secret's data; None: no Secret
    reason: str = "Synced"
    why: str = ""


def _cases(m: str, v: int, pw: dict[int, str], user: str, nested: str) -> list[Case]:
    latest = pw[max(pw)]
    cases = [
        Case(
            "single",
            {"data": [{"key": "password", "ref": f"{m}/app/db#password"}]},
            {"password": latest},
            why="one field of the current version",
        ),
        Case(
            "datafrom",
            {"dataFrom": [{"ref": f"{m}/app/db"}]},
            {"password": latest, "user": user},
            why="every field of the secret",
        ),
        Case(
            "nested",
            {"data": [{"key": "k", "ref": f"{m}/deep/a/b/c#k"}]},
            {"k": nested},
            why="a path several levels deep",
        ),
        Case(
            "template",
            {
                "data": [
                    {"key": "user", "ref": f"{m}/app/db#user"},
                    {"key": "password", "ref": f"{m}/app/db#password"},
                ],
                "target": {
                    "template": {
                        "data": {"dsn": "postgres://{{ user }}:{{ password }}@db:5432/app"}
                    }
                },
            },
            {
                "user": user,
                "password": latest,
                "dsn": f"postgres://{user}:{latest}@db:5432/app",
            },
            why="a template combines two fields",
        ),
        Case(
            "template-only",
            {
                "data": [
                    {"key": "user", "ref": f"{m}/app/db#user", "templateOnly": True},
                    {"key": "password", "ref": f"{m}/app/db#password"},
                ],
                "target": {"template": {"data": {"dsn": "postgres://{{ user }}@db"}}},
            },
            {"password": latest, "dsn": f"postgres://{user}@db"},
            why="a templateOnly value feeds the template and stays out of the Secret",
        ),
        Case(
            "missing-field",
            {"data": [{"key": "x", "ref": f"{m}/app/db#nope"}]},
            None,
            "NotFound",
            "the secret exists, the field does not",
        ),
        Case(
            "missing-secret",
            {"data": [{"key": "x", "ref": f"{m}/app/none#password"}]},
            None,
            "NotFound",
            "no secret at the path",
        ),
    ]
    if v == 2:
        cases += [
            Case(
                "pinned",
                {"data": [{"key": "password", "ref": f"{m}/app/db#password#1"}]},
                {"password": pw[1]},
                why="an older version, pinned",
            ),
            Case(
                "deleted-version",
                {"data": [{"key": "password", "ref": f"{m}/app/db#password#2"}]},
                None,
                "NotFound",
                "version 2 was soft-deleted",
            ),
            Case(
                "destroyed-version",
                {"data": [{"key": "password", "ref": f"{m}/app/db#password#3"}]},
                None,
                "NotFound",
                "version 3 was destroyed",
            ),
        ]
    else:
        cases.append(
            Case(
                "pinned",
                {"data": [{"key": "password", "ref": f"{m}/app/db#password#1"}]},
                None,
                "InvalidSpec",
                "KV v1 has no versions: the pin is refused, not ignored",
            )
        )
    return cases


@pytest.mark.parametrize("kv_version", [1, 2], ids=["kv1", "kv2"])
def test_kv_reads(env: Env, start_controller: StartController, kv_version: int) -> None:
    tag = secrets.token_hex(3)
    mount = f"kv{kv_version}-{tag}"
    env.bao.admin.mount_kv(mount, kv_version=kv_version)
    user = f"user-{tag}-PLAINTEXT"
    pw = {n: f"pw{n}-{secrets.token_hex(8)}" for n in (1, 2, 3, 4)}
    if kv_version == 1:
        pw = {1: pw[1]}
    for n in sorted(pw):
        env.put(f"{mount}/app/db", {"password": pw[n], "user": user}, kv_version=kv_version)
    nested = f"nested-{secrets.token_hex(8)}"
    env.put(f"{mount}/deep/a/b/c", {"k": nested}, kv_version=kv_version)
    if kv_version == 2:
        env.bao.admin("POST", f"{mount}/delete/app/db", {"versions": [2]})
        env.bao.admin("POST", f"{mount}/destroy/app/db", {"versions": [3]})
    # A token whose policy reads only this mount (not root): the mount lookup works with it too.
    env.bao.policy(f"read-{mount}", f"{mount}/*", f"{mount}/data/*")
    env.connection(NS, "vault", env.token_auth(NS, env.bao.new_token(f"read-{mount}")))
    cases = _cases(mount, kv_version, pw, user, nested)
    for case in cases:
        env.vault_secret(NS, case.name, **case.spec)
    start_controller()

    for case in cases:
        ready = env.wait_ready(
            NS, case.name, status="True" if case.want else "False", reason=case.reason
        )
        assert env.data(NS, case.name) == case.want, f"{case.name}: {case.why}"
        if case.want is None:
            assert any(e.get("reason") == case.reason for e in env.events(NS, case.name)), (
                f"{case.name}: no {case.reason} Event"
            )
            assert mount in ready["message"], ready["message"]  # says where, never a value
