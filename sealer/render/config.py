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
``AVP_PATH_VALIDATION``    the paths manifests may name (:mod:`sealer.render.pathcheck`)
``AVP_TYPE``               ``vault`` or unset; any other backend is refused (:func:`check_backend`)
=========================  ====================================================================

**Argo CD's prefix: an allow-list.** Argo CD hands a plugin an Application's
``spec.source.plugin.env`` as ``ARGOCD_ENV_<NAME>`` (its plugin parameters, in
``ARGOCD_APP_PARAMETERS``, are read by :mod:`sealer.render.settings`). Whoever can edit an
Application chooses these, so :func:`check_application_env`
accepts only what is safe for it to choose, and refuses every other ``ARGOCD_ENV_`` name with one
line naming the variable (never its value), before anything is read:

* always: ``SEALOPS_KV_VERSION`` / ``AVP_KV_VERSION``; ``SEALOPS_CONNECTION``,
  ``SEALOPS_CONNECTION_KIND`` (what reference mode writes into the app's own VaultSecrets);
  ``AVP_TYPE=vault``; ``SEALOPS_MODE`` and ``SEALOPS_DENY_PLAINTEXT`` to *tighten* only
  (``reference`` over the sidecar's ``inline``, ``true`` over ``false``, never the reverse:
  decided, with the parameters, in :func:`sealer.render.settings.decide`);
* only when the Application brings its own credentials (its own ``VAULT_TOKEN``, or its own
  ``SEALOPS_ROLE_ID`` *and* ``SEALOPS_SECRET_ID``, and the sidecar sets no auth method that
  overrides them): ``VAULT_ADDR``, ``VAULT_NAMESPACE``, ``SEALOPS_AUTH`` (token or approle),
  ``SEALOPS_AUTH_MOUNT`` and those credentials themselves;
* never: ``SEALOPS_K8S_TOKEN_PATH``, ``SEALOPS_K8S_ROLE``, ``VAULT_CACERT`` (paths in the
  sidecar's filesystem, and Kubernetes auth always presents the sidecar's ServiceAccount), and any
  name not listed here.

While the sidecar's identity is used, an address, namespace, auth method, mount or role chosen
by the Application would hand the sidecar's token, AppRole secret or JWT to a server (or a Vault
namespace's auth method, which forwards the JWT to a Kubernetes API of its admin's choosing) that
the Application picks; a token path would send any file the sidecar can read as the JWT
(``/proc/self/environ`` holds ``VAULT_TOKEN``). Where the sidecar and the Application set the
same allowed name, the sidecar's value wins (the mode and deny-plaintext: the stricter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sealer.render.files import shown
from sealer.render.placeholders import KvVersion
from sealer.vault.auth import AppRoleAuth, Auth, KubernetesAuth, TokenAuth
from sealer.vault.config import VaultConfig
from sealer.vault.errors import VaultConfigError

__all__ = [
    "ARGOCD_PREFIX",
    "DEFAULT_JWT_PATH",
    "check_application_env",
    "check_backend",
    "default_kv_version",
    "vault_config",
]

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
    name: str = ""  # the variable it came from (AVP_AUTH_TYPE for SEALOPS_AUTH, …)


def _settings(environ: Mapping[str, str]) -> dict[str, _Setting]:
    found: dict[str, _Setting] = {}
    for name, aliases in _ALIASES.items():
        for prefix, from_app in (("", False), (ARGOCD_PREFIX, True)):
            alias = next((prefix + a for a in aliases if environ.get(prefix + a)), None)
            if alias is not None:
                found[name] = _Setting(environ[alias], from_app, alias)
                break
    return found


