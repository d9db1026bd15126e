"""The ``seal`` command group: thin click entry points over :mod:`sealer.sealing`.

Each command parses its options, calls the core and prints. Every :class:`SealopsError` becomes one
line ``Error: …`` on stderr and exit code 1 (usage mistakes exit 2, as click does), with nothing on
stdout: output is built fully in memory before anything is printed or written.

``seal [FILE|-]`` with no subcommand seals Secret manifests; :class:`_DefaultGroup` routes it.
Offline commands import neither ``kubernetes`` nor ``hvac`` nor ``kopf``, so they start fast.

This module owns the group and its error conversion; the commands live one group to a module:
:mod:`~sealer.cli.seal` (secret, create, raw), :mod:`~sealer.cli.keyholder` (unseal, reencrypt,
keygen), :mod:`~sealer.cli.cluster` (cert, verify, keys), :mod:`~sealer.cli.repository` (check,
migrate) and :mod:`~sealer.cli.render` (render).
"""

from __future__ import annotations

from typing import Any

import click

from sealer.cli.cluster import cert_cmd, keys_cmd, verify_cmd
from sealer.cli.keyholder import keygen, reencrypt_cmd, unseal_cmd
from sealer.cli.render import render_cmd
from sealer.cli.repository import check, migrate
from sealer.cli.seal import DEFAULT_COMMAND, create, raw, seal_manifests
from sealer.errors import SealopsError
from sealer.version import __version__

__all__ = ["cli"]


class _DefaultGroup(click.Group):
    """A group that runs ``secret`` when the first argument is not a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (
            args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")
        ):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SealopsError as exc:
            raise click.ClickException(" ".join(str(exc).split())) from exc


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seal")
def cli() -> None:
    """Seal Kubernetes Secrets for Git, and manage sealed and referenced secrets.

    \b
    seal [FILE|-] --cert CERT.pem        Secret manifest(s) -> SealedSecret(s)
    seal create NAME --from-literal k=v  a SealedSecret without a plaintext file
    seal render PATH                     fill Vault placeholders (Argo CD, kustomize)
    seal raw / unseal / reencrypt / keygen / check / migrate

    Run `seal COMMAND --help` for each command.
    """


for _command in (
    seal_manifests,
    create,
    raw,
    unseal_cmd,
    reencrypt_cmd,
    cert_cmd,
    verify_cmd,
    keys_cmd,
    keygen,
    check,
    migrate,
    render_cmd,
):
    cli.add_command(_command)
