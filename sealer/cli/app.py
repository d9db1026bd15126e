"""The ``seal`` command group: thin click entry points over :mod:`sealer.sealing`.

Each command parses its options, calls the core and prints. Every :class:`SealopsError` becomes one
line ``Error: …`` on stderr and exit code 1 (usage mistakes exit 2, as click does), with nothing on
stdout: output is built fully in memory before anything is printed or written.

``seal [FILE|-]`` with no subcommand seals Secret manifests; :class:`_DefaultGroup` routes it.
Offline commands import neither ``kubernetes`` nor ``hvac`` nor ``kopf``, so they start fast.

This module owns the group and its error conversion; the commands live one group to a module:
:mod:`~sealer.cli.seal` (secret, create, raw), :mod:`~sealer.cli.keyholder` (unseal, reencrypt,
keygen), :mod:`~sealer.cli.cluster` (cert, verify, keys), :mod:`~sealer.cli.repository` (check,
migrate) and :mod:`~sealer.cli.render` (render). A command's module is imported when that
command runs (or a full listing is asked for), so one command pays for no other's imports.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from sealer.errors import SealopsError
from sealer.version import __version__

__all__ = ["COMMANDS", "DEFAULT_COMMAND", "cli"]

#: The command that runs when the first argument names none (``seal FILE``).
DEFAULT_COMMAND = "secret"

#: Every command: its name, then the module and attribute that define it.
COMMANDS: dict[str, tuple[str, str]] = {
    DEFAULT_COMMAND: ("sealer.cli.seal", "seal_manifests"),
    "create": ("sealer.cli.seal", "create"),
    "raw": ("sealer.cli.seal", "raw"),
    "unseal": ("sealer.cli.keyholder", "unseal_cmd"),
    "reencrypt": ("sealer.cli.keyholder", "reencrypt_cmd"),
    "keygen": ("sealer.cli.keyholder", "keygen"),
    "cert": ("sealer.cli.cluster", "cert_cmd"),
    "verify": ("sealer.cli.cluster", "verify_cmd"),
    "keys": ("sealer.cli.cluster", "keys_cmd"),
    "check": ("sealer.cli.repository", "check"),
    "migrate": ("sealer.cli.repository", "migrate"),
    "render": ("sealer.cli.render", "render_cmd"),
}


class _DefaultGroup(click.Group):
    """A group that runs ``secret`` when the first argument is not a subcommand, and imports a
    command's module only when that command is wanted."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise TypeError(f"{module}.{attribute} is not the command {cmd_name!r}")
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Not while completing (resilient parsing): the word being completed is a command's name.
        named = bool(args) and (args[0] in COMMANDS or args[0] in ("--help", "-h", "--version"))
        if not named and not ctx.resilient_parsing:
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