# What an Application may set whatever the credentials (values checked in _app_value_error).
_APP_ALWAYS = frozenset(
    {
        "SEALOPS_KV_VERSION",
        "AVP_KV_VERSION",
        "SEALOPS_MODE",
        "SEALOPS_DENY_PLAINTEXT",
        "SEALOPS_CONNECTION",
        "SEALOPS_CONNECTION_KIND",
        "AVP_TYPE",
    }
)
# What it may set only with its own credentials: then nothing of the sidecar's is sent.
_APP_WITH_OWN_CREDENTIALS = frozenset(
    {
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "VAULT_NAMESPACE",
        "SEALOPS_AUTH",
        "AVP_AUTH_TYPE",
        "SEALOPS_ROLE_ID",
        "AVP_ROLE_ID",
        "SEALOPS_SECRET_ID",
        "AVP_SECRET_ID",
        "SEALOPS_AUTH_MOUNT",
        "AVP_MOUNT_PATH",
    }
)


def _own_credentials(settings: Mapping[str, _Setting]) -> bool:
    """Whether the credentials that would be used are all the Application's own."""
    kind_setting = settings.get("SEALOPS_AUTH")
    kind = _AUTH_NAMES.get(kind_setting.value) if kind_setting else "token"
    if kind == "token":
        token = settings.get("VAULT_TOKEN")
        return token is not None and token.from_app
    if kind == "approle":
        role_id, secret_id = settings.get("SEALOPS_ROLE_ID"), settings.get("SEALOPS_SECRET_ID")
        return (
            role_id is not None
            and secret_id is not None
            and role_id.from_app
            and secret_id.from_app
        )
    return False  # kubernetes: the JWT is always the sidecar's ServiceAccount's


def check_application_env(environ: Mapping[str, str]) -> None:
    """Refuse every ``ARGOCD_ENV_`` setting an Application may not make; see the module doc.

    Raises :class:`VaultConfigError` naming the variables (never a value). Empty values are
    ignored, as everywhere else (they set nothing). Whether its mode, deny-plaintext and
    connection values hold is decided with the operator's in :mod:`sealer.render.settings`.
    """
    names = sorted(
        key[len(ARGOCD_PREFIX) :]
        for key, value in environ.items()
        if key.startswith(ARGOCD_PREFIX) and value != ""
    )
    if not names:
        return
    own = _own_credentials(_settings(environ))
    refused = [
        name
        for name in names
        if name not in _APP_ALWAYS and not (own and name in _APP_WITH_OWN_CREDENTIALS)
    ]
    if refused:
        listed = ", ".join(shown(ARGOCD_PREFIX + name) for name in refused)
        if not own and all(n in _APP_WITH_OWN_CREDENTIALS for n in refused):
            why = (
                "while the plugin's own Vault credentials are used: set it in the plugin's "
                "environment, or give the Application its own VAULT_TOKEN or AppRole"
            )
        else:
            why = (
                "(it may set SEALOPS_KV_VERSION, SEALOPS_MODE, SEALOPS_DENY_PLAINTEXT, "
                "SEALOPS_CONNECTION, SEALOPS_CONNECTION_KIND and AVP_TYPE; VAULT_ADDR, "
                "VAULT_NAMESPACE, SEALOPS_AUTH and SEALOPS_AUTH_MOUNT only with its own token "
                "or AppRole; nothing else)"
            )
        raise VaultConfigError(f"the Application may not set {listed} {why}")
    for name in names:
        problem = _app_value_error(name, environ[ARGOCD_PREFIX + name], environ)
        if problem:
            raise VaultConfigError(f"{ARGOCD_PREFIX}{name} {problem}")


def _app_value_error(name: str, value: str, environ: Mapping[str, str]) -> str | None:
    """Why the Application's ``value`` for ``name`` is refused (the value is never quoted)."""
    if name == "AVP_TYPE" and value != "vault":
        return "must be vault (the only backend sealops reads)"
    return None


