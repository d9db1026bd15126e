"""Where `seal render` finds Vault: environment variables, as Vault's own CLI and Argo CD set them.

Pure: :func:`vault_config` takes the environment as a mapping and returns a
:class:`~sealer.vault.VaultConfig`; the CLI passes ``os.environ``.

=========================  ====================================================================
``VAULT_ADDR``             the server (required)
``VAULT_TOKEN``            token auth (the default ``SEALOPS_AUTH`` when it is set)
``VAULT_NAMESPACE``        Vault Enterprise / OpenBao namespace
``VAULT_CACERT``           CA bundle file for https
``SEALOPS_AUTH``           ``token`` | ``approle`` | ``kubernetes``
``SEALOPS_ROLE_ID``,       AppRole credentials (argocd-vault-plugin's ``AVP_ROLE_ID`` /
``SEALOPS_SECRET_ID``      ``AVP_SECRET_ID`` are read too)
``SEALOPS_AUTH_MOUNT``     the auth method's mount (default ``approle`` / ``kubernetes``)
``SEALOPS_K8S_ROLE``       Kubernetes auth role (``AVP_K8S_ROLE``)
``SEALOPS_K8S_TOKEN_PATH`` ServiceAccount JWT file (``AVP_K8S_TOKEN_PATH``; default the
                           projected token)
``SEALOPS_KV_VERSION``     ``1`` | ``2`` | ``auto``: how ``<path:…>`` API paths read when the object
                           has no ``avp.kubernetes.io/kv-version`` (``AVP_KV_VERSION``); default
                           auto (a ``data/`` segment means KV v2)
=========================  ====================================================================

**Argo CD's prefix.** Argo CD hands a plugin an Application's ``spec.source.plugin.env`` as
``ARGOCD_ENV_<NAME>``. Every name above may come that way, and *fills in* what the sidecar's own
environment leaves unset; the sidecar's value wins where both exist. One combination is
refused: an Application may not choose the address (``ARGOCD_ENV_VAULT_ADDR`` or
``ARGOCD_ENV_VAULT_CACERT``) while the credentials are the sidecar's, since that would send the
sidecar's token, AppRole secret or ServiceAccount JWT to a server of the Application's choosing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sealer.render.placeholders import KvVersion
from sealer.vault.config import AppRoleAuth, Auth, KubernetesAuth, TokenAuth, VaultConfig
from sealer.vault.errors import VaultConfigError

__all__ = ["ARGOCD_PREFIX", "DEFAULT_JWT_PATH", "default_kv_version", "vault_config"]

ARGOCD_PREFIX = "ARGOCD_ENV_"
DEFAULT_JWT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"

# Our name first, then argocd-vault-plugin's, so its environment keeps working unchanged.
_ALIASES: dict[str, tuple[str, ...]] = {
    "VAULT_ADDR": ("VAULT_ADDR",),
    "VAULT_TOKEN": ("VAULT_TOKEN",),
    "VAULT_NAMESPACE": ("VAULT_NAMESPACE",),
    "VAULT_CACERT": ("VAULT_CACERT",),
    "SEALOPS_AUTH": ("SEALOPS_AUTH", "AVP_AUTH_TYPE"),
    "SEALOPS_ROLE_ID": ("SEALOPS_ROLE_ID", "AVP_ROLE_ID"),
    "SEALOPS_SECRET_ID": ("SEALOPS_SECRET_ID", "AVP_SECRET_ID"),
    "SEALOPS_AUTH_MOUNT": ("SEALOPS_AUTH_MOUNT", "AVP_K8S_MOUNT_PATH", "AVP_MOUNT_PATH"),
    "SEALOPS_K8S_ROLE": ("SEALOPS_K8S_ROLE", "AVP_K8S_ROLE"),
    "SEALOPS_K8S_TOKEN_PATH": ("SEALOPS_K8S_TOKEN_PATH", "AVP_K8S_TOKEN_PATH"),
    "SEALOPS_KV_VERSION": ("SEALOPS_KV_VERSION", "AVP_KV_VERSION"),
}
_AUTH_NAMES = {
    "token": "token",
    "approle": "approle",
    "kubernetes": "kubernetes",
    "k8s": "kubernetes",
}


@dataclass(frozen=True)
class _Setting:
    value: str
    from_app: bool  # came through ARGOCD_ENV_


def _settings(environ: Mapping[str, str]) -> dict[str, _Setting]:
    found: dict[str, _Setting] = {}
    for name, aliases in _ALIASES.items():
        for prefix, from_app in (("", False), (ARGOCD_PREFIX, True)):
            value = next((environ[prefix + a] for a in aliases if environ.get(prefix + a)), None)
            if value is not None:
                found[name] = _Setting(value, from_app)
                break
    return found


def default_kv_version(environ: Mapping[str, str]) -> KvVersion | None:
    setting = _settings(environ).get("SEALOPS_KV_VERSION")
    if setting is None or setting.value == "auto":
        return None
    if setting.value in ("1", "2"):
        return 1 if setting.value == "1" else 2
    raise VaultConfigError(f"SEALOPS_KV_VERSION must be 1, 2 or auto, not {setting.value!r}")


def vault_config(environ: Mapping[str, str]) -> VaultConfig:
    """The connection the environment describes; :class:`VaultConfigError` names what is missing."""
    settings = _settings(environ)
    address = settings.get("VAULT_ADDR")
    if address is None:
        raise VaultConfigError("VAULT_ADDR is not set: say which Vault to read placeholders from")
    auth, credentials_from_app = _auth(settings)
    chosen_by_app = address.from_app or (
        "VAULT_CACERT" in settings and settings["VAULT_CACERT"].from_app
    )
    if chosen_by_app and not credentials_from_app:
        raise VaultConfigError(
            "the Application sets the Vault address (ARGOCD_ENV_VAULT_ADDR / _VAULT_CACERT) but "
            "the credentials are the plugin's own: set the address in the plugin's environment"
        )
    cacert = settings.get("VAULT_CACERT")
    namespace = settings.get("VAULT_NAMESPACE")
    return VaultConfig(
        address=address.value,
        auth=auth,
        namespace=namespace.value if namespace else None,
        ca_file=Path(cacert.value) if cacert else None,
    )


def _auth(settings: Mapping[str, _Setting]) -> tuple[Auth, bool]:
    """The auth method, and whether its credentials all came from the Application."""
    kind_setting = settings.get("SEALOPS_AUTH")
    kind = _AUTH_NAMES.get(kind_setting.value) if kind_setting else "token"
    if kind is None:
        assert kind_setting is not None
        raise VaultConfigError(
            f"SEALOPS_AUTH must be token, approle or kubernetes, not {kind_setting.value!r}"
        )
    mount = settings.get("SEALOPS_AUTH_MOUNT")
    mount_path = mount.value.removeprefix("auth/").strip("/") if mount else None
    if kind == "token":
        token = settings.get("VAULT_TOKEN")
        if token is None:
            raise VaultConfigError("VAULT_TOKEN is not set (or choose SEALOPS_AUTH)")
        return TokenAuth(token.value), token.from_app
    if kind == "approle":
        role_id, secret_id = settings.get("SEALOPS_ROLE_ID"), settings.get("SEALOPS_SECRET_ID")
        if role_id is None or secret_id is None:
            raise VaultConfigError(
                "SEALOPS_AUTH=approle needs SEALOPS_ROLE_ID and SEALOPS_SECRET_ID"
            )
        auth = AppRoleAuth(role_id.value, secret_id.value, mount_path or "approle")
        return auth, role_id.from_app and secret_id.from_app
    role = settings.get("SEALOPS_K8S_ROLE")
    if role is None:
        raise VaultConfigError("SEALOPS_AUTH=kubernetes needs SEALOPS_K8S_ROLE")
    jwt = settings.get("SEALOPS_K8S_TOKEN_PATH")
    jwt_path = Path(jwt.value) if jwt else Path(DEFAULT_JWT_PATH)
    k8s = KubernetesAuth(role.value, mount_path=mount_path or "kubernetes", jwt_file=jwt_path)
    # The default JWT path is the sidecar's own ServiceAccount: a credential of the plugin.
    return k8s, jwt is not None and jwt.from_app
