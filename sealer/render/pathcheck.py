r"""``AVP_PATH_VALIDATION``: argocd-vault-plugin's allow-list of the Vault paths manifests may name.

Pure; :func:`path_validation` reads it from the environment (the plugin's own, never an
Application's: ``ARGOCD_ENV_AVP_PATH_VALIDATION`` is refused by
:func:`~sealer.render.config.check_application_env`), :func:`check_paths` applies it to one
object: its ``avp.kubernetes.io/path`` and every ``<path:…>`` / ``<vault:…>`` path, as written,
before anything is read. As in avp the expression may match anywhere in the path (anchor it with
``^…$``), and it is Go's RE2 syntax: what RE2 lacks (lookaround, backreferences, atomic groups,
possessive repeats, conditionals) is refused, so an expression avp refuses is refused here too.
RE2 syntax that Python's ``re`` lacks fails to compile (``\pL``, ``\z``, ``(?U)``), one line,
except POSIX classes (``[[:alpha:]]``), which ``re`` would silently read as a set of characters:
they are refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sealer.render.errors import PlaceholderError
from sealer.render.files import shown
from sealer.render.placeholders import Placeholder
from sealer.vault.errors import VaultConfigError

__all__ = ["ENV_PATH_VALIDATION", "check_paths", "path_validation"]

ENV_PATH_VALIDATION = "AVP_PATH_VALIDATION"

# Perl syntax that Python's re has and Go's RE2 has not.
_NOT_RE2 = (
    (re.compile(r"\(\?<?[=!]"), "lookaround (?= (?! (?<= (?<! is not RE2 syntax"),
    (re.compile(r"\(\?P=|(?<!\\)\\[1-9]"), "backreferences are not RE2 syntax"),
    (re.compile(r"\(\?[>(#]"), "atomic groups, conditionals and comments are not RE2 syntax"),
    (re.compile(r"(?<!\\)[*+?}]\+"), "possessive repeats are not RE2 syntax"),
    # RE2 syntax Python's re would read differently without an error (a set of characters):
    (re.compile(r"\[:\^?[a-z]+:\]"), "POSIX classes such as [[:alpha:]] are not supported here"),
)


def path_validation(environ: Mapping[str, str]) -> re.Pattern[str] | None:
    """The compiled expression, or None when unset; one-line :class:`VaultConfigError` if bad."""
    text = environ.get(ENV_PATH_VALIDATION)
    if not text:
        return None
    where = f"{ENV_PATH_VALIDATION} {shown(repr(text[:200]))}"
    for pattern, why in _NOT_RE2:
        if pattern.search(text):
            raise VaultConfigError(f"{where} is not a valid regular expression: {why}")
    try:
        return re.compile(text)
    except re.error as exc:
        raise VaultConfigError(
            f"{where} is not a valid regular expression: {exc.msg} at position {exc.pos}"
        ) from None


def check_paths(
    pattern: re.Pattern[str],
    annotation: tuple[str, str] | None,
    placeholders: Iterable[tuple[str, Placeholder]],
) -> None:
    """Refuse a path ``pattern`` does not match: the path annotation (field, text), then each
    (field, placeholder); the error names the path (never a value) and the field."""
    if annotation is not None and not pattern.search(annotation[1]):
        raise _disallowed(annotation[1], annotation[0])
    for field, placeholder in placeholders:
        path = _written_path(placeholder)
        if path is not None and not pattern.search(path):
            raise _disallowed(path, field)


def _written_path(placeholder: Placeholder) -> str | None:
    if placeholder.ref is None:
        return None
    head = placeholder.text[1:-1].split("|", 1)[0].strip()
    return head.split(":", 1)[1].split("#", 1)[0].strip()


def _disallowed(path: str, field: str) -> PlaceholderError:
    return PlaceholderError(
        f"the path {shown(repr(path[:200]))} is disallowed by {ENV_PATH_VALIDATION} restriction",
        field=field,
    )
