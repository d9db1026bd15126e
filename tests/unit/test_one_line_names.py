"""A user's name in an error line can neither split the line, forge another, nor fill a screen.

Names and namespaces of objects come from the user's manifest (or a request body) unchecked when
an error is about that very object. Each is shown through :func:`sealer.errors.printable`:
controls and invisible characters escaped, and the text cut. The same function serves
``object_ref``, the refs of parsed Secrets and SealedSecrets, ``seal check``'s findings and the
renderer's paths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sealer.check import scan
from sealer.cli.app import cli
from sealer.errors import SHOWN, ManifestError, printable
from sealer.manifests import PlainSecret, object_ref, parse_sealed_secret, parse_secret
from sealer.render.files import shown

NASTY = [
    pytest.param("db\nError: forged line", "\\n", id="newline: a second, forged line"),
    pytest.param("db\rError: overwrite", "\\r", id="CR: overwrites the line on a terminal"),
    pytest.param("db\x1b[2K\x1b[1A", "\\x1b", id="ESC: terminal control sequences"),
    pytest.param("db\u202egpj.exe", "\\u202e", id="RTL override: reorders what is shown"),
    pytest.param("db\u2028Error: x", "\\u2028", id="line separator: splitlines() splits it"),
    pytest.param("db\x85Error: x", "\\x85", id="NEL: a C1 line break"),
    pytest.param("db\x00tail", "\\x00", id="NUL: cuts C strings"),
    pytest.param("db\u200bx", "\\u200b", id="zero-width space: invisible"),
]
HUGE = "n" * 10 * 1024


def _one_line(text: str) -> None:
    assert len(text.splitlines()) <= 1, text
    assert all(c.isprintable() for c in text), ascii(text)


@pytest.mark.parametrize(("name", "escape"), NASTY)
def test_printable_escapes_what_could_split_or_forge_a_line(name: str, escape: str) -> None:
    text = printable(name)
    _one_line(text)
    assert escape in text
    assert text.startswith("db")


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        pytest.param(HUGE, SHOWN, id="10 KB name: cut at the default"),
        pytest.param("\x1b" * 10_000, SHOWN, id="10,000 ESCs: the escapes are cut too"),
        pytest.param("\U0010ffff" * 100, 10, id="wide escapes: never past the limit"),
    ],
)
def test_printable_is_bounded(text: str, limit: int) -> None:
    shown_text = printable(text, limit)
    assert len(shown_text) <= limit + 1
    assert shown_text.endswith("…")
    _one_line(shown_text)


def test_printable_keeps_ordinary_text_as_it_is() -> None:
    for text in ("db-credentials", "shop", "名前", "a b", "x" * SHOWN):
        assert printable(text) == text
    assert printable(HUGE, None) == HUGE


def _secret(name: str, namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"password": "not base64!"},
    }


def _sealed(name: str, namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "sealops.dev/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": "a string",
    }


CASES = [*NASTY, pytest.param(HUGE, "…", id="10 KB name")]


@pytest.mark.parametrize(("name", "escape"), CASES)
@pytest.mark.parametrize("where", ["name", "namespace"])
def test_object_ref_and_parse_errors_stay_on_one_line(name: str, escape: str, where: str) -> None:
    args = (name, "shop") if where == "name" else ("db", name)
    ref = object_ref(_secret(*args))
    _one_line(ref)
    assert escape in ref and len(ref) < 2 * SHOWN + 20
    for parse, doc in ((parse_secret, _secret(*args)), (parse_sealed_secret, _sealed(*args))):
        with pytest.raises(ManifestError) as error:
            parse(doc, source="in.yaml")
        _one_line(str(error.value))
        assert escape in str(error.value) and len(str(error.value)) < 400
    plain = PlainSecret(name=args[0], namespace=args[1])
    _one_line(plain.ref)


@pytest.mark.parametrize(("name", "escape"), CASES)
def test_seal_error_line_stays_one_line(name: str, escape: str, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_bytes(b"unused: the manifest is refused first")
    result = CliRunner().invoke(cli, ["--cert", str(cert)], input=json.dumps(_secret(name)))
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ")
    _one_line(line)
    assert escape in line and len(line) < 400


@pytest.mark.parametrize(("name", "escape"), CASES)
def test_seal_check_findings_stay_one_line(name: str, escape: str) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "shop"},
        "stringData": {"password": "hunter2-plaintext"},
    }
    findings = scan("secret.json", json.dumps(doc).encode())
    assert findings
    for finding in findings:
        _one_line(str(finding))
        assert len(str(finding)) < 400


def test_the_renderers_paths_use_the_same_function() -> None:
    path = Path("dir") / "a\nb\u202e.yaml"
    assert shown(path) == printable(str(path), None)
    _one_line(shown(path))
