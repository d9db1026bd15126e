"""``seal render``: fill Vault placeholders, as Argo CD's plugin, kustomize's or on its own.

The command only parses options and picks the input (a path, stdin, a KRM ResourceList, a
kustomize plugin config); :mod:`sealer.render` does the work and is imported only when it runs.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from sealer.bounded import Limit, read_bounded
from sealer.cli.documents import emit
from sealer.errors import SealopsError

__all__ = ["render_cmd"]


def _stdin_stream() -> bytes:
    """The renderer's stdin (a stream or a KRM ResourceList), bounded like every other input."""
    return read_bounded(sys.stdin.buffer, Limit.MANIFEST, what="manifest stream", where="<stdin>")


@click.command("render")
@click.argument("target", required=False, metavar="[PATH|-]")
@click.option(
    "--mode",
    type=click.Choice(["inline", "reference"]),
    default=None,
    help="inline (default, or SEALOPS_MODE): fill values in. reference: Secrets with "
    "placeholders become VaultSecrets.",
)
@click.option("--krm", is_flag=True, help="Read and write a KRM ResourceList (kustomize, kpt).")
@click.option(
    "--deny-plaintext",
    is_flag=True,
    help="Fail on Secrets that hold literal values instead of placeholders "
    "(or SEALOPS_DENY_PLAINTEXT=true).",
)
@click.option(
    "--connection",
    metavar="NAME",
    help="--mode reference: the VaultConnection the VaultSecrets use (or SEALOPS_CONNECTION).",
)
@click.option(
    "--connection-kind",
    type=click.Choice(["VaultConnection", "ClusterVaultConnection"]),
    default=None,
    help="Default VaultConnection (or SEALOPS_CONNECTION_KIND).",
)
@click.option(
    "-f",
    "--values",
    "values_files",
    multiple=True,
    metavar="FILE",
    help="A chart: a values file inside the chart's directory, relative to it (repeatable).",
)
@click.option(
    "--set",
    "set_values",
    multiple=True,
    metavar="KEY=VALUE",
    help="A chart: a Helm --set expression (repeatable).",
)
@click.option("--include-crds", is_flag=True, help="A chart: keep the chart's crds/.")
@click.option(
    "--kustomize-plugin",
    "plugin_config",
    metavar="CONFIG",
    hidden=True,
    help="Run as kustomize's legacy exec plugin with this config file.",
)
def render_cmd(
    target: str | None,
    mode: str | None,
    krm: bool,
    deny_plaintext: bool,
    connection: str | None,
    connection_kind: str | None,
    values_files: tuple[str, ...],
    set_values: tuple[str, ...],
    include_crds: bool,
    plugin_config: str | None,
) -> None:
    """Fill Vault placeholders in manifests (a directory, kustomization, chart, FILE or -).

    Output is all or nothing: on any error stdout stays empty (--krm: the ResourceList comes
    back unchanged, the error in its results) and the exit code is non-zero.
    Vault settings: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT, SEALOPS_AUTH, and
    the same names with Argo CD's ARGOCD_ENV_ prefix (an allow-list: see the README). An Argo CD
    Application's plugin parameters (ARGOCD_APP_PARAMETERS) may tighten the mode and
    deny-plaintext, never loosen them, and add values files, --set and include-crds.
    """
    from sealer.render.inputs import ChartOptions
    from sealer.render.pipeline import (
        Requested,
        load,
        plugin_options,
        render_text,
        run_settings,
    )

    chart = ChartOptions(values_files, set_values, include_crds)
    requested = Requested(mode, deny_plaintext, connection, connection_kind, chart)
    if krm:
        _krm(requested)
        return
    options, chart = run_settings(requested, environ=os.environ)
    if plugin_config is not None:
        options, files = plugin_options(plugin_config, options)
        if files:  # a generator renders its files; a transformer the stream on stdin
            documents = [doc for file in files for doc in load(file, None, os.environ)]
        else:
            documents = load("-", _stdin_stream(), os.environ)
    else:
        stdin = _stdin_stream() if target in (None, "-") else None
        documents = load(target, stdin, os.environ, chart)
    emit(render_text(documents, options, environ=os.environ), None)


def _krm(requested: Any) -> None:
    """A KRM function's run: a ResourceList out whatever happens (the input's items, the error
    in ``results``, also for a settings error), and the error's line on stderr as well, since
    kustomize shows only the exit status."""
    from sealer.render.pipeline import krm_refused, render_krm, run_settings

    data = _stdin_stream()
    error: SealopsError | None
    try:
        options, _ = run_settings(requested, environ=os.environ)
    except SealopsError as exc:
        text, error = krm_refused(data, exc), exc
    else:
        text, error = render_krm(data, options, environ=os.environ)
    emit(text, None)
    if error is not None:
        click.echo(f"Error: {' '.join(str(error).split())}", err=True)
        raise SystemExit(1)
