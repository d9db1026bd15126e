"""One `seal render` run, from the input to the text for stdout, for the CLI to print.

:func:`render_text` (a path, a stream, or a kustomize exec plugin's config) and :func:`render_krm`
(a ResourceList). Both build the whole output in memory; on any error nothing is returned but
the error (for ``--krm``, the ResourceList with ``results``), so the CLI prints either every
manifest or none. The Vault resolver is made only if a placeholder must be read, from the
environment (:mod:`sealer.render.config`); hvac is imported only then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sealer.errors import InputError, ManifestError, SealopsError
from sealer.manifests import dump_documents, dump_yaml
from sealer.reader import InputBoundError, read_yaml_document
from sealer.render.config import (
    check_application_env,
    check_backend,
    default_kv_version,
    vault_config,
)
from sealer.render.engine import Mode, RenderOptions, render
from sealer.render.files import inside, read_bounded, shown
from sealer.render.inputs import ChartOptions, Document, load_path, load_stream
from sealer.render.krm import function_options, parse_resource_list, result_list
from sealer.render.pathcheck import path_validation
from sealer.render.reference import ConnectionKind, ConnectionRef
from sealer.render.settings import Requested, decide, flag
from sealer.vault.counter import RequestCounter
from sealer.vault.resolver import Resolver

__all__ = [
    "Requested",
    "load",
    "make_options",
    "plugin_options",
    "render_krm",
    "render_text",
    "run_settings",
]


def make_options(
    *,
    mode: str | None,
    deny_plaintext: bool,
    connection: str | None,
    connection_kind: str | None,
    environ: Mapping[str, str],
) -> RenderOptions:
    """:func:`run_settings` without a chart."""
    options, _ = run_settings(
        Requested(mode, deny_plaintext, connection, connection_kind), environ=environ
    )
    return options


def run_settings(
    requested: Requested, *, environ: Mapping[str, str]
) -> tuple[RenderOptions, ChartOptions]:
    """Options from the command line, the operator's env and what an Argo CD Application adds.

    The Application's ``ARGOCD_ENV_*`` names are vetted first
    (:func:`~sealer.render.config.check_application_env`); then
    :func:`~sealer.render.settings.decide` settles mode, deny-plaintext and connection (the
    operator's setting is a floor the Application may only tighten) and the chart's options.
    """
    check_application_env(environ)
    check_backend(environ)
    decided = decide(requested, environ)
    settings = {
        "mode": decided.mode,
        "denyPlaintext": str(decided.deny_plaintext),
        "connectionKind": decided.connection_kind,
    }
    if decided.connection:
        settings["connection"] = decided.connection
    base = RenderOptions(
        kv_version=default_kv_version(environ), path_validation=path_validation(environ)
    )
    return _with_settings(base, settings), decided.chart


def _resolver_factory(environ: Mapping[str, str], counter: RequestCounter | None) -> Any:
    def make() -> Resolver:
        from sealer.vault.hvac_backend import HvacResolver

        return HvacResolver(vault_config(environ), counter=counter)

    return make


def render_text(
    documents: list[Document],
    options: RenderOptions,
    *,
    environ: Mapping[str, str],
    counter: RequestCounter | None = None,
) -> str:
    objects = render(documents, resolver=_resolver_factory(environ, counter), options=options)
    return dump_documents(objects, "yaml") if objects else ""


def load(
    target: str | None,
    stdin: bytes | None,
    environ: Mapping[str, str],
    chart: ChartOptions | None = None,
) -> list[Document]:
    """The documents to render: never none, and each a Kubernetes object (it has a kind).

    An empty render is an error, not an empty success: Argo CD would prune every resource of
    the application. A document without a kind (a ``values.yaml`` in a directory app) is not a
    manifest; argocd-vault-plugin refuses it too, and it would reach the cluster otherwise.
    ``chart`` options are for a Helm chart only.
    """
    if target in (None, "-"):
        if chart:
            raise InputError("values files, --set and --include-crds apply to a chart only")
        documents = load_stream(stdin or b"", source="stdin")
    else:
        documents = load_path(target, environ=environ, chart=chart)
    where = "stdin" if target in (None, "-") else shown(target)
    if not documents:
        raise InputError(
            "holds no Kubernetes objects (no YAML or JSON manifests, or only empty documents): "
            "refused, as an empty render would let Argo CD prune all of the application",
            where=where,
        )
    for doc in documents:
        kind = doc.obj.get("kind")
        if not isinstance(kind, str) or not kind:
            raise InputError(
                "holds a document that is not a Kubernetes object (it has no kind): refused "
                "(keep values files and other YAML out of the app's directory, or use a "
                "kustomization)",
                where=doc.source,
            )
    return documents


def render_krm(
    data: bytes, options: RenderOptions, *, environ: Mapping[str, str]
) -> tuple[str, SealopsError | None]:
    """The output ResourceList as YAML, and the error if it failed.

    On failure the items are the input's, read again from ``data``: the render fills values into
    the objects it was given, and the items rendered before the failing one must not come back
    with them.
    """
    resource_list, documents = parse_resource_list(data)
    try:
        options = _tightened(options, function_options(resource_list))
        items = render(documents, resolver=_resolver_factory(environ, None), options=options)
        return dump_yaml([result_list(resource_list, items, None)]), None
    except SealopsError as exc:
        untouched, original = parse_resource_list(data)
        failed = result_list(untouched, None, exc, rendered=documents, original=original)
        return dump_yaml([failed]), exc


def krm_refused(data: bytes, error: SealopsError) -> str:
    """The input ResourceList as it came, with ``error`` (the run's settings) in its results."""
    untouched, _ = parse_resource_list(data)
    return dump_yaml([result_list(untouched, None, error)])


def plugin_options(config_path: str, options: RenderOptions) -> tuple[RenderOptions, list[str]]:
    """A kustomize exec plugin's config: options, and its ``files`` (none for a transformer).

    kustomize runs the plugin in the kustomization's directory; each of ``files`` must resolve
    inside it (as kustomize's own load restrictor requires of a kustomization's files), so a
    kustomization cannot make the renderer print ``/proc/self/environ`` or ``../secret.yaml``.
    """
    data = read_bounded(Path(config_path))
    try:
        config = read_yaml_document(data, source=shown(config_path))
    except InputBoundError:
        raise
    except ManifestError:
        raise InputError("cannot read the plugin config", where=shown(config_path)) from None
    if not isinstance(config, dict):
        raise InputError("the plugin config is not an object", where=shown(config_path))
    settings = {
        str(k): str(v)
        for k, v in config.items()
        if k in ("mode", "denyPlaintext", "connection", "connectionKind")
    }
    files = config.get("files") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise InputError("files must be a list of paths", where=shown(config_path))
    root = Path.cwd()
    for file in files:
        if not inside(Path(file), root):
            raise InputError(
                f"files: {shown(file)} is outside the kustomization's directory: refused "
                "(kustomize's load restrictor refuses it too)",
                where=shown(config_path),
            )
    return _tightened(options, settings), files


_MODES: dict[str, Mode] = {"inline": "inline", "reference": "reference"}
_KINDS: dict[str, ConnectionKind] = {
    "VaultConnection": "VaultConnection",
    "ClusterVaultConnection": "ClusterVaultConnection",
}


def _tightened(options: RenderOptions, settings: Mapping[str, str]) -> RenderOptions:
    """A KRM function's or kustomize plugin's config over the run's settings: like an Argo CD
    Application's parameters, it may tighten the mode and deny-plaintext, never loosen them, and
    the run's connection (the operator's) wins over the config's."""
    if options.connection is not None:
        settings = {k: v for k, v in settings.items() if k not in ("connection", "connectionKind")}
    new = _with_settings(options, settings)
    if options.mode == "reference" and new.mode != "reference":
        raise InputError(
            "mode inline would loosen the run's reference mode (SEALOPS_MODE or --mode): a "
            "function or plugin config may only tighten it",
            where="config",
        )
    if options.deny_plaintext and not new.deny_plaintext:
        raise InputError(
            "denyPlaintext false would loosen the run's deny-plaintext (SEALOPS_DENY_PLAINTEXT or "
            "--deny-plaintext): a function or plugin config may only tighten it",
            where="config",
        )
    return new


def _with_settings(options: RenderOptions, settings: Mapping[str, str]) -> RenderOptions:
    mode = _MODES.get(settings.get("mode", options.mode))
    if mode is None:
        raise InputError(
            f"mode must be inline or reference, not {settings['mode']!r}", where="config"
        )
    deny = flag(settings.get("denyPlaintext", str(options.deny_plaintext)), "denyPlaintext")
    connection = options.connection
    if settings.get("connection"):
        kind = _KINDS.get(settings.get("connectionKind", "VaultConnection"))
        if kind is None:
            raise InputError(
                "connectionKind must be VaultConnection or ClusterVaultConnection", where="config"
            )
        connection = ConnectionRef(settings["connection"], kind)
    return replace(options, mode=mode, deny_plaintext=deny, connection=connection)
