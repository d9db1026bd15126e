"""The one YAML writer: every manifest sealops prints or writes goes through :func:`dump_yaml`.

What it writes reads back as the same data in every YAML reader a manifest meets:

* **No anchors or aliases.** PyYAML writes ``&id001`` / ``*id001`` when one object appears twice
  in a document; a tool that edits one of the places (kpt strips its annotations) leaves a
  dangling alias. The dumper never makes one: a shared object is written out again.
* **Strings stay strings** for YAML 1.1 readers (Go's yaml.v2, so kubectl, Argo CD and Flux;
  PyYAML) and YAML 1.2 readers (ruamel.yaml, yaml.v3). PyYAML only quotes what *its* resolver
  would read as another type; Go reads ``y``/``n`` as booleans and YAML 1.2 reads ``0o17`` and
  ``1e3`` as numbers. A string is quoted when it is a word that some schema reads as a boolean
  or null, or when it starts like a number, a timestamp or ``.inf``/``.nan`` (a sign, a digit
  or a dot), or with ``:``, or is a merge/value key (``<<``, ``=``). Quoting more than is needed
  changes nothing a reader sees.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["dump_yaml", "needs_quotes"]

# libyaml when PyYAML has it: a thousand manifests dump in a tenth of the time.
_Base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# YAML 1.1's bool and null words (yaml.org/type/bool.html, null.html), YAML 1.2's, in any case.
_WORDS = frozenset(["y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", "<<", "="])
# A sign, then a digit or a dot: every int, float, timestamp, sexagesimal, .inf and .nan form.
_NUMBERISH = re.compile(r"[-+]?[0-9.]")


def needs_quotes(text: str) -> bool:
    """Whether some YAML reader would take the plain scalar ``text`` as something else."""
    return (
        text == ""
        or text.lower() in _WORDS
        or _NUMBERISH.match(text) is not None
        or text.startswith(":")
    )


class _Dumper(_Base):  # type: ignore[misc, valid-type]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if needs_quotes(data):
        # Single quotes where the emitter allows them; it falls back to double quotes for text
        # that single quotes cannot hold (control characters, say).
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return dumper.represent_str(data)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(docs: list[Any]) -> str:
    """``docs`` as a YAML stream (``---``-separated), keys in their order, lines never folded."""
    return yaml.dump_all(
        docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=2**31 - 1
    )
