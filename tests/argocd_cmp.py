"""argocd-cmp-server, as far as a plugin sees it: the env it builds, ``discover``, ``generate``.

Written from Argo CD's sources (``cmpserver/plugin/plugin.go``, ``reposerver/repository``'s
``getPluginEnvs`` and ``ApplicationSourcePluginParameters.Environ`` in ``pkg/apis``) and its
Config Management Plugin docs:

* the env of every command is the sidecar's own env, then the request's entries, each
  ``NAME=value`` with an empty value dropped; a later entry wins (Go's ``exec`` keeps the last of
  duplicate keys). The request carries the build env (``ARGOCD_APP_NAME``,
  ``ARGOCD_APP_NAMESPACE``, ``ARGOCD_APP_REVISION``, …, ``KUBE_VERSION``, ``KUBE_API_VERSIONS``),
  the Application's ``spec.source.plugin.env`` as ``ARGOCD_ENV_<name>``, and its parameters as
  ``ARGOCD_APP_PARAMETERS`` (a JSON list) and ``PARAM_<NAME>`` (name upper-cased, anything but
  ``A-Z0-9_`` made ``_``; an array's items ``PARAM_<NAME>_<i>``, a map's ``PARAM_<NAME>_<KEY>``);
* ``discover``: ``fileName`` (a ``filepath.Glob`` in the app directory), else ``find.glob`` (with
  ``**``), else ``find.command`` run in the app directory, which matches when it exits 0 with
  output;
* ``init`` (if any) then ``generate``: ``command[0]`` executed with ``command[1:] + args`` (no
  shell unless the plugin names one), in the app directory, stdout the manifests.
"""

from __future__ import annotations

import glob
import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Application", "discover", "environment", "generate", "run_step"]


@dataclass(frozen=True)
class Application:
    """What of an Argo CD Application reaches its plugin."""

    name: str = "shop"
    namespace: str = "shop"
    env: Mapping[str, str] = field(default_factory=dict)
    #: ``spec.source.plugin.parameters``: ``{"name": …, "string" | "array" | "map": …}``
    parameters: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_manifest(cls, app: Mapping[str, Any]) -> Application:
        plugin = app["spec"]["source"].get("plugin") or {}
        return cls(
            name=app["metadata"]["name"],
            namespace=app["spec"]["destination"]["namespace"],
            env={e["name"]: e["value"] for e in plugin.get("env") or []},
            parameters=tuple(plugin.get("parameters") or ()),
        )

    def entries(self) -> list[tuple[str, str]]:
        """The request's env entries, in the order the repo-server builds them."""
        out = [
            ("ARGOCD_APP_NAME", self.name),
            ("ARGOCD_APP_NAMESPACE", self.namespace),
            ("ARGOCD_APP_REVISION", "0123456789abcdef0123456789abcdef01234567"),
            ("KUBE_VERSION", "1.32.0"),
            ("KUBE_API_VERSIONS", "v1,apps/v1"),
        ]
        out += [(f"ARGOCD_ENV_{k}", v) for k, v in self.env.items()]
        if not self.parameters:
            return out
        out.append(("ARGOCD_APP_PARAMETERS", json.dumps(list(self.parameters))))
        for param in self.parameters:
            base = "PARAM_" + _escaped(param["name"])
            if "string" in param:
                out.append((base, param["string"]))
            for key, value in (param.get("map") or {}).items():
                out.append((f"{base}_{_escaped(key)}", value))
            for index, value in enumerate(param.get("array") or []):
                out.append((f"{base}_{index}", value))
        return out


def _escaped(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


def environment(sidecar: Mapping[str, str], app: Application) -> dict[str, str]:
    """The env every plugin command gets: the sidecar's, then the request's non-empty entries."""
    env = dict(sidecar)
    for name, value in app.entries():
        if name and value:
            env[name] = value
    return env


def run_step(
    step: Mapping[str, Any], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[bytes]:
    command = [*step["command"], *step.get("args", [])]
    return subprocess.run(
        command, cwd=cwd, env=dict(env), capture_output=True, timeout=120, check=False
    )


def discover(spec: Mapping[str, Any], app_dir: Path, env: Mapping[str, str]) -> bool:
    """Whether the plugin's ``discover`` matches the app directory."""
    rules = spec.get("discover") or {}
    if rules.get("fileName"):
        return bool(glob.glob(str(app_dir / rules["fileName"])))
    find = rules.get("find") or {}
    if find.get("glob"):
        return bool(glob.glob(str(app_dir / find["glob"]), recursive=True))
    if find.get("command"):
        done = run_step({"command": find["command"], "args": find.get("args", [])}, app_dir, env)
        return done.returncode == 0 and done.stdout.strip() != b""
    return False


def generate(
    spec: Mapping[str, Any], app_dir: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """``init`` (when the plugin has one) and ``generate``, as argocd-cmp-server runs them."""
    if (spec.get("init") or {}).get("command"):
        done = run_step(spec["init"], app_dir, env)
        if done.returncode != 0:
            return done
    return run_step(spec["generate"], app_dir, env)
