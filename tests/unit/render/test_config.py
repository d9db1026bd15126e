"""Vault settings from the environment: Vault's names, ours, avp's, and Argo CD's prefix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sealer.render.config import default_kv_version, vault_config
from sealer.vault import AppRoleAuth, KubernetesAuth, TokenAuth
from sealer.vault.errors import VaultConfigError


@dataclass(frozen=True)
class Case:
    id: str
    reason: str
    env: dict[str, str]
    want: object


OK = [
    Case(
        "token",
        "Vault CLI's own variables",
        {"VAULT_ADDR": "http://v:8200", "VAULT_TOKEN": "t"},
        ("http://v:8200", TokenAuth("t"), None),
    ),
    Case(
        "app-own-token-and-namespace",
        "with its own token an Application may name its Vault namespace",
        {
            "ARGOCD_ENV_VAULT_ADDR": "http://mine",
            "ARGOCD_ENV_VAULT_TOKEN": "own",
            "ARGOCD_ENV_VAULT_NAMESPACE": "team-a",
        },
        ("http://mine", TokenAuth("own"), "team-a"),
    ),
    Case(
        "sidecar-wins",
        "the sidecar's value wins over the Application's, even where the Application may set it",
        {
            "VAULT_ADDR": "http://v",
            "VAULT_NAMESPACE": "ops",
            "ARGOCD_ENV_VAULT_TOKEN": "own",
            "ARGOCD_ENV_VAULT_NAMESPACE": "team-a",
        },
        ("http://v", TokenAuth("own"), "ops"),
    ),
    Case(
        "app-brings-all",
        "an Application may name its own Vault with its own credentials",
        {"ARGOCD_ENV_VAULT_ADDR": "http://mine", "ARGOCD_ENV_VAULT_TOKEN": "own"},
        ("http://mine", TokenAuth("own"), None),
    ),
    Case(
        "approle",
        "SEALOPS_AUTH=approle with our names",
        {
            "VAULT_ADDR": "http://v",
            "SEALOPS_AUTH": "approle",
            "SEALOPS_ROLE_ID": "r",
            "SEALOPS_SECRET_ID": "s",
        },
        ("http://v", AppRoleAuth("r", "s"), None),
    ),
    Case(
        "avp-approle",
        "argocd-vault-plugin's variables keep working",
        {
            "VAULT_ADDR": "http://v",
            "AVP_AUTH_TYPE": "approle",
            "AVP_ROLE_ID": "r",
            "AVP_SECRET_ID": "s",
            "AVP_MOUNT_PATH": "auth/ar",
        },
        ("http://v", AppRoleAuth("r", "s", "ar"), None),
    ),
    Case(
        "kubernetes",
        "kubernetes auth reads the projected token by default",
        {"VAULT_ADDR": "http://v", "SEALOPS_AUTH": "kubernetes", "SEALOPS_K8S_ROLE": "argocd"},
        (
            "http://v",
            KubernetesAuth(
                "argocd", jwt_file=Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
            ),
            None,
        ),
    ),
]


@pytest.mark.parametrize("case", OK, ids=[c.id for c in OK])
def test_config(case: Case) -> None:
    config = vault_config(case.env)
    assert (config.address, config.auth, config.namespace) == case.want, case.reason


BAD = [
    Case("no-address", "nothing to talk to", {"VAULT_TOKEN": "t"}, "VAULT_ADDR is not set"),
    Case("no-token", "token auth needs a token", {"VAULT_ADDR": "http://v"}, "VAULT_TOKEN"),
    Case(
        "app-redirects-credentials",
        "an Application must not send the sidecar's token to a server it names",
        {"ARGOCD_ENV_VAULT_ADDR": "http://evil", "VAULT_TOKEN": "sidecar"},
        "plugin's own",
    ),
    Case(
        "app-redirects-jwt",
        "nor the sidecar's ServiceAccount JWT",
        {
            "ARGOCD_ENV_VAULT_ADDR": "http://evil",
            "SEALOPS_AUTH": "kubernetes",
            "SEALOPS_K8S_ROLE": "r",
        },
        "plugin's own",
    ),
    Case(
        "app-namespace-with-sidecar-token",
        "a Vault namespace is where the sidecar's credentials log in: not the Application's choice",
        {"VAULT_ADDR": "http://v", "VAULT_TOKEN": "sidecar", "ARGOCD_ENV_VAULT_NAMESPACE": "x"},
        "ARGOCD_ENV_VAULT_NAMESPACE",
    ),
    Case(
        "app-token-path-exfiltration",
        "the reported bypass: a token path is a file of the sidecar's, never the Application's",
        {
            "VAULT_TOKEN": "sidecar",
            "ARGOCD_ENV_VAULT_ADDR": "http://evil",
            "ARGOCD_ENV_SEALOPS_AUTH": "kubernetes",
            "ARGOCD_ENV_SEALOPS_K8S_ROLE": "r",
            "ARGOCD_ENV_SEALOPS_K8S_TOKEN_PATH": "/proc/self/environ",
        },
        "ARGOCD_ENV_SEALOPS_K8S_TOKEN_PATH",
    ),
    Case(
        "bad-auth",
        "a typo in the auth method",
        {"VAULT_ADDR": "http://v", "SEALOPS_AUTH": "ldap"},
        "token, approle or kubernetes",
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_config_refused(case: Case) -> None:
    with pytest.raises(VaultConfigError) as caught:
        vault_config(case.env)
    assert str(case.want) in str(caught.value), case.reason
    assert "sidecar" not in str(caught.value)  # the token itself is never quoted


def test_kv_version_default() -> None:
    assert default_kv_version({}) is None
    assert default_kv_version({"AVP_KV_VERSION": "1"}) == 1
    assert default_kv_version({"ARGOCD_ENV_SEALOPS_KV_VERSION": "2"}) == 2
    with pytest.raises(VaultConfigError):
        default_kv_version({"SEALOPS_KV_VERSION": "3"})
