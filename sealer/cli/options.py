"""The options commands share: output format and file, certificates, scope, the controller.

Each is a decorator adding click options to a command. :func:`target_from` turns the controller
options a command received into the :class:`~sealer.online.ControllerTarget` it talks to.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from sealer.envelope import Scope
from sealer.online import ControllerTarget

__all__ = [
    "cert_options",
    "controller_options",
    "output_options",
    "scope_option",
    "target_from",
]

F = TypeVar("F", bound=Callable[..., Any])


def output_options(fn: F) -> F:
    fn = click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(["yaml", "json"]),
        default="yaml",
        show_default=True,
        help="Output format.",
    )(fn)
    return click.option(
        "-w",
        "--write",
        "write",
        metavar="FILE",
        help="Write to FILE atomically instead of stdout.",
    )(fn)


def controller_options(fn: F) -> F:
    """Where the controller is: a URL, or a Service reached through the API server's proxy."""
    options = [
        click.option(
            "--controller-url",
            metavar="URL",
            envvar="SEALOPS_CONTROLLER_URL",
            help="Reach the controller directly at URL instead of through the API server.",
        ),
        click.option("--kubeconfig", envvar="KUBECONFIG", metavar="FILE", help="kubeconfig file."),
        click.option("--context", help="kubeconfig context."),
        click.option(
            "--controller-namespace",
            default="sealops-system",
            show_default=True,
            envvar="SEALOPS_CONTROLLER_NAMESPACE",
            help="Namespace of the controller's Service.",
        ),
        click.option(
            "--controller-name",
            default="sealops-controller",
            show_default=True,
            envvar="SEALOPS_CONTROLLER_NAME",
            help="Name of the controller's Service.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def target_from(params: dict[str, Any]) -> ControllerTarget:
    kubeconfig = params.get("kubeconfig")
    if kubeconfig and os.pathsep in kubeconfig:
        kubeconfig = kubeconfig.split(os.pathsep)[0]  # KUBECONFIG may list several files
    return ControllerTarget(
        url=params.get("controller_url"),
        kubeconfig=kubeconfig,
        context=params.get("context"),
        namespace=params.get("controller_namespace") or "sealops-system",
        name=params.get("controller_name") or "sealops-controller",
    )


def cert_options(fn: F) -> F:
    fn = click.option(
        "--cert",
        "certs",
        multiple=True,
        metavar="FILE|URL",
        help="Certificate or public key to seal for; repeat to seal for several clusters. "
        "Default: fetch it from the controller.",
    )(fn)
    return controller_options(fn)


def scope_option(fn: F) -> F:
    return click.option(
        "--scope",
        type=click.Choice([s.value for s in Scope]),
        help="Where the values may be unsealed (default: the Secret's annotation, else strict).",
    )(fn)
