"""What ``seal --version`` and ``seal --help`` print, without loading click or any command.

:func:`sealer.cli.main` answers these two from here, so they cost an interpreter start and
little more (a user's shell completion, a pre-commit hook's probe). ``HELP`` is click's own
rendering of the group's help at its widest (80 columns or more: click wraps at 78); on a
narrower terminal :func:`sealer.cli.main` lets click render it. ``tests/unit/test_cli_overview.py``
fails, printing click's text, when ``HELP`` and click's rendering differ.
"""

from __future__ import annotations

import os
import sys

from sealer.version import __version__

__all__ = ["HELP", "VERSION", "fast_answer"]

VERSION = f"seal, version {__version__}\n"

#: Click's rendering of ``seal --help`` at 80 columns (see the module's docstring).
HELP = """\
Usage: seal [OPTIONS] COMMAND [ARGS]...

  Seal Kubernetes Secrets for Git, and manage sealed and referenced secrets.

  seal [FILE|-] --cert CERT.pem        Secret manifest(s) -> SealedSecret(s)
  seal create NAME --from-literal k=v  a SealedSecret without a plaintext file
  seal render PATH                     fill Vault placeholders (Argo CD, kustomize)
  seal raw / unseal / reencrypt / keygen / check / migrate

  Run `seal COMMAND --help` for each command.

Options:
  --version   Show the version and exit.
  -h, --help  Show this message and exit.

Commands:
  cert       Fetch the controller's current sealing certificate (public).
  check      Fail on plaintext Secrets, private keys or tokens in files...
  create     Seal values given on the command line or read from files: no...
  keygen     Generate a local key pair: PKCS#1 private key (mode 0600)...
  keys       List the controller's keys and how many SealedSecrets each...
  migrate    Convert Bitnami SealedSecret(s) (bitnami.com/v1alpha1) to...
  raw        Seal one value (stdin or --from-file) and print the bare...
  reencrypt  Re-seal SealedSecrets for the newest key, keeping name,...
  render     Fill Vault placeholders in manifests (a directory,...
  unseal     Recover Secrets from SealedSecrets with the private key(s).
  verify     Check that the controller can unseal a SealedSecret (exit...
"""

#: Below this many columns click wraps the help text differently from ``HELP``.
_HELP_COLUMNS = 80


def _columns() -> int:
    """The terminal's width as click reads it (``shutil.get_terminal_size``: ``COLUMNS`` first,
    then the terminal, else 80), without importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def fast_answer(args: list[str]) -> str | None:
    """The text for ``seal --version`` or ``seal --help``, or None (let click run)."""
    if args == ["--version"]:
        return VERSION
    if args in (["--help"], ["-h"]) and _columns() >= _HELP_COLUMNS:
        return HELP
    return None
