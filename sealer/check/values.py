"""Judging one value in ``seal check``: a Secret value (by :mod:`sealer.plaintext`'s rule, the
one ``seal render --deny-plaintext`` applies) and a sealed value's shape."""

from __future__ import annotations

import yaml

from sealer.check.nodes import NULL, compose
from sealer.envelope import decode_blob
from sealer.errors import EnvelopeError
from sealer.plaintext import plaintext_reason

__all__ = ["flow_entries", "sealed_shape", "unquote", "value_reason"]


def value_reason(
    value: yaml.Node, *, encoded: bool, generic: bool, templates: bool = False
) -> str | None:
    """Why a value node is plaintext (see :func:`sealer.plaintext.plaintext_reason`), or None."""
    if isinstance(value, yaml.ScalarNode):
        if value.tag == NULL:
            return None
        return plaintext_reason(
            str(value.value), generic=generic, encoded=encoded, templates=templates
        )
    return "is not a string, so it cannot be judged"


def sealed_shape(value: str) -> str:
    """``sealed`` when every recipient's blob has the envelope's layout (a 2-byte length of the
    RSA part, that many bytes, then AES-GCM data); else why it is not a sealed value, or
    ``opaque`` for binary data of another layout (no readable plaintext)."""
    if not value.strip():
        return "opaque"
    shapes = set()
    for blob in value.split(","):
        try:
            raw = decode_blob(blob)
        except EnvelopeError:
            return "is not base64, so it is not a sealed value"
        wrapped = int.from_bytes(raw[:2], "big")
        if wrapped >= 128 and len(raw) >= 2 + wrapped + 16:
            shapes.add("sealed")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            shapes.add("opaque")
            continue
        if text.isprintable() or all(c.isprintable() or c.isspace() for c in text):
            return "is base64 of readable text, not a sealed value"
        shapes.add("opaque")
    return "sealed" if shapes == {"sealed"} else "opaque"


def flow_entries(text: str) -> list[tuple[str, str]]:
    """``{k: v, …}`` on one line, when it parses on its own."""
    nodes, problem = compose(text.split(" #", 1)[0])
    if problem is not None or len(nodes) != 1 or not isinstance(nodes[0], yaml.MappingNode):
        return []
    return [
        (str(k.value), str(v.value))
        for k, v in nodes[0].value
        if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode) and v.tag != NULL
    ]


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text
