"""The ``seal`` command-line interface. ``main`` is the console-script entry point.

``seal --version`` and ``seal --help`` are answered from :mod:`sealer.cli.overview` without
importing click or any command; everything else goes to the click group in
:mod:`sealer.cli.app`, which this package loads only when it is needed.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sealer.cli.app import cli


def main() -> None:
    from sealer.cli.overview import fast_answer

    answer = fast_answer(sys.argv[1:])
    if answer is not None:
        sys.stdout.write(answer)
        return
    from sealer.cli.app import cli

    cli(prog_name="seal")


def __getattr__(name: str) -> Any:
    if name == "cli":
        from sealer.cli.app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["cli", "main"]
