"""Templates reach every value, whatever its key, and pass binary values through unchanged.

A Secret key may hold ``.`` and ``-`` (``tls.crt``), which no template name can: the mapping
``values`` holds every value by key. A value that is not UTF-8 (a keystore, a DER certificate)
comes out of a template byte for byte, through ``b64enc`` too, and ``b64dec`` may give bytes.
"""

from __future__ import annotations

import base64

import pytest

from sealer.errors import TemplateError
from sealer.templating import render_template_data

BINARY = bytes(range(256))
VALUES = {"tls.crt": b"CERT", "tls-key": b"KEY", "password": b"pw", "store.jks": BINARY}


@pytest.mark.parametrize(
    ("template", "expected", "why"),
    [
        ('{{ values["tls.crt"] }}', b"CERT", "a key with a dot"),
        ('{{ values["tls-key"] }}', b"KEY", "a key with a dash"),
        ("{{ values.password }}:{{ password }}", b"pw:pw", "names and the mapping agree"),
        ('{{ values["store.jks"] }}', BINARY, "binary bytes pass through unchanged"),
        ('{{ values["store.jks"] | b64enc }}', base64.b64encode(BINARY), "b64enc of the bytes"),
        ("{{ '" + base64.b64encode(BINARY).decode() + "' | b64dec }}", BINARY, "b64dec to bytes"),
        ("{{ values | length }}", b"4", "the mapping holds every value"),
    ],
    ids=["dot", "dash", "both-ways", "binary", "b64enc-binary", "b64dec-binary", "all"],
)
def test_templates_reach_every_value(template: str, expected: bytes, why: str) -> None:
    assert render_template_data({"out": template}, VALUES) == {"out": expected}, why


def test_a_value_named_values_wins_over_the_mapping() -> None:
    """Templates written before the mapping existed keep their meaning."""
    assert render_template_data({"out": "{{ values }}"}, {"values": b"mine"}) == {"out": b"mine"}


def test_a_missing_key_in_the_mapping_is_one_line_without_a_value() -> None:
    with pytest.raises(TemplateError) as caught:
        render_template_data(
            {"out": '{{ values["tls.key"] ~ "x" }}'}, VALUES, where="SealedSecret a/b"
        )
    message = str(caught.value)
    assert message.startswith("SealedSecret a/b: template.data.out: line 1: ")
    assert "\n" not in message
    assert not any(v.decode("latin-1") in message for v in (b"CERT", b"KEY", b"pw"))


@pytest.mark.parametrize(
    "template",
    [
        'x {{ values["tls.crt"] }} {{ password }}',
        "{{ values['tls-key'] }}\n",
        '{{values["store.jks"]}}',
    ],
    ids=["dot-and-name", "single-quotes", "binary"],
)
def test_seal_migrate_to_bitnami_translates_the_mapping_to_go_index(template: str) -> None:
    """The way back: ``values["k"]`` becomes ``index . "k"``, rendering the same bytes in Go."""
    from sealer.gotemplate import render_go_template_data
    from sealer.sealing.bitnami import go_template

    translated = go_template(template, sorted(VALUES))
    assert translated is not None and "index ." in translated
    ours = render_template_data({"out": template}, VALUES)
    assert render_go_template_data({"out": translated}, VALUES) == ours
