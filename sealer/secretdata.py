"""Secret ``data`` values: base64, read as the API server reads them.

The one decoder of ``v1 Secret`` ``data`` for the whole tree: ``seal`` reading a manifest or a
key backup, the renderer, the pre-commit guard and the controller reading Secrets from the API.

The API server decodes with Go's standard encoding: the standard alphabet, padded, with CR and
LF skipped wherever they are (a value wrapped in a YAML block scalar still reads). Anything else
(a space, a URL-safe character, missing or excess padding) is refused. A failure names the key
(``data.<key>``), never the value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from sealer.errors import ManifestError, printable

__all__ = ["SecretDataError", "decode_data", "decode_value", "text_of"]

#: Characters of a key shown in a message; a key is at most 253 characters.
_KEY_SHOWN = 64


class SecretDataError(ManifestError):
    """A ``data`` value that is not base64 (or not a string); names ``data.<key>``."""


def decode_value(value: object, *, key: str, where: str | None = None) -> bytes:
    """The bytes of one ``data`` value; :class:`SecretDataError` naming the key if it is not
    base64. None (an empty value, as YAML writes ``key:``) is empty."""
    if value is None:
        return b""
    field = f"data.{printable(key, limit=_KEY_SHOWN)}"
    if not isinstance(value, str):
        raise SecretDataError("is not a string", where=where, field=field)
    raw = _decode(value)
    if raw is None:
        raise SecretDataError("is not valid base64", where=where, field=field)
    return raw


def decode_data(data: Mapping[str, object] | None, *, where: str | None = None) -> dict[str, bytes]:
    """Every value of a ``data`` map, decoded with :func:`decode_value`."""
    return {str(k): decode_value(v, key=str(k), where=where) for k, v in (data or {}).items()}


def text_of(value: str) -> str | None:
    """The UTF-8 text ``value`` is the base64 of; None when it is not base64 or not UTF-8."""
    raw = _decode(value)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode(value: str) -> bytes | None:
    text = value.replace("\r", "").replace("\n", "")
    try:
        # validate=True refuses characters outside the alphabet, missing and excess padding.
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
