"""The one exception inside the Go template engine: a message of ours and the template line.

Messages name the construct (``function "env" is not allowed``, ``index out of range``) and never
a value or a piece of the template's text; :mod:`sealer.gotemplate.render` turns one into a
:class:`~sealer.errors.TemplateError` naming the object and the field.
"""

from __future__ import annotations

__all__ = ["GoTemplateFailure"]


class GoTemplateFailure(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(message)

    def at(self, line: int) -> GoTemplateFailure:
        """This failure, with ``line`` if it has none yet."""
        if self.line is None:
            self.line = line
        return self

    def describe(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message
