"""The YAML loader :mod:`sealer.reader` reads every manifest with: safe, bounded, Go's types.

Plain scalars resolve as Go's yaml.v2 resolves them into untyped values (kubectl, Argo CD and
Flux read manifests with it): no YAML 1.1 base-60 numbers and no timestamps, so ``1:20`` and
``2024-01-02T03:04:05Z`` stay strings and pass through unchanged. An explicit ``!!int`` or
``!!timestamp`` tag is still honoured, with base-60 numbers bounded before they are built.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import Node

__all__ = ["MAX_BASE60_PARTS", "Base60TooLong", "Loader"]


# libyaml when PyYAML has it: an app of a thousand manifests loads in a tenth of the time.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Parts of a YAML 1.1 base-60 number (``1:30:00`` is 5400). PyYAML builds one multiplying its
#: base by 60 per part, which is quadratic in the parts (300 KB of ``1:1:…`` took 7 s; 4 MiB,
#: hours), and a float's integer base overflows past ~170 parts. A clock time has three.
MAX_BASE60_PARTS = 8


class Base60TooLong(ValueError):
    pass


class Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader, with base-60 numbers bounded before PyYAML builds them."""

    def _base60_checked(self, node: Node) -> None:
        if isinstance(node.value, str) and node.value.count(":") + 1 > MAX_BASE60_PARTS:
            raise Base60TooLong

    def construct_yaml_int(self, node: Node) -> Any:
        self._base60_checked(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: Node) -> Any:
        self._base60_checked(node)
        return super().construct_yaml_float(node)


Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
Loader.add_constructor("tag:yaml.org,2002:float", Loader.construct_yaml_float)

#: YAML 1.1's plain ints and floats without their base-60 forms (``1:20`` is 80 in PyYAML, the
#: string "1:20" in Go's yaml.v2, which kubectl, Argo CD and Flux read manifests with).
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$""", re.X
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


def _go_resolvers() -> dict[Any, list[tuple[str, Any]]]:
    """The safe loader's implicit resolvers as Go's yaml.v2 reads plain scalars into untyped
    values: no base-60 numbers, no timestamps (a plain ``2024-01-02T03:04:05Z`` stays a
    string). What we read passes through as kubectl would have read it."""
    swap = {"tag:yaml.org,2002:int": _INT, "tag:yaml.org,2002:float": _FLOAT}
    out: dict[Any, list[tuple[str, Any]]] = {}
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items():
        kept = [(tag, swap.get(tag, regexp)) for tag, regexp in resolvers
                if tag != "tag:yaml.org,2002:timestamp"]  # fmt: skip
        if kept:
            out[first] = kept
    return out


Loader.yaml_implicit_resolvers = _go_resolvers()
