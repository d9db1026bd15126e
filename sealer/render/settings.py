"""The one place that decides a run's mode, deny-plaintext and connection, and a chart's options.

Two parties set them. The **operator** (whoever runs ``seal render``: the command line, else the
environment ``SEALOPS_MODE``, ``SEALOPS_DENY_PLAINTEXT``, ``SEALOPS_CONNECTION``,
``SEALOPS_CONNECTION_KIND``; in Argo CD, ``plugin.yaml`` and the sidecar's env). An **Argo CD
Application** (whoever can edit one): its plugin env, as ``ARGOCD_ENV_SEALOPS_MODE`` … , and its
plugin parameters, which argocd-cmp-server hands over as JSON in ``ARGOCD_APP_PARAMETERS``
(``[{"name": "mode", "string": "reference"}, {"name": "values-files", "array": […]}]``; the
``PARAM_<NAME>`` copies lose the case of map keys, so the JSON is what is read).

* **mode and deny-plaintext**: the operator's setting is a floor. The Application may tighten it
  (``inline`` → ``reference``, deny-plaintext off → on), by env or parameter; asking for less
  than the floor fails the render with one line naming what asked, never silently.
* **connection, connection-kind**: the operator's value wins; else the Application's env, else
  its parameter.
* **chart**: values files, ``--set`` and ``--include-crds`` from the command line, then the
  Application's parameters ``values-files``, ``set`` (arrays: one file, one expression per
  item, never a string split on spaces) and ``include-crds`` (Helm applies later ones over
  earlier ones). Their paths are checked by :mod:`sealer.render.chart`.

Parameters sealops does not read, a parameter of the wrong type and an invalid value each fail
with one line naming the parameter or variable, never its value. Which other ``ARGOCD_ENV_``
names an Application may set is :func:`sealer.render.config.check_application_env`'s business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sealer.errors import ManifestError
from sealer.reader import read_json
from sealer.render.chart import ChartOptions
from sealer.render.files import shown
from sealer.vault.errors import VaultConfigError

__all__ = ["PARAMETERS", "Decided", "Requested", "decide", "parameters"]

PARAMETERS_ENV = "ARGOCD_APP_PARAMETERS"
_APP = "ARGOCD_ENV_"
#: The plugin parameters sealops reads, and their collection type.
PARAMETERS = {
    "mode": "string",
    "deny-plaintext": "string",
    "connection": "string",
    "connection-kind": "string",
    "include-crds": "string",
    "values-files": "array",
    "set": "array",
}
_MODES = ("inline", "reference")
_KINDS = ("VaultConnection", "ClusterVaultConnection")
_TRUE = frozenset({"true", "1", "yes", "y", "on", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "off", "f"})


@dataclass(frozen=True)
class Requested:
    """What the command line asked for (None, False, empty: not given)."""

    mode: str | None = None
    deny_plaintext: bool = False
    connection: str | None = None
    connection_kind: str | None = None
    chart: ChartOptions = field(default_factory=ChartOptions)


@dataclass(frozen=True)
class Decided:
    mode: str
    deny_plaintext: bool
    connection: str | None
    connection_kind: str
    chart: ChartOptions


def parameters(environ: Mapping[str, str]) -> dict[str, str | tuple[str, ...]]:
    """The Application's plugin parameters sealops reads, from ``ARGOCD_APP_PARAMETERS``."""
    text = environ.get(PARAMETERS_ENV) or ""
    if not text.strip():
        return {}
    try:
        items = read_json(text, source=PARAMETERS_ENV)
    except ManifestError:
        raise VaultConfigError(f"{PARAMETERS_ENV} is not the JSON list Argo CD writes") from None
    if items is None:
        return {}
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in items
    ):
        raise VaultConfigError(f"{PARAMETERS_ENV} is not the JSON list Argo CD writes")
    out: dict[str, str | tuple[str, ...]] = {}
    for item in items:
        name = item["name"]
        kind = PARAMETERS.get(name)
        if kind is None:
            raise VaultConfigError(
                f"the Application's plugin parameter {shown(name)!r} is not one sealops reads "
                f"(it reads: {', '.join(PARAMETERS)})",
            )
        out[name] = _parameter_value(name, kind, item)
    return out


