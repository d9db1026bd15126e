"""What one file's scan has found so far, and how findings name things.

Every finding names the file, the line, the object and the field, never a value; a name that
itself looks like a token (a token used as a key) is withheld.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sealer.detectors import find_tokens
from sealer.errors import printable

__all__ = ["FileScan", "Finding", "Span", "shown_name"]


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{printable(self.path, limit=None)}:{self.line}: {self.message}"


def shown_name(text: str) -> str:
    """A name (object, field, file) as printed: withheld when it looks like a token, so a
    token used as a key is not printed either."""
    if find_tokens([text]) or find_tokens([text.replace(".", " ")]):
        return "<name withheld: it looks like a token>"
    return printable(text)


@dataclass
class Span:
    first: int
    last: int
    where: str


@dataclass
class FileScan:
    path: str
    read_relative: Callable[[str], bytes | None]
    textual: bool
    findings: list[Finding] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    # Sealed values, (first line, column, last line, column), 0-based: never scanned as text.
    sealed: list[tuple[int, int, int, int]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    by_line: dict[int, str] | None = None

    def add(self, line: int, message: str, **names: str) -> None:
        """A finding; ``message`` is fixed text with ``{name}`` fields for the names of
        objects, fields and files, each withheld if it looks like a token itself."""
        safe = {key: shown_name(value) for key, value in names.items()}
        self.findings.append(Finding(self.path, line, message.format(**safe)))

    def masked(self, lines: list[str]) -> list[str]:
        """``lines`` with each sealed value blanked, and nothing else: a token elsewhere on the
        same line (one-line JSON) is still found."""
        out = list(lines)
        for first, first_col, last, last_col in self.sealed:
            for number in range(first, min(last, len(out) - 1) + 1):
                line = out[number]
                begin = first_col if number == first else 0
                end = last_col if number == last else len(line)
                out[number] = line[:begin] + " " * (end - begin) + line[end:]
        return out

    def describe(self, line: int, kind: str) -> str:
        """``kind``, and the object and field of the value on ``line`` (the shortest)."""
        if self.by_line is None:
            self.by_line = {}
            for span in sorted(self.spans, key=lambda s: s.first - s.last):
                self.by_line.update(dict.fromkeys(range(span.first, span.last + 1), span.where))
        where = self.by_line.get(line)
        return f"{kind} in {where}" if where and shown_name(where) == where else kind
