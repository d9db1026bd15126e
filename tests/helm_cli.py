"""A ``helm`` for the tests: the subset of Helm's command line the renderer calls, run by Helm.

helm is not on the project machines, but helm-python-sdk (a dev dependency) carries Helm's Go
SDK. This is the command line over it; the work is Helm's own:

``helm template [flags] [--] NAME CHART``
    Helm's client-only install (``dry_run="client"``, memory storage: what ``helm template``
    runs), so values are coalesced, templates rendered and manifests ordered and printed by Helm.
    Flags: ``--namespace``/``-n``, ``--values``/``-f`` (repeatable), ``--set`` (repeatable),
    ``--include-crds``, each as ``--flag value`` or ``--flag=value``. Values files are parsed by
    Helm (``values_from_yaml``) and merged in order, then each ``--set`` is parsed by Helm's
    strvals and merged over them, as Helm's ``MergeValues`` does. ``--include-crds`` prints the
    chart's ``crds/`` objects (Helm's ``CRDObjects``, subcharts' too) first, in the format
    ``helm template`` uses. Hooks are not printed: a chart with hook templates is refused.
``helm dependency build [--] CHART``
    Helm's ``dependency build`` (``charts/`` from ``Chart.lock``).

Errors are ``Error: …`` on stderr with exit code 1, as helm prints them. :func:`install` puts a
``helm`` running this file into a directory, for a test to put on ``PATH``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["install", "main", "template"]

_HERE = Path(__file__).resolve()


def install(bin_dir: Path) -> Path:
    """Write an executable ``helm`` into ``bin_dir`` that runs this module; returns its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    helm = bin_dir / "helm"
    helm.write_text(
        f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(_HERE)!r}, run_name='__main__')\n"
    )
    helm.chmod(0o755)
    return helm


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's ``mergeMaps``: maps merged key by key, anything else replaced by ``over``'s."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def template(
    chart: str | Path,
    *,
    name: str = "release",
    namespace: str = "default",
    values: dict[str, Any] | None = None,
    include_crds: bool = False,
) -> str:
    """What ``helm template NAME CHART`` prints, for these (already merged) values."""
    import helm_python

    with helm_python.Chart.load(str(chart)) as loaded:
        rendered = loaded.render(values or {}, name=name, namespace=namespace, is_install=True)
        if any("helm.sh/hook" in text for text in rendered.values()):
            raise helm_python.HelmError("the test helm does not print hooks: chart has hooks")
        crds = loaded.crds if include_crds else []
    with helm_python.Config(namespace=namespace, storage_driver="memory") as config:
        release = config.install(
            str(chart), name, values or {}, namespace=namespace, dry_run="client"
        )
    out = [f"---\n# Source: {crd['filename']}\n{crd['data']}\n" for crd in crds]
    out.append(str(release["manifest"]).strip() + "\n")
    return "".join(out)


_VALUED = {"--namespace": "namespace", "-n": "namespace", "--values": "values", "-f": "values"}
_VALUED["--set"] = "set"


def _parse(args: list[str]) -> tuple[dict[str, list[str]], list[str], bool]:
    """(flag values, positional arguments, --include-crds) of ``helm template``'s arguments."""
    flags: dict[str, list[str]] = {"namespace": [], "values": [], "set": []}
    positional: list[str] = []
    include_crds = False
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional += args[i:]
            break
        name, eq, value = arg.partition("=")
        if name in _VALUED:
            if not eq:
                if i >= len(args):
                    raise ValueError(f"flag needs an argument: {name}")
                value, i = args[i], i + 1
            flags[_VALUED[name]].append(value)
        elif arg == "--include-crds":
            include_crds = True
        elif arg.startswith("-"):
            raise ValueError(f"unknown flag: {name}")
        else:
            positional.append(arg)
    return flags, positional, include_crds


def _template_command(args: list[str]) -> str:
    import helm_python

    flags, positional, include_crds = _parse(args)
    if len(positional) != 2:
        raise ValueError("template needs NAME and CHART (this helm takes no generated names)")
    values: dict[str, Any] = {}
    for path in flags["values"]:
        values = merge(values, helm_python.values_from_yaml(Path(path).read_text()))
    for expression in flags["set"]:
        values = merge(values, helm_python.parse_set_string(expression))
    namespace = (flags["namespace"] or ["default"])[-1]
    name, chart = positional
    return template(chart, name=name, namespace=namespace, values=values, include_crds=include_crds)


def main(argv: list[str]) -> int:
    import helm_python

    try:
        if argv[:1] == ["template"]:
            sys.stdout.write(_template_command(argv[1:]))
            return 0
        if argv[:2] in (["dependency", "build"], ["dep", "build"]):
            rest = [a for a in argv[2:] if a != "--"]
            if len(rest) != 1:
                raise ValueError("dependency build needs CHART")
            helm_python.dependency_build(rest[0])
            return 0
        raise ValueError(f"this helm runs only `template` and `dependency build`, not {argv[:2]}")
    except (helm_python.HelmError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        sys.stderr.write(f"Error: {message}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
