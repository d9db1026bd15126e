"""Manifests in and out of a command: SealedSecrets read whole, output written at once.

:func:`read_sealed` parses every SealedSecret of its input before any is used; :func:`emit`
writes a command's whole output, to stdout or atomically to a file, only once it is built.
"""

from __future__ import annotations

import sys

from sealer.cli.io import read_input, write_atomic
from sealer.errors import ManifestError
from sealer.manifests import SealedSecretDoc, load_documents, parse_sealed_secret

__all__ = ["emit", "read_sealed"]


def read_sealed(
    file: str | None, *, allow_bitnami: bool = False, default_namespace: str | None = None
) -> tuple[list[SealedSecretDoc], str]:
    """Every SealedSecret in FILE or stdin, all parsed before any is used; none is an error."""
    data, source = read_input(file, what="SealedSecret manifest")
    parsed = [
        parse_sealed_secret(
            doc, source=source, allow_bitnami=allow_bitnami, default_namespace=default_namespace
        )
        for doc in load_documents(data, source=source)
    ]
    if not parsed:
        raise ManifestError("holds no SealedSecret", where=source)
    return parsed, source


def emit(text: str | bytes, write: str | None) -> None:
    data = text.encode() if isinstance(text, str) else text
    if write:
        write_atomic(write, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
