"""What one object's render may spend, and the meter that counts it.

:class:`Bounds` are the limits (one set per object, all its ``template.data`` keys together);
:class:`Budget` counts steps, characters written and emitted, macro depth, the size of every
value built, and the wall-clock deadline. The render in :mod:`sealer.templating.render` sets the
object's budget in :data:`CURRENT`; every hook of the sandbox, the filters and the generated code
finds it with :func:`current_budget`. Passing a bound raises :class:`OverBudget`, whose message
names the bound and nothing else.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sealer.errors import TemplateError

__all__ = ["BOUNDS", "CURRENT", "Bounds", "Budget", "OverBudget", "current_budget"]


@dataclass(frozen=True)
class Bounds:
    """The budget of one object's templates (all its ``template.data`` keys together)."""

    source_chars: int = 16 * 1024  # one template's source
    output_bytes: int = 1024 * 1024  # every rendered key together (a Secret holds 1 MiB)
    written_chars: int = 4 * 1024 * 1024  # everything written, into {% set %} blocks and macros too
    value_chars: int = 1024 * 1024  # one string, or one list's whole contents, that is built
    built: int = 8 * 1024 * 1024  # characters and items built in all, by every operator and filter
    items: int = 100_000  # one list (or range) an operator, filter or method builds
    steps: int = 100_000  # loop iterations, range items, calls, filters, tests, operators, compares
    int_bits: int = 4096  # any integer built (by *, **, the int filter, ...)
    width: int = 1024  # widths, paddings, batch/slice counts, round precision, tojson indent
    macro_depth: int = 32  # nested macro (and recursive loop) calls
    seconds: float = 1.0  # wall-clock, from the start of the first key


BOUNDS = Bounds()


class OverBudget(Exception):
    """A render passed one of its :class:`Bounds`; the message names the bound, nothing else."""


_CONTAINERS = (list, tuple, dict, set, frozenset)

CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "sealops_template_budget", default=None
)


class Budget:
    """What one object's render has spent so far, checked against its :class:`Bounds`."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds = bounds
        self.deadline = time.monotonic() + bounds.seconds
        self.steps = 0
        self.written = 0
        self.output = 0
        self.depth = 0
        self.built = 0
        # Sizes of the containers seen, by id (the object is kept, so its id is not reused).
        self._sizes: dict[int, tuple[object, int]] = {}

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > self.bounds.steps:
            raise OverBudget(f"more than {self.bounds.steps} steps (loop iterations and calls)")
        if time.monotonic() > self.deadline:
            raise OverBudget(f"took longer than {self.bounds.seconds:g} s")

    def write(self, text: object) -> None:
        if isinstance(text, str):
            self.written += len(text)
            if self.written > self.bounds.written_chars:
                raise OverBudget(f"wrote more than {self.bounds.written_chars} characters")
        self.step()

    def emit(self, chunk: str) -> None:
        self.write(chunk)
        self.output += len(chunk.encode("utf-8", "replace"))
        if self.output > self.bounds.output_bytes:
            raise OverBudget(f"output larger than {self.bounds.output_bytes} bytes")

    def check_length(self, chars: int) -> None:
        if chars > self.bounds.value_chars:
            raise OverBudget(f"a string longer than {self.bounds.value_chars} characters")

    def check_items(self, count: int) -> None:
        if count > self.bounds.items:
            raise OverBudget(f"a list longer than {self.bounds.items} items")

    def check_width(self, width: object) -> None:
        if isinstance(width, str):
            width = len(width)
        if isinstance(width, int) and abs(width) > self.bounds.width:
            raise OverBudget(f"a width or count above {self.bounds.width}")

    def _charge(self, cells: int) -> None:
        self.built += cells
        if self.built > self.bounds.built:
            raise OverBudget(f"built more than {self.bounds.built} characters and items in all")

    def size(self, value: object) -> int:
        """The cells (characters and items) in ``value``, nested containers included.

        Stops counting past the string bound. A container's contents are counted once: a list
        repeating another list counts it as often as it repeats it, which is what ``str()``,
        ``==`` and ``in`` will walk.
        """
        if isinstance(value, str | bytes):
            return len(value) + 1
        if not isinstance(value, _CONTAINERS):
            return 1
        seen = self._sizes.get(id(value))
        if seen is not None and seen[0] is value:
            return seen[1]
        total = 1
        items: Iterable[Any] = (
            (x for pair in value.items() for x in pair) if isinstance(value, dict) else value
        )
        for item in items:
            total += self.size(item)
            if total > self.bounds.value_chars:
                break
        self._sizes[id(value)] = (value, total)
        return total

    def check_value(self, value: object) -> object:
        """``value`` (just built) if it is within the size bounds; its size counts as built."""
        if isinstance(value, int):
            # However it was made (``int`` of a long base-16 or base-32 string needs no ``*``):
            # one ``//`` or ``%`` of two such integers is a single step of seconds.
            if value.bit_length() > self.bounds.int_bits:
                raise OverBudget(f"an integer above {self.bounds.int_bits} bits")
        elif isinstance(value, str | bytes):
            self.check_length(len(value))
            self._charge(len(value))
        elif isinstance(value, _CONTAINERS):
            self.check_items(len(value))
            if self.size(value) > self.bounds.value_chars:
                raise OverBudget(
                    f"a list whose contents pass {self.bounds.value_chars} characters and items"
                )
            self._charge(len(value))
        return value

    def text_size(self, value: object) -> int:
        """An upper bound of ``len(str(value))``, without building it."""
        if isinstance(value, str):
            return len(value)
        if isinstance(value, _CONTAINERS):
            return 10 * self.size(value)  # repr: quotes, separators, escapes (\U0001f600)
        return len(str(value))


def current_budget() -> Budget:
    budget = CURRENT.get()
    if budget is None:  # only render_template_data compiles or renders with this environment
        raise OverBudget("rendered outside a budget")
    return budget


#: Renders one template's source under the object's budget (raises on any failure).
RenderOne = Callable[[str, Budget], bytes]
#: Our one-line message for a failure of a template's source: never the exception's own text.
Describe = Callable[[Exception, str], str]


def render_each(
    templates: object,
    render: RenderOne,
    describe: Describe,
    *,
    where: str | None,
    bounds: Bounds,
) -> dict[str, bytes]:
    """Render each of an object's ``template.data`` (both dialects): shape and size checked,
    one :class:`Budget` for all keys, and each failure one :class:`TemplateError` naming
    ``template.data.KEY``, raised outside the handler so the engine's exception (which may quote
    a value) is neither its cause nor its context."""
    if not isinstance(templates, Mapping):
        raise TemplateError(
            "must be a mapping of key to template", where=where, field="template.data"
        )
    rendered: dict[str, bytes] = {}
    budget = Budget(bounds)
    token = CURRENT.set(budget)
    try:
        for key, source in templates.items():
            field = f"template.data.{key}"
            if not isinstance(source, str):
                raise TemplateError("must be a string", where=where, field=field)
            if len(source) > bounds.source_chars:
                message = f"over budget: a template longer than {bounds.source_chars} characters"
                raise TemplateError(message, where=where, field=field)
            failure: str | None = None
            try:
                rendered[key] = render(source, budget)
            except Exception as exc:  # every failure becomes one line of ours
                failure = describe(exc, source)
                del exc
            if failure is not None:
                raise TemplateError(failure, where=where, field=field)
    finally:
        CURRENT.reset(token)
    return rendered