def _parameter_value(name: str, kind: str, item: Mapping[str, Any]) -> str | tuple[str, ...]:
    value = item.get(kind)
    others = [k for k in ("string", "array", "map") if k != kind and k in item]
    if others or value is None:
        raise VaultConfigError(f"the plugin parameter {name!r} must be a {kind}")
    if kind == "string":
        if not isinstance(value, str):
            raise VaultConfigError(f"the plugin parameter {name!r} must be a string")
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VaultConfigError(f"the plugin parameter {name!r} must be an array of strings")
    return tuple(value)


def flag(value: str, what: str) -> bool:
    """A boolean setting as every source spells it (true/false, yes/no, 1/0, on/off, …)."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise VaultConfigError(f"{what} must be true or false")


def _asks(
    environ: Mapping[str, str], params: Mapping[str, Any], env: str, param: str
) -> list[tuple[str, Any]]:
    """(what asked, its value) for the Application's env variable and its parameter, if set."""
    asked = []
    if environ.get(_APP + env):
        asked.append((_APP + env, environ[_APP + env]))
    if params.get(param):
        asked.append((f"the plugin parameter {param!r}", params[param]))
    return asked


def _mode(requested: Requested, environ: Mapping[str, str], params: Mapping[str, Any]) -> str:
    floor, source = requested.mode, "--mode"
    if floor is None:
        floor, source = environ.get("SEALOPS_MODE") or "inline", "SEALOPS_MODE"
    if floor not in _MODES:
        raise VaultConfigError(f"{source} must be inline or reference")
    mode = floor
    for what, value in _asks(environ, params, "SEALOPS_MODE", "mode"):
        if value not in _MODES:
            raise VaultConfigError(f"{what} must be inline or reference")
        if _MODES.index(value) < _MODES.index(floor):
            raise VaultConfigError(
                f"{what} may tighten the plugin's mode {floor}, not loosen it to {value}",
            )
        mode = max(mode, value, key=_MODES.index)
    return mode


def _deny(requested: Requested, environ: Mapping[str, str], params: Mapping[str, Any]) -> bool:
    floor = requested.deny_plaintext or flag(
        environ.get("SEALOPS_DENY_PLAINTEXT") or "false", "SEALOPS_DENY_PLAINTEXT"
    )
    deny = floor
    for what, value in _asks(environ, params, "SEALOPS_DENY_PLAINTEXT", "deny-plaintext"):
        asked = flag(value, what)
        if floor and not asked:
            raise VaultConfigError(f"{what} may not turn off the plugin's deny-plaintext")
        deny = deny or asked
    return deny


def _first(requested: str | None, environ: Mapping[str, str], env: str, param: Any) -> str | None:
    """The operator's value (command line, env), else the Application's env, else its parameter."""
    for value in (requested, environ.get(env), environ.get(_APP + env), param):
        if value:
            return str(value)
    return None


def _chart(requested: ChartOptions, params: Mapping[str, Any]) -> ChartOptions:
    crds = params.get("include-crds")
    include = requested.include_crds or (
        flag(crds, "the plugin parameter 'include-crds'") if crds else False
    )
    return ChartOptions(
        values=(*requested.values, *params.get("values-files", ())),
        set=(*requested.set, *params.get("set", ())),
        include_crds=include,
    )


def decide(requested: Requested, environ: Mapping[str, str]) -> Decided:
    """The run's settings; :class:`VaultConfigError` (one line, no value) when one is refused."""
    params = parameters(environ)
    kinds = {
        "--connection-kind": requested.connection_kind,
        "SEALOPS_CONNECTION_KIND": environ.get("SEALOPS_CONNECTION_KIND"),
        _APP + "SEALOPS_CONNECTION_KIND": environ.get(_APP + "SEALOPS_CONNECTION_KIND"),
        "the plugin parameter 'connection-kind'": params.get("connection-kind"),
    }
    for what, value in kinds.items():
        if value and value not in _KINDS:
            raise VaultConfigError(f"{what} must be VaultConnection or ClusterVaultConnection")
    kind = next((str(v) for v in kinds.values() if v), None)
    return Decided(
        mode=_mode(requested, environ, params),
        deny_plaintext=_deny(requested, environ, params),
        connection=_first(
            requested.connection, environ, "SEALOPS_CONNECTION", params.get("connection")
        ),
        connection_kind=kind or "VaultConnection",
        chart=_chart(requested.chart, params),
    )
