"""Sandboxed Jinja2 rendering for ``spec.template.data`` (SealedSecret and VaultSecret).

Templates see the decrypted (or resolved) values as strings, and may combine them; nothing else.
The sandbox forbids attribute tricks, and ``StrictUndefined`` turns a reference to a key that does
not exist into an error naming the template key, instead of an empty value. Error messages name
the template key and Jinja's reason, never a value.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sealer.errors import TemplateError

__all__ = ["render_template_data"]


def _b64enc(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode("ascii")


def _b64dec(value: str) -> str:
    return base64.b64decode(value).decode()


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters["b64enc"] = _b64enc
    env.filters["b64dec"] = _b64dec
    return env


_ENV = _environment()


def render_template_data(
    templates: Mapping[str, str], values: Mapping[str, bytes], *, where: str | None = None
) -> dict[str, bytes]:
    """Render each template over ``values`` (decoded as UTF-8, undecodable bytes replaced).

    Returns the rendered bytes per key. Raises :class:`TemplateError` naming ``template.data.KEY``.
    """
    context = {key: value.decode("utf-8", "replace") for key, value in values.items()}
    rendered: dict[str, bytes] = {}
    for key, source in templates.items():
        field = f"template.data.{key}"
        if not isinstance(source, str):
            raise TemplateError("must be a string", where=where, field=field)
        try:
            rendered[key] = _ENV.from_string(source).render(context).encode()
        except jinja2.TemplateError as exc:
            # Jinja's messages name template variables and syntax, not the values rendered.
            message = exc.message or type(exc).__name__
            raise TemplateError(f"cannot render: {message}", where=where, field=field) from None
        except Exception as exc:
            # Other exceptions (TypeError, ...) may quote an operand: name the type only.
            raise TemplateError(
                f"cannot render: {type(exc).__name__} while evaluating", where=where, field=field
            ) from None
    return rendered
