"""The ``seal`` command-line interface. ``main`` is the console-script entry point."""

from __future__ import annotations

from sealer.cli.app import cli


def main() -> None:
    cli(prog_name="seal")


__all__ = ["cli", "main"]
