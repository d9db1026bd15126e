"""The sealops exception tree, shared by the CLI, the renderer and the controller.

Every error a user can cause is a :class:`SealopsError`. Each carries enough context to name the
object and the field in one line (``str(err)``), and never a secret value. Entry points convert
them once per output channel: the CLI into ``Error: …`` and a non-zero exit, the controller into a
``Ready`` condition, an Event and a kopf retry policy (``retryable``).

    SealopsError
    ├── EnvelopeError          a blob is malformed (bad base64, truncated, wrong shape)
    │   └── DecryptError       a well-formed blob does not open with this key and label
    ├── KeyMaterialError       a key or certificate cannot be loaded or used
    │   └── CertificateExpired
    ├── ManifestError          a manifest is malformed or of the wrong kind
    │   └── ScopeError         scope, namespace or name rules are violated
    ├── TemplateError          a SealedSecret template does not render
    └── InputError             a file or stream cannot be read or written
"""

from __future__ import annotations

from sealer.reasons import Reason

__all__ = [
    "CertificateExpired",
    "DecryptError",
    "EnvelopeError",
    "InputError",
    "KeyMaterialError",
    "ManifestError",
    "ScopeError",
    "SealopsError",
    "TemplateError",
    "printable",
]

#: Characters of user text (a name, a path) shown in one error line, by default.
SHOWN = 100


def printable(text: str, limit: int | None = SHOWN) -> str:
    """User text for one line of a message: it can neither split the line nor forge one.

    Every character Python does not count as printable (line breaks, carriage returns, ESC and
    other controls, bidirectional overrides and other format characters, unassigned code
    points) is written as its escape (``\\n``, ``\\x1b``, ``\\u202e``); the result is cut
    after ``limit`` characters (None: never), ending in ``…``.
    """
    if text.isprintable() and (limit is None or len(text) <= limit):
        return text
    out: list[str] = []
    size = 0
    for char in text:
        shown = char if char.isprintable() else repr(char)[1:-1]
        if limit is not None and size + len(shown) > limit:
            out.append("…")
            break
        out.append(shown)
        size += len(shown)
    return "".join(out)


class SealopsError(Exception):
    """Base of every error sealops raises on purpose.

    ``where`` names the object (``Secret ns/name``, a file path); ``field`` names the field
    (``data.password``). Both are optional and prefixed to the message.
    """

    #: Whether trying again later can succeed without anyone changing the input.
    retryable: bool = False
    #: Machine-readable reason, used for status conditions and metrics labels.
    reason: str = "Error"

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None):
        self.message = message
        self.where = where
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        prefix = ""
        if self.where and self.field:
            prefix = f"{self.where}: {self.field}: "
        elif self.where:
            prefix = f"{self.where}: "
        elif self.field:
            prefix = f"{self.field}: "
        return prefix + self.message

    def located(self, *, where: str | None = None, field: str | None = None) -> SealopsError:
        """Return a copy of this error with ``where``/``field`` filled in where still empty."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.where = self.where or where
        clone.field = self.field or field
        Exception.__init__(clone, clone._render())
        clone.__cause__ = self.__cause__
        return clone


class EnvelopeError(SealopsError):
    reason: str = Reason.DECRYPT_FAILED


class DecryptError(EnvelopeError):
    reason: str = Reason.DECRYPT_FAILED


class KeyMaterialError(SealopsError):
    reason = "InvalidKey"


class CertificateExpired(KeyMaterialError):
    reason = "CertificateExpired"


class ManifestError(SealopsError):
    reason: str = Reason.INVALID_SPEC


class ScopeError(ManifestError):
    reason: str = Reason.INVALID_SPEC


class TemplateError(SealopsError):
    reason: str = Reason.INVALID_SPEC


class InputError(SealopsError):
    reason = "InputError"
