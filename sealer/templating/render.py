"""Rendering an object's ``template.data``: one budget for all its keys, one error per failure.

:func:`render_template_data` is the entry point (the CLI's ``seal unseal``, the SealedSecret and
VaultSecret reconcilers). It checks the shape and size of each template, compiles it (cached by
source), renders it under the object's budget and turns any failure into one
:class:`~sealer.errors.TemplateError` naming ``template.data.KEY``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jinja2

from sealer.templating.budget import BOUNDS, Bounds, Budget, render_each
from sealer.templating.errors import describe
from sealer.templating.sandbox import ENV

__all__ = ["VALUES", "render_one", "render_template_data"]

#: The name of the mapping of every value by key, for keys that are no name (``tls.crt``).
VALUES = "values"


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    """A compiled template per source: compiling is nearly all of a render's cost, and every
    reconcile renders the same sources again. A template that does not compile raises and is not
    kept; a kept one holds no value (values are passed at render time), only the user's source.
    """
    return ENV.from_string(source)


def render_one(template: jinja2.Template, context: Mapping[str, object], budget: Budget) -> bytes:
    parts = []
    for chunk in template.generate(context):
        budget.emit(chunk)
        parts.append(chunk)
    # Bytes that are not UTF-8 came in as surrogates (see render_template_data) and go out as
    # the same bytes: a binary value passes through a template unchanged.
    return "".join(parts).encode("utf-8", "surrogateescape")


def render_template_data(
    templates: Mapping[str, str],
    values: Mapping[str, bytes],
    *,
    where: str | None = None,
    bounds: Bounds = BOUNDS,
) -> dict[str, bytes]:
    """Render each template over ``values``: each by its key as a name (``{{ password }}``), and
    all of them in the mapping ``values`` (``{{ values["tls.crt"] }}``, for keys that are no
    name; a value itself named ``values`` wins over the mapping, as it always did).

    Values are decoded as UTF-8; bytes that are not UTF-8 are kept as they are (surrogate
    escapes), so a binary value that a template passes through, or ``b64enc``, is not changed.

    Returns the rendered bytes per key. Raises :class:`TemplateError` naming
    ``template.data.KEY``, the line and the kind of error, and never a value; all keys together
    are rendered under one budget (``bounds``).
    """
    decoded = {key: value.decode("utf-8", "surrogateescape") for key, value in values.items()}
    context: dict[str, object] = {VALUES: dict(decoded), **decoded}
    return render_each(
        templates,
        lambda source, budget: render_one(_compiled(source), context, budget),
        lambda exc, source: describe(exc, source, context),
        where=where,
        bounds=bounds,
    )
