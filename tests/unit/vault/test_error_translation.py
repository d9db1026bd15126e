"""How the hvac backend translates what hvac and requests raise, without a server.

Each case hands the transport a call that raises what hvac or requests would; no client is
patched, nothing is sent. The integration tests show the same errors coming from real OpenBao.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import hvac.exceptions
import pytest
import requests

from sealer.errors import SealopsError
from sealer.vault import KubernetesAuth, RequestCounter, SecretLocation, TokenAuth, VaultConfig
from sealer.vault.errors import (
    Forbidden,
    InvalidReference,
    LoginFailed,
    NotFound,
    VaultError,
    VaultUnavailable,
)
from sealer.vault.hvac_backend import HvacResolver
from sealer.vault.hvac_backend.transport import Transport

TOKEN = "s.ABCDEFGHIJKLMNOPQRSTUVWX"
CONFIG = VaultConfig(address="http://vault.test:8200", auth=TokenAuth(TOKEN), timeout=2)


@dataclass(frozen=True)
class Case:
    reason: str
    raised: BaseException
    want: type[VaultError]
    says: str


CASES = [
    Case(
        "connection refused is an outage",
        requests.ConnectionError("refused"),
        VaultUnavailable,
        "cannot reach Vault at http://vault.test:8200 reading x",
    ),
    Case(
        "timeout is an outage",
        requests.ReadTimeout("slow"),
        VaultUnavailable,
        "did not answer reading x within 2s",
    ),
    Case(
        "TLS failure names the CA bundle",
        requests.exceptions.SSLError("bad cert"),
        VaultUnavailable,
        "check the CA bundle",
    ),
    Case(
        "503 means sealed or standby",
        hvac.exceptions.VaultDown(errors=["Vault is sealed"]),
        VaultUnavailable,
        "is sealed or unavailable reading x",
    ),
    Case(
        "500 is retried",
        hvac.exceptions.InternalServerError(errors=["boom"]),
        VaultUnavailable,
        "failed reading x: boom",
    ),
    Case(
        "429 is retried",
        hvac.exceptions.RateLimitExceeded(errors=["slow down"]),
        VaultUnavailable,
        "slow down",
    ),
    Case(
        "403 is forbidden",
        hvac.exceptions.Forbidden(errors=["1 error occurred:\n\t* permission denied\n\n"]),
        Forbidden,
        "permission denied reading x",
    ),
    Case(
        "401 is forbidden",
        hvac.exceptions.Unauthorized(errors=["missing client token"]),
        Forbidden,
        "missing client token",
    ),
    Case(
        "404 is not found",
        hvac.exceptions.InvalidPath(errors=[]),
        NotFound,
        "Vault found nothing reading x",
    ),
    Case(
        "400 is a bad request",
        hvac.exceptions.InvalidRequest(errors=["bad path"]),
        InvalidReference,
        "Vault rejected reading x: bad path",
    ),
    Case(
        "Vault's text is scrubbed of the token",
        hvac.exceptions.InvalidRequest(errors=[f"token {TOKEN} is odd"]),
        InvalidReference,
        "token <redacted> is odd",
    ),
    Case("a body that is not JSON", ValueError("Expecting value"), VaultUnavailable, "not JSON"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_translation(case: Case) -> None:
    counter = RequestCounter()
    transport = Transport(CONFIG, counter, credentials=lambda: [TOKEN])

    def call(client: object) -> object:
        raise case.raised

    with pytest.raises(case.want) as caught:
        transport.send("read", "reading x", call, token=TOKEN)
    message = str(caught.value)
    assert case.says in message
    assert TOKEN not in message and "\n" not in message
    assert caught.value.__cause__ is case.raised
    assert counter.snapshot()["read"] == 1  # counted even though it failed
    transport.close()


def test_reject_hook_overrides_the_default() -> None:
    transport = Transport(CONFIG, RequestCounter(), credentials=list)
    special = NotFound("no such thing, said specially")

    def call(client: object) -> object:
        raise hvac.exceptions.InvalidPath(errors=[])

    def reject(exc: object, said: str) -> VaultError | None:
        return special

    with pytest.raises(NotFound) as caught:
        transport.send("read", "reading x", call, token=None, reject=reject)
    assert caught.value is special
    transport.close()


def test_client_per_thread_carries_the_token_it_was_given() -> None:
    transport = Transport(CONFIG, RequestCounter(), credentials=list)
    seen: list[object] = []

    def call(client: hvac.Client) -> dict[str, object]:
        seen.append(client.token)
        return {}

    transport.send("read", "reading x", call, token="one")
    transport.send("read", "reading x", call, token=None)
    assert seen == ["one", None]
    transport.close()


class Retryable(SealopsError):
    retryable = True
    reason = "KubernetesUnavailable"


def _no_jwt(error: BaseException | None) -> Callable[[], str]:
    def source() -> str:
        if error is not None:
            raise error
        return "  \n"

    return source


@pytest.mark.parametrize(
    ("error", "want", "says"),
    [
        (RuntimeError("api down"), LoginFailed, "cannot get a Kubernetes service account token"),
        (Retryable("TokenRequest failed"), Retryable, "TokenRequest failed"),
        (None, LoginFailed, "token for Vault role 'tenant-a' is empty"),
    ],
    ids=["other exceptions become LoginFailed", "sealops errors pass through", "empty JWT"],
)
def test_jwt_source_failures_send_nothing(
    error: BaseException | None, want: type[SealopsError], says: str
) -> None:
    auth = KubernetesAuth(role="tenant-a", jwt_source=_no_jwt(error))
    resolver = HvacResolver(VaultConfig(address="http://vault.test:8200", auth=auth))
    with pytest.raises(want, match=says):
        resolver.read(SecretLocation("secret/app"))
    assert resolver.counter.total == 0
    resolver.close()


@pytest.mark.parametrize("case", CASES[:4], ids=[c.reason for c in CASES[:4]])
def test_an_address_with_a_user_and_password_is_shown_without_them(case: Case) -> None:
    """Messages reach statuses, Events and logs: the address is shown as scheme://host:port."""
    config = VaultConfig(
        address="http://vault-user:pa55w0rd@vault.test:8200", auth=TokenAuth(TOKEN)
    )
    transport = Transport(config, RequestCounter(), credentials=lambda: [TOKEN])

    def call(client: object) -> object:
        raise case.raised

    with pytest.raises(VaultError) as caught:
        transport.send("read", "reading x", call, token=TOKEN)
    message = str(caught.value)
    assert "pa55w0rd" not in message and "vault-user" not in message
    transport.close()
    with pytest.raises(SealopsError) as refused:
        VaultConfig(address="ftp://vault-user:pa55w0rd@vault.test", auth=TokenAuth(TOKEN))
    assert "pa55w0rd" not in str(refused.value)
