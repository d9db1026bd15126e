"""What sealops writes reads back as the same strings in YAML 1.1 and YAML 1.2 readers.

Three readers: PyYAML (YAML 1.1, as far as PyYAML goes), PyYAML taught the rest of YAML 1.1's
booleans (``y``, ``n``: Go's yaml.v2, which kubectl, Argo CD and Flux read manifests with), and
ruamel.yaml (YAML 1.2: ``0o17``, ``1e3``, ``-.5`` are numbers there). Each output path is checked
with generated strings and the known troublemakers: ``seal`` (a SealedSecret's metadata),
``seal render`` (a Vault value filled into a ConfigMap and a Secret) and ``seal render --krm`` (a
ResourceList's items). None of them may hold a YAML anchor or alias.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sealer.keys import load_private_keys
from sealer.manifests import PlainSecret, dump_documents, dump_yaml
from sealer.manifests.yamlout import needs_quotes
from sealer.render import RenderOptions, load_stream, render
from sealer.render.pipeline import render_krm
from sealer.sealing import seal_secret
from tests.fakes.vault import FakeVault

DATA = Path(__file__).parents[1] / "data"
NASTY = [
    *[
        "y",
        "Y",
        "n",
        "N",
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "off",
        "Off",
        "OFF",
        "on",
        "ON",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
    ],
    *[
        "~",
        "null",
        "Null",
        "NULL",
        "0x1F",
        "0X1f",
        "1e3",
        "1E-3",
        "012",
        "08",
        ".inf",
        "-.Inf",
        "+.INF",
        ".nan",
        ".NaN",
        "0o17",
        "0b101",
        "+1",
        "-1",
    ],
    *[
        "1_000",
        "1,000",
        "1:20",
        "-1:20:30",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "-.5",
        "+.5",
        ".5",
        "1.",
        "3.14",
    ],
    *[
        ":a",
        "::",
        ":",
        "<<",
        "=",
        "-",
        "--",
        "---",
        "...",
        "?",
        "?a",
        "!a",
        "&a",
        "*a",
        "%a",
        "@a",
        "`a",
        "#",
        "#a",
        "a#b",
        "a:",
        "'a",
        '"a',
        "[a]",
        "{a}",
        "|a",
        ">a",
    ],
    "",
    " ",
    "a ",
    " a",
    "a\nb",
    "a\n",
    "\t",
    "2001-12-14 21:59:43.10 -5",
]


class _GoBool:
    """What a YAML 1.1 reader (Go's yaml.v2) makes of y, n, yes, on, off…: not a string."""


class _Yaml11Loader(yaml.SafeLoader):
    pass


_Yaml11Loader.add_implicit_resolver(
    "tag:yaml.org,2002:gobool",
    re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$"),
    list("yYnNoO"),
)
_Yaml11Loader.add_constructor("tag:yaml.org,2002:gobool", lambda loader, node: _GoBool())


def read_all(text: str) -> dict[str, list[Any]]:
    ruamel = YAML(typ="safe", pure=True)
    return {
        "PyYAML (1.1)": list(yaml.safe_load_all(text)),
        "YAML 1.1 booleans (Go yaml.v2)": list(yaml.load_all(text, Loader=_Yaml11Loader)),
        "ruamel.yaml (1.2)": list(ruamel.load_all(text)),
    }


def assert_reads_back(text: str, expected: list[Any]) -> None:
    assert "&id" not in text and "*id" not in text, "no anchors or aliases"
    for reader, docs in read_all(text).items():
        assert docs == expected, f"{reader} reads something else"


strings = st.text(max_size=40)  # no surrogates: text a manifest can hold


@cache
def recipient() -> Any:
    return load_private_keys((DATA / "key-2048.pem").read_bytes())[0].recipient


@pytest.mark.parametrize("text", NASTY)
def test_the_known_troublemakers_are_quoted_when_they_must_be(text: str) -> None:
    out = dump_yaml([{"k": text}])
    if needs_quotes(text):
        assert out.startswith(("k: '", 'k: "')), out
    assert_reads_back(out, [{"k": text}])


def test_shared_objects_are_written_out_again() -> None:
    shared = {"app": "shop"}
    out = dump_yaml([{"metadata": {"labels": shared}, "spec": {"labels": shared}}])
    assert out.count("app: shop") == 2
    assert_reads_back(out, [{"metadata": {"labels": shared}, "spec": {"labels": shared}}])


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(value=strings, key=strings)
@example(value="y", key="n")
@example(value="0o17", key="1e3")
@example(value="2001-12-14", key="~")
def test_seal_output(value: str, key: str) -> None:
    secret = PlainSecret(
        name="app",
        namespace="shop",
        labels={"tier": value},
        annotations={f"example.com/{key}": value, "note": key},
        data={"pw": b"x"},
    )
    sealed = seal_secret(secret, [recipient()])
    out = dump_documents([sealed], "yaml")
    assert_reads_back(out, [sealed])
    template = read_all(out)["ruamel.yaml (1.2)"][0]["spec"]["template"]["metadata"]
    assert template["labels"]["tier"] == value


@SETTINGS
@given(value=strings)
@example(value="y")
@example(value="n")
@example(value="off")
@example(value="1e3")
@example(value="0o17")
@example(value="012")
@example(value=".inf")
def test_seal_render_output(value: str) -> None:
    """A Vault value filled in (the case that made kubectl store ``y`` as ``true``)."""
    fake = FakeVault()
    fake.mount("secret", kv_version=2)
    fake.put("secret/app", {"v": value})
    stream = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        "data: {v: '<path:secret/data/app#v>'}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
        "stringData: {v: '<path:secret/data/app#v>'}\n"
    )
    objects = render(load_stream(stream.encode(), source="app.yaml"), resolver=lambda: fake)
    out = dump_documents(objects, "yaml")
    docs = read_all(out)["ruamel.yaml (1.2)"]
    assert docs[0]["data"]["v"] == value and docs[1]["stringData"]["v"] == value
    assert_reads_back(out, objects)