def check_backend(environ: Mapping[str, str]) -> None:
    """Refuse, before anything is read, a backend or auth method sealops does not have, in the
    words of the variable that asked for it (argocd-vault-plugin errors on them at start too)."""
    for name in ("AVP_TYPE", ARGOCD_PREFIX + "AVP_TYPE"):
        value = environ.get(name)
        if value and value != "vault":
            raise VaultConfigError(
                f"{name}={shown(value[:40])} is not supported: sealops reads Vault and OpenBao "
                "only (AVP_TYPE=vault, or leave it unset)"
            )
    kind_setting = _settings(environ).get("SEALOPS_AUTH")
    if kind_setting is not None and kind_setting.value not in _AUTH_NAMES:
        raise VaultConfigError(_auth_refusal(kind_setting))


def _auth_refusal(setting: _Setting) -> str:
    value = shown(setting.value[:40])
    if setting.name.removeprefix(ARGOCD_PREFIX) == "AVP_AUTH_TYPE":
        return (
            f"{setting.name}={value} is not supported: sealops logs in to Vault with approle, "
            "k8s or token (github, userpass and the cloud methods are not)"
        )
    return f"{setting.name} must be token, approle or kubernetes, not {value}"


def default_kv_version(environ: Mapping[str, str]) -> KvVersion | None:
    setting = _settings(environ).get("SEALOPS_KV_VERSION")
    if setting is None or setting.value == "auto":
        return None
    if setting.value in ("1", "2"):
        return 1 if setting.value == "1" else 2
    raise VaultConfigError(f"SEALOPS_KV_VERSION must be 1, 2 or auto, not {setting.value!r}")


def vault_config(environ: Mapping[str, str]) -> VaultConfig:
    """The connection the environment describes; :class:`VaultConfigError` names what is missing."""
    check_application_env(environ)
    settings = _settings(environ)
    address = settings.get("VAULT_ADDR")
    if address is None:
        raise VaultConfigError("VAULT_ADDR is not set: say which Vault to read placeholders from")
    auth = _auth(settings)
    cacert = settings.get("VAULT_CACERT")
    namespace = settings.get("VAULT_NAMESPACE")
    return VaultConfig(
        address=address.value,
        auth=auth,
        namespace=namespace.value if namespace else None,
        ca_file=Path(cacert.value) if cacert else None,
    )


def _auth(settings: Mapping[str, _Setting]) -> Auth:
    """The auth method (check_application_env has already vetted what the Application set)."""
    kind_setting = settings.get("SEALOPS_AUTH")
    kind = _AUTH_NAMES.get(kind_setting.value) if kind_setting else "token"
    if kind is None:
        assert kind_setting is not None
        raise VaultConfigError(_auth_refusal(kind_setting))
    mount = settings.get("SEALOPS_AUTH_MOUNT")
    mount_path = mount.value.removeprefix("auth/").strip("/") if mount else None
    if kind == "token":
        token = settings.get("VAULT_TOKEN")
        if token is None:
            raise VaultConfigError("VAULT_TOKEN is not set (or choose SEALOPS_AUTH)")
        return TokenAuth(token.value)
    if kind == "approle":
        role_id, secret_id = settings.get("SEALOPS_ROLE_ID"), settings.get("SEALOPS_SECRET_ID")
        if role_id is None or secret_id is None:
            raise VaultConfigError(
                "SEALOPS_AUTH=approle needs SEALOPS_ROLE_ID and SEALOPS_SECRET_ID"
            )
        return AppRoleAuth(role_id.value, secret_id.value, mount_path or "approle")
    role = settings.get("SEALOPS_K8S_ROLE")
    if role is None:
        raise VaultConfigError("SEALOPS_AUTH=kubernetes needs SEALOPS_K8S_ROLE")
    jwt = settings.get("SEALOPS_K8S_TOKEN_PATH")
    jwt_path = Path(jwt.value) if jwt else Path(DEFAULT_JWT_PATH)
    return KubernetesAuth(role.value, mount_path=mount_path or "kubernetes", jwt_file=jwt_path)
