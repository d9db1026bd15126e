"""Go's own rendering of a text/template + Sprig template, through Helm's Go engine.

helm-python-sdk (a dev-only dependency) bundles Helm's Go SDK. Helm renders a chart whose one
template is ``{{ tpl .Values.t .Values.d | b64enc }}``: ``tpl`` runs our template with ``d`` as
dot through Go's text/template and Sprig, and ``b64enc`` carries its bytes out unchanged. Helm's
``tpl`` removes the text ``<no value>`` from what it renders; :func:`comparable` does the same to
our output before comparing.
"""

from __future__ import annotations

import base64
import importlib.util
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "data" / "gotemplate" / "corpus.yaml"
_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: gotemplate-oracle\nversion: 0.1.0\n",
    "templates/out.txt": "{{ tpl .Values.t .Values.d | b64enc }}",
}


def unavailable() -> str | None:
    """Why Helm's engine cannot be used here, or None."""
    if importlib.util.find_spec("helm_python") is None:
        return "helm-python-sdk is not installed (pip install -e '.[dev]')"
    return None


def comparable(ours: bytes) -> bytes:
    """Our output as Helm's ``tpl`` would return it."""
    return ours.replace(b"<no value>", b"")


class Oracle:
    def __init__(self, chart: Any) -> None:
        self._chart = chart

    def render(self, template: str, data: Mapping[str, str]) -> bytes | None:
        """Go's output, or None when Go fails to render the template."""
        import helm_python

        try:
            out = self._chart.render({"t": template, "d": dict(data)})
        except (helm_python.HelmError, UnicodeDecodeError):  # the SDK may cut an error message
            return None
        return base64.b64decode(out["gotemplate-oracle/templates/out.txt"])


@contextmanager
def helm_oracle() -> Iterator[Oracle]:
    import helm_python

    with tempfile.TemporaryDirectory() as tmp:
        for name, text in _CHART.items():
            path = Path(tmp, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        with helm_python.Chart.load(tmp) as chart:
            yield Oracle(chart)