@SETTINGS
@given(value=strings.filter(lambda s: "<" not in s), key=strings.filter(lambda s: "<" not in s))
@example(value="y", key="n")
@example(value="0o17", key="1e3")
def test_krm_output(value: str, key: str) -> None:
    item = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "annotations": {"config.kubernetes.io/path": "c.yaml"}},
        "data": {key or "k": value, "other": "y"},
    }
    resource_list = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList"}
    data = dump_yaml([{**resource_list, "items": [item]}]).encode()
    out, error = render_krm(data, RenderOptions(), environ={})
    assert error is None
    assert_reads_back(out, [{**resource_list, "items": [item]}])


# ---------------------------------------------------------------------------------------------
# The input side: plain scalars read as Go's yaml.v2 reads them into untyped values (kubectl,
# Argo CD, Flux), so what passes through is not changed on the way in

#: Plain scalars YAML 1.1 (PyYAML's default) builds as numbers or timestamps, Go as strings.
GO_STRINGS = ["1:20", "12:30", "1:20:30", "190:20:30.15", "-1:30", "2024-01-02",
              "2024-01-02T03:04:05Z", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5"]  # fmt: skip


@pytest.mark.parametrize("plain", GO_STRINGS)
def test_plain_base60_and_timestamps_pass_through_as_strings(plain: str) -> None:
    stream = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    a: {plain}\ndata:\n  v: {plain}\n"
    objects = render(load_stream(stream.encode(), source="app.yaml"), resolver=FakeVault)
    assert objects[0]["data"]["v"] == plain and objects[0]["metadata"]["annotations"]["a"] == plain
    out = dump_documents(objects, "yaml")
    for reader, docs in read_all(out).items():
        assert docs[0]["data"]["v"] == plain, reader
    krm_in = (
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
        f"- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: c}}\n  data:\n    v: {plain}\n"
    )
    krm, error = render_krm(krm_in.encode(), RenderOptions(), environ={})
    assert error is None
    assert read_all(krm)["ruamel.yaml (1.2)"][0]["items"][0]["data"]["v"] == plain


@pytest.mark.parametrize(("plain", "value"), [("12", 12), ("0x1F", 31), ("1.5", 1.5), ("yes", True),
                                              ("~", None), ("-1_000", -1000)])  # fmt: skip
def test_plain_numbers_booleans_and_null_stay_typed(plain: str, value: Any) -> None:
    stream = f"apiVersion: v1\nkind: X\nmetadata: {{name: c}}\nspec: {{v: {plain}}}\n"
    (obj,) = render(load_stream(stream.encode(), source="app.yaml"), resolver=FakeVault)
    assert obj["spec"]["v"] == value
