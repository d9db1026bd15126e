"""What a placeholder is, and when a Secret value is plaintext: one rule for two guards.

``seal check`` (the pre-commit hook) and ``seal render --deny-plaintext`` (what Argo CD runs)
both judge each ``data``/``stringData`` value of a ``v1 Secret`` with :func:`plaintext_reason`,
so a repository the hook passes does not fail in Argo CD, and the hook refuses nothing the
renderer accepts. :mod:`sealer.render.placeholders` finds placeholders with the same patterns.

A placeholder is argocd-vault-plugin's ``<path:…>`` or our ``<vault:…>``, and, only where the
object carries ``avp.kubernetes.io/path`` (``generic``), any other ``<…>`` (``<password>``,
``<user | base64encode>``): that annotation is what the renderer fills it from. Without it,
``<password>`` is left as it is, so the cluster would get the text ``<password>``: a literal.
Template expressions (``{{ }}``, ``{% %}``) count as references only where a template engine
fills them (``templates``): a SealedSecret's or VaultSecret's ``template.data``, a Helm chart's
``templates/``; in a Secret the renderer passes them on as text.

The rule for a value:

- Empty or blank is fine, and so is a value of PEM certificates or public keys only (public).
- A value with no placeholder is a literal.
- With placeholders, the literal text around them is structure (a URL, a DSN, ``Bearer ``,
  ``prefix-``), except a letter or digit touching a placeholder (``<vault:…>hunter2``: part of
  the same token), a credential-named key given literal text (``user=<vault:…>&password=x``,
  ``"dbPassword": "x"``; not when its value is an object or a list), and a URL's userinfo
  password given as literal text.
- In ``data``, the value is judged as the text it is the base64 of (a raw placeholder, which
  the renderer base64-encodes, as it is); a value that is not base64 of UTF-8 text is judged
  as written, so it is a literal unless blank.
- A value that is not a string (a number, a list) is refused; null is empty.
"""

from __future__ import annotations

import re

from sealer.secretdata import text_of

__all__ = [
    "ANY_PLACEHOLDER",
    "INLINE_PLACEHOLDER",
    "fills_generic",
    "has_placeholder",
    "is_secret",
    "plaintext_reason",
]

#: ``<path:…>`` and ``<vault:…>``: placeholders anywhere. Group 1 is the inside.
INLINE_PLACEHOLDER = re.compile(r"<((?:path|vault):[^<>\n]*)>")
#: Any ``<…>`` on one line: a placeholder where ``avp.kubernetes.io/path`` is set.
ANY_PLACEHOLDER = re.compile(r"<([^<>\n]+)>")

_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_MARK = "\0"
# Literal text joined to a placeholder by a letter or digit: part of the same token.
_GLUED = re.compile(rf"[A-Za-z0-9]{_MARK}|{_MARK}[A-Za-z0-9]")
# A credential-named key assigned literal text: `password=x`, `"token": "x"`, `secret: x`.
_CREDENTIAL = re.compile(
    r"(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z]))"  # the key's start, or a camelCase word's
    r"(?i:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|private[_-]?key|credentials?|auth)"
    r"[\"']?\s*[=:]\s*[\"']?"
    rf"(?![{_MARK}\"'\s,;&{{}}\[\]$]|$)"  # then literal text, not a placeholder or a nesting
)
# Certificates and public keys only: public, so not plaintext to protect.
_PUBLIC_PEM = re.compile(
    r"(?:\s*-----BEGIN (CERTIFICATE|PUBLIC KEY)-----[A-Za-z0-9+/=\s]+-----END \1-----)+\s*"
)
# A URL whose userinfo password is literal text (scheme, `://`, user, `:`, the literal, `@`).
_URL_PASSWORD = re.compile(rf"://[^\s/@]*:(?![{_MARK}$])[^\s/@{_MARK}]+@")


def is_secret(api_version: object, kind: object) -> bool:
    """A ``v1 Secret`` (no apiVersion counts as v1): the objects whose values are judged."""
    return kind == "Secret" and api_version in (None, "v1")


def fills_generic(path_annotation: object) -> bool:
    """Whether an ``avp.kubernetes.io/path`` annotation's value makes ``<key>`` a placeholder."""
    return isinstance(path_annotation, str) and bool(path_annotation.strip())


def has_placeholder(text: str, *, generic: bool) -> bool:
    """Whether ``text`` holds a placeholder; ``generic``: the object has the avp path."""
    return (ANY_PLACEHOLDER if generic else INLINE_PLACEHOLDER).search(text) is not None


def plaintext_reason(
    value: object, *, generic: bool, encoded: bool = False, templates: bool = False
) -> str | None:
    """Why a Secret value is plaintext (a fixed phrase, never the value), or None if it is not.

    ``generic``: the object carries ``avp.kubernetes.io/path``. ``encoded``: a ``data`` value
    (base64). ``templates``: ``{{ }}`` and ``{% %}`` are references (template data).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        return "is not a string, so it cannot be judged"
    text = value
    if encoded:
        decoded = text_of(value)
        text = value if decoded is None else decoded
    if not text.strip() or _PUBLIC_PEM.fullmatch(text):
        return None
    masked = (ANY_PLACEHOLDER if generic else INLINE_PLACEHOLDER).sub(_MARK, text)
    if templates:
        masked = _TEMPLATE.sub(_MARK, masked)
    if _MARK not in masked:
        if ANY_PLACEHOLDER.fullmatch(text.strip()):
            return "holds a generic placeholder but no avp.kubernetes.io/path to fill it from"
        return "holds a literal value"
    if _GLUED.search(masked):
        return "holds literal text joined to a placeholder"
    if _CREDENTIAL.search(masked) or _URL_PASSWORD.search(masked):
        return "holds a literal credential beside a placeholder"
    return None
