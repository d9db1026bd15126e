"""``seal check``: find secrets that must not be committed.

:func:`scan` is pure code over one file's content; :func:`check_paths` reads the files.

What it reports (file, line, object, field and the detector's type; never the value):

- a ``v1 Secret`` whose ``data``/``stringData`` value is literal text (see :func:`judge` for
  the rule on literal text beside a placeholder);
- a SealedSecret whose ``spec.template.data`` value is literal text (template data is not
  sealed), or whose ``spec.encryptedData`` value is not a sealed value (base64 of readable
  text, or not base64); likewise a VaultSecret's ``spec.target.template.data``;
- a kustomize ``secretGenerator`` with literal ``literals``, or whose ``envs``/``files`` name a
  file of the repository holding literal values;
- tokens and keys anywhere in any file (:mod:`sealer.detectors`: detect-secrets' token formats,
  Vault tokens, PEM private keys), except inside sealed values;
- a YAML file (or a JSON Kubernetes object) that cannot be parsed (fail closed), unless it is
  allowed: then it is checked as text only. A Helm chart's ``templates/`` need no allowance:
  they are parsed with each ``{{ }}`` as a placeholder.

Files are decoded by BOM and NUL pattern (UTF-8, UTF-16, UTF-32), else scanned as bytes.
Documents are split at ``---`` lines and parsed one by one, so a bad document does not hide the
ones after it.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sealer.bounded import InputTooLarge, read_regular_file
from sealer.detectors import decode, find_tokens, split_lines
from sealer.envelope import decode_blob
from sealer.errors import EnvelopeError, InputError, printable

__all__ = ["MAX_FILE_BYTES", "Finding", "check_paths", "is_helm_template", "judge", "scan"]

#: Larger files are not read; they are reported (fail closed) unless allowed.
MAX_FILE_BYTES = 32 * 1024 * 1024

_JSON_OBJECT = re.compile(r'"(?:kind|apiVersion|secretGenerator)"\s*:')
_AVP_PATH = "avp.kubernetes.io/path"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"

# Placeholders: argocd-vault-plugin's <path:…>, our <vault:…>, and Go/Jinja template
# expressions (Helm, SealedSecret templates): each names a value held elsewhere.
_INLINE = re.compile(r"<(?:path|vault):[^<>\n]+>|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
# argocd-vault-plugin's generic <key>: a placeholder where avp.kubernetes.io/path is set.
_GENERIC = re.compile(r"<[A-Za-z0-9_.\-]+(?:\s*\|[^<>\n]*)?>")
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

_KIND_SECRET = re.compile(r"""^\s*kind:\s*["']?Secret["']?\s*(?:#.*)?$""")
_SECTION = re.compile(r"^(\s*)(stringData|data):\s*(.*?)\s*$")
_ENTRY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[^\s:#"'{}][^:#]*?):(?:\s+(.*?))?\s*$""")
_TEXT_NAME = re.compile(r"""^\s+name:\s*["']?([^"'\s#]+)""")
_DOC_START = re.compile(r"^---(?:[ \t].*)?$")
_PREAMBLE = re.compile(r"^(?:%.*|\s*(?:#.*)?)$")
_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_TEMPLATE_ONLY = re.compile(r"^\s*(?:(?:\{\{.*?\}\}|\{%.*?%\})\s*)+$")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{printable(self.path, limit=None)}:{self.line}: {self.message}"


def judge(value: str, *, generic: bool = False) -> str | None:
    """Why a Secret value is plaintext, or None if it is not.

    - Empty (or blank) is fine, and so is a value of PEM certificates or public keys only
      (public). Any other value without a placeholder is a literal.
    - A value that is wholly a generic ``<key>`` is fine even without avp's path annotation:
      nothing fills it, and the text ``<key>`` is not a secret.
    - With placeholders, the literal text around them is structure (a URL, a DSN, ``Bearer ``,
      a ``prefix-``), except: a letter or digit touching a placeholder (``<path:…>hunter2``:
      the literal is part of the same token); a credential-named key given literal text
      (``user=<vault:…>&password=hunter2``, ``"dbPassword": "x"``; not when its value is an
      object or a list); a URL's userinfo password given as literal text.
    """
    if not value.strip() or _PUBLIC_PEM.fullmatch(value):
        return None
    pattern = _GENERIC if generic else None
    masked = _INLINE.sub(_MARK, value)
    if pattern is not None:
        masked = pattern.sub(_MARK, masked)
    if _MARK not in masked:
        return None if _GENERIC.fullmatch(value.strip()) else "holds a literal value"
    if _GLUED.search(masked):
        return "holds literal text joined to a placeholder"
    if _CREDENTIAL.search(masked) or _URL_PASSWORD.search(masked):
        return "holds a literal credential beside a placeholder"
    return None


def _name(text: str) -> str:
    """A name (object, field, file) as printed: withheld when it looks like a token, so a
    token used as a key is not printed either."""
    if find_tokens([text]) or find_tokens([text.replace(".", " ")]):
        return "<name withheld: it looks like a token>"
    return printable(text)


def scan(
    path: str,
    content: bytes,
    *,
    allow_unparsable: bool = False,
    template: bool = False,
    read_relative: Callable[[str], bytes | None] | None = None,
) -> list[Finding]:
    """Every problem in one file, in line order.

    ``template``: a Helm chart template; its ``{{ }}`` are placeholders and it is never reported
    as unparsable. ``allow_unparsable``: a YAML file that does not parse is checked as text
    without failing. ``read_relative``: reads a file named relative to this one (for kustomize
    ``secretGenerator`` files); None when it is not in the repository.
    """
    decoded = decode(content)
    lines = split_lines(decoded.text)
    yaml_file = template or path.lower().endswith((".yaml", ".yml"))
    if path.lower().endswith(".json"):  # JSON with comments (tsconfig.json) is common: only a
        yaml_file = bool(_JSON_OBJECT.search(decoded.text))  # Kubernetes object must parse
    state = _FileScan(path, read_relative or (lambda _: None), textual=yaml_file)
    if decoded.is_text:
        for start, chunk in _chunks(lines):
            state.document(start, chunk, template=template)
    elif yaml_file:
        state.problems.append((1, "not text in a known encoding (UTF-8, UTF-16 or UTF-32)"))
        state.textual_all(0, lines)
    hits = set(find_tokens(state.masked(lines)))
    if decoded.encoding != "utf-8":  # ASCII tokens in the bytes too, NULs dropped (UTF-16/32)
        raw = split_lines(content.decode("latin-1").replace("\0", ""))
        sealed_lines = {
            line + 1 for first, _, last, _ in state.sealed for line in range(first, last + 1)
        }
        hits |= set(find_tokens(raw, skip=sealed_lines.__contains__))
    findings = state.findings
    findings += [Finding(path, hit.line, state.describe(hit.line, hit.kind)) for hit in hits]
    if yaml_file and not (allow_unparsable or template):
        findings += [
            Finding(
                path,
                line,
                f"cannot be parsed as YAML ({reason}), so it was not checked for plaintext "
                "Secrets; fix it, or allow it with --allow-unparsable",
            )
            for line, reason in state.problems
        ]
    return sorted(set(findings), key=lambda f: (f.line, f.message))


def _chunks(lines: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """Documents at ``---`` lines (a marker at column 0 ends any scalar), with their offset."""
    start = 0
    for number, line in enumerate(lines):
        if number > start and _DOC_START.match(line):
            if all(_PREAMBLE.match(text) for text in lines[start:number]):
                continue  # directives (%YAML, %TAG) and comments belong to the next document
            yield start, list(lines[start:number])
            start = number
    yield start, list(lines[start:])


@dataclass
class _Problem:
    line: int  # 0-based, in the text parsed
    reason: str


@dataclass
class _Span:
    first: int
    last: int
    where: str


@dataclass
class _FileScan:
    path: str
    read_relative: Callable[[str], bytes | None]
    textual: bool
    findings: list[Finding] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    # Sealed values, (first line, column, last line, column), 0-based: never scanned as text.
    sealed: list[tuple[int, int, int, int]] = field(default_factory=list)
    spans: list[_Span] = field(default_factory=list)
    by_line: dict[int, str] | None = None

    def add(self, line: int, message: str, **names: str) -> None:
        """A finding; ``message`` is fixed text with ``{name}`` fields for the names of
        objects, fields and files, each withheld if it looks like a token itself."""
        safe = {key: _name(value) for key, value in names.items()}
        self.findings.append(Finding(self.path, line, message.format(**safe)))

    def masked(self, lines: list[str]) -> list[str]:
        """``lines`` with each sealed value blanked, and nothing else: a token elsewhere on the
        same line (one-line JSON) is still found."""
        out = list(lines)
        for first, first_col, last, last_col in self.sealed:
            for number in range(first, min(last, len(out) - 1) + 1):
                line = out[number]
                begin = first_col if number == first else 0
                end = last_col if number == last else len(line)
                out[number] = line[:begin] + " " * (end - begin) + line[end:]
        return out

    def describe(self, line: int, kind: str) -> str:
        """``kind``, and the object and field of the value on ``line`` (the shortest)."""
        if self.by_line is None:
            self.by_line = {}
            for span in sorted(self.spans, key=lambda s: s.first - s.last):
                self.by_line.update(dict.fromkeys(range(span.first, span.last + 1), span.where))
        where = self.by_line.get(line)
        return f"{kind} in {where}" if where and _name(where) == where else kind

    # -- documents ---------------------------------------------------------------------------

    def document(self, start: int, lines: list[str], *, template: bool) -> None:
        """One document. With ``{{ }}``/``{% %}`` in it, the structure is read from the text
        with each expression as a placeholder; whether it is YAML, from the text as written."""
        text = "\n".join(lines)
        templated = "{{" in text or "{%" in text
        nodes, problem = _compose(_neutralize(lines) if templated else text)
        for node in nodes:
            self.check(node, start)
        if problem is not None and self.textual:
            self.textual_scan(start, lines)
        if templated and not template:
            problem = _compose(text)[1]
        if problem is not None:
            self.problems.append((start + problem.line + 1, problem.reason))

    def textual_all(self, start: int, lines: list[str]) -> None:
        for chunk_start, chunk in _chunks(lines):
            self.textual_scan(start + chunk_start, chunk)

    def check(self, root: yaml.Node, start: int) -> None:
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, str, str]] = [(root, "", "")]
        while stack:
            node, where, path = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            line = start + node.start_mark.line + 1
            if isinstance(node, yaml.ScalarNode):
                end = node.end_mark.line + (1 if node.end_mark.column else 0)
                if path:
                    label = f"{where}: {path}" if where else path
                    self.spans.append(_Span(line, max(line, start + end), label))
            elif isinstance(node, yaml.SequenceNode):
                stack += [(item, where, f"{path}[{i}]") for i, item in enumerate(node.value)]
            elif isinstance(node, yaml.MappingNode):
                if _scalar(node, "kind") is not None and where_root(path):
                    where, path = self.object(node, start), ""
                first_seen: dict[str, int] = {}
                for key_node, value_node in node.value:
                    key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                    key_line = start + key_node.start_mark.line + 1
                    if isinstance(key_node, yaml.ScalarNode):
                        if key in first_seen:
                            self.problems.append(
                                (key_line, f"duplicate key, first at line {first_seen[key]}")
                            )
                        first_seen.setdefault(key, key_line)
                    stack.append((value_node, where, f"{path}.{key}" if path else str(key)))
                if not where and not path and _first(node, "secretGenerator") is not None:
                    self.kustomization(node, start)  # a kustomization.yaml without a kind

    def object(self, node: yaml.MappingNode, start: int) -> str:
        """Checks one Kubernetes object; returns how findings inside it name it."""
        # Every kind a duplicate key gives: parsers differ on which one wins.
        kinds = [str(v.value) for v in _all(node, "kind") if isinstance(v, yaml.ScalarNode)]
        kind = next(
            (k for k in kinds if k in ("Secret", "SealedSecret")), kinds[0] if kinds else "?"
        )
        meta = _first(node, "metadata")
        name = _scalar(meta, "name") or "?"
        namespace = _scalar(meta, "namespace")
        ref = f"{namespace}/{name}" if namespace else name
        ref = ref.replace("<path:template>", "{{ }}")
        api = _scalar(node, "apiVersion") or "v1"
        if kind == "Secret" and (api == "v1" or "<path:template>" in api):
            self.secret(node, start, ref, generic=_has_avp_path(meta))
        elif kind == "SealedSecret":
            self.sealed_secret(node, start, ref)
        elif kind == "VaultSecret":
            target = _first(_first(node, "spec"), "target")
            self.template_data(
                _first(target, "template"), start, f"VaultSecret {ref}", "spec.target.template"
            )
        elif kind in ("Kustomization", "Component"):
            self.kustomization(node, start)
        return f"{kind} {ref}"

    def secret(self, node: yaml.MappingNode, start: int, ref: str, *, generic: bool) -> None:
        for section, encoded in (("stringData", False), ("data", True)):
            for key, key_line, value in _entries(node, section, start):
                reason = _value_reason(value, encoded=encoded, generic=generic)
                if reason:
                    self.add(
                        key_line,
                        "plaintext Secret {ref}: {field} {reason}",
                        ref=ref,
                        field=f"{section}.{key}",
                        reason=reason,
                    )

    def sealed_secret(self, node: yaml.MappingNode, start: int, ref: str) -> None:
        spec = _first(node, "spec")
        for key, key_line, value in _entries(spec, "encryptedData", start):
            if not isinstance(value, yaml.ScalarNode):
                self.add(
                    key_line,
                    "SealedSecret {ref}: spec.encryptedData.{key} is not a string",
                    ref=ref,
                    key=key,
                )
                continue
            shape = _sealed_shape(value.value)
            if shape == "sealed":
                begin, end = value.start_mark, value.end_mark
                self.sealed.append((start + begin.line, begin.column, start + end.line, end.column))
            elif shape != "opaque":
                self.add(
                    key_line,
                    "SealedSecret {ref}: spec.encryptedData.{key} {shape}",
                    ref=ref,
                    key=key,
                    shape=shape,
                )
        self.template_data(_first(spec, "template"), start, f"SealedSecret {ref}", "spec.template")

    def template_data(self, template: yaml.Node | None, start: int, what: str, at: str) -> None:
        """``template.data`` is committed in clear: each value must refer to values held
        elsewhere (``{{ }}``), with no literal credential beside the reference."""
        for key, key_line, value in _entries(template, "data", start):
            reason = _value_reason(value, encoded=False, generic=False)
            if reason:
                self.add(
                    key_line,
                    "{what}: {at}.data.{key} {reason} "
                    "(template data is committed in clear; refer to a value with {braces})",
                    what=what,
                    at=at,
                    key=key,
                    reason=reason,
                    braces="{{ }}",
                )

    def kustomization(self, node: yaml.MappingNode, start: int) -> None:
        generators = _first(node, "secretGenerator")
        if not isinstance(generators, yaml.SequenceNode):
            return
        for index, gen in enumerate(generators.value):
            name = _scalar(gen, "name") or f"[{index}]"
            what = f"kustomize secretGenerator {_name(name)}"
            generic = _has_avp_path(_first(gen, "options"))
            for j, item, line in _items(gen, "literals", start):
                key, sep, value = item.partition("=")
                reason = judge(_unquote(value.strip()), generic=generic) if sep else None
                if reason:
                    self.add(
                        line,
                        "{what}: literals[{j}] ({key}) {reason}",
                        what=what,
                        j=str(j),
                        key=key.strip(),
                        reason=reason,
                    )
            for field_name in ("envs", "env"):
                for j, item, line in _items(gen, field_name, start):
                    self.env_file(line, f"{what}: {field_name}[{j}] ({item})", item, generic)
            for j, item, line in _items(gen, "files", start):
                target = item.partition("=")[2] if "=" in item else item
                data = self.read_relative(target)
                if data is None:
                    continue
                reason = judge(decode(data).text, generic=generic)
                if reason:
                    self.add(
                        line,
                        "{what}: files[{j}] ({target}) {reason}, in the repository",
                        what=what,
                        j=str(j),
                        target=target,
                        reason=reason,
                    )

    def env_file(self, line: int, what: str, target: str, generic: bool) -> None:
        data = self.read_relative(target)
        if data is None:
            return
        for number, text in enumerate(split_lines(decode(data).text), start=1):
            key, sep, value = text.partition("=")
            if not sep or text.lstrip().startswith("#"):
                continue
            reason = judge(_unquote(value.strip()), generic=generic)
            if reason:
                self.add(
                    line,
                    "{what} line {number} ({key}) {reason}, in the repository",
                    what=what,
                    number=str(number),
                    key=key.strip(),
                    reason=reason,
                )

    # -- documents that do not parse ---------------------------------------------------------

    def textual_scan(self, start: int, lines: list[str]) -> None:
        """A Secret read from the text of a document that does not parse: its ``data`` and
        ``stringData`` entries by indentation. ``{{ }}`` expressions count as placeholders."""
        if not any(_KIND_SECRET.match(line) for line in lines):
            return
        generic = any(_AVP_PATH in line for line in lines)
        name = next((m.group(1) for line in lines if (m := _TEXT_NAME.match(line))), "?")
        index = 0
        while index < len(lines):
            section = _SECTION.match(lines[index])
            if not section:
                index += 1
                continue
            indent, kind, rest = len(section.group(1)), section.group(2), section.group(3)
            where = f"plaintext Secret {_name(name)}: {kind}"
            if rest.startswith("{"):
                for key, value in _flow_entries(rest):
                    reason = judge(
                        _base64_text(value) if kind == "data" else value, generic=generic
                    )
                    if reason:
                        self.add(
                            start + index + 1,
                            "{where}.{key} {reason} (read as text)",
                            where=where,
                            key=key,
                            reason=reason,
                        )
            index += 1
            child: int | None = None
            while index < len(lines):
                line = lines[index]
                depth = len(line) - len(line.lstrip())
                if not line.strip() or line.lstrip().startswith(("#", "{{")):
                    index += 1
                    continue
                if depth <= indent:
                    break
                child = depth if child is None else child
                entry = _ENTRY.match(line)
                index += 1
                if depth != child or not entry:
                    continue
                key, value = _unquote(entry.group(1)), entry.group(2) or ""
                number = start + index
                if value[:1] in ("|", ">"):
                    block = []
                    while index < len(lines) and (
                        not lines[index].strip()
                        or len(lines[index]) - len(lines[index].lstrip()) > depth
                    ):
                        block.append(lines[index].strip())
                        index += 1
                    value = "\n".join(block)
                value = _unquote(value.split(" #", 1)[0].strip())
                reason = judge(_base64_text(value) if kind == "data" else value, generic=generic)
                if reason:
                    self.add(
                        number,
                        "{where}.{key} {reason} (read as text)",
                        where=where,
                        key=key,
                        reason=reason,
                    )


def where_root(path: str) -> bool:
    """A mapping is an object of its own at the top of a document and as a List's item."""
    return path == "" or bool(re.fullmatch(r"items\[\d+\]", path))


# libyaml's parser where PyYAML has it (about 20 times faster); either way only its events are
# used, and the nodes are built here without recursion, so no nesting depth can crash it.
_PARSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER: Any = yaml.resolver.Resolver()


class _AliasProblem(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _compose(text: str, parser: Any = _PARSER) -> tuple[list[yaml.Node], _Problem | None]:
    """The documents' node trees (nothing is constructed, so aliases cost nothing), and the
    first problem: a reason built from the parser's fixed wording only, never from the input."""
    nodes: list[yaml.Node] = []
    loader: Any = None
    try:
        loader = parser(text)
        _build(loader, nodes)
    except yaml.reader.ReaderError as exc:
        if isinstance(loader, yaml.SafeLoader):  # a character offset
            line = text.count("\n", 0, exc.position)
        else:  # libyaml: a byte offset in UTF-8
            line = text.encode("utf-8", "replace")[: exc.position].count(b"\n")
        return nodes, _Problem(line, "a character YAML does not allow, such as NUL")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        words = exc.problem or "syntax error"
        reason = re.split("['\"]", words, maxsplit=1)[0].strip()  # what follows quotes input
        if reason != words.strip():
            reason = f"{reason} …"
        return nodes, _Problem(mark.line if mark else 0, reason or "syntax error")
    except _AliasProblem as exc:
        return nodes, _Problem(exc.line, "an alias to an undefined anchor")
    except yaml.YAMLError:
        return nodes, _Problem(0, "not YAML")
    finally:
        if loader is not None:
            loader.dispose()
    return nodes, None


def _build(loader: Any, roots: list[yaml.Node]) -> None:
    """Nodes from parser events, as PyYAML's composer makes them, but with a stack of its own."""
    stack: list[list[Any]] = []  # [collection node, pending mapping key or None]
    anchors: dict[str, yaml.Node] = {}
    while True:
        event = loader.get_event()
        ev: Any = event  # attributes untyped: PyYAML's and libyaml's events differ in stubs
        node: yaml.Node
        if isinstance(event, yaml.StreamEndEvent):
            return
        if isinstance(event, yaml.DocumentStartEvent):
            anchors = {}
            continue
        if isinstance(event, yaml.AliasEvent):
            found = anchors.get(ev.anchor)
            if found is None:
                raise _AliasProblem(ev.start_mark.line)
            node = found
        elif isinstance(event, yaml.ScalarEvent):
            tag = ev.tag
            if tag in (None, "!"):
                tag = _RESOLVER.resolve(yaml.ScalarNode, ev.value, ev.implicit)
            node = yaml.ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            sequence = isinstance(event, yaml.SequenceStartEvent)
            cls = yaml.SequenceNode if sequence else yaml.MappingNode
            tag = ev.tag
            if tag in (None, "!"):
                tag = _RESOLVER.resolve(cls, None, ev.implicit)
            collection = cls(tag, [], ev.start_mark, ev.end_mark)
            if ev.anchor is not None:
                anchors[ev.anchor] = collection
            stack.append([collection, None])
            continue
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            node = stack.pop()[0]
            node.end_mark = ev.end_mark
        else:
            continue  # stream start, document end
        if isinstance(event, yaml.ScalarEvent) and ev.anchor is not None:
            anchors[ev.anchor] = node
        if not stack:
            roots.append(node)
        elif isinstance(stack[-1][0], yaml.SequenceNode):
            stack[-1][0].value.append(node)
        elif stack[-1][1] is None:
            stack[-1][1] = node
        else:
            stack[-1][0].value.append((stack[-1][1], node))
            stack[-1][1] = None


def _neutralize(lines: Iterable[str]) -> str:
    """A Helm-style template as YAML: lines that are only template actions are emptied and
    each other ``{{ … }}`` becomes a placeholder. Line numbers are kept."""
    out = []
    for line in lines:
        if _TEMPLATE_ONLY.match(line):
            out.append("")
        else:
            out.append(_EXPRESSION.sub("<path:template>", line))
    return "\n".join(out)


def _first(node: yaml.Node | None, key: str) -> yaml.Node | None:
    found = _all(node, key)
    return found[0] if found else None


def _all(node: yaml.Node | None, key: str, seen: frozenset[int] = frozenset()) -> list[yaml.Node]:
    """Every value of ``key``: a duplicate key hides nothing, nor does a ``<<`` merge key
    (kubectl's parser applies them), whose values come after the mapping's own."""
    if not isinstance(node, yaml.MappingNode) or id(node) in seen:
        return []
    seen = seen | {id(node)}  # an alias may merge a mapping into itself
    own, merged = [], []
    for key_node, value in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value == key:
            own.append(value)
        elif key_node.tag == _MERGE:
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                merged += _all(source, key, seen)
    return own + merged


def _scalar(node: yaml.Node | None, key: str) -> str | None:
    value = _first(node, key)
    if isinstance(value, yaml.ScalarNode) and value.tag != _NULL:
        return str(value.value)
    return None


def _has_avp_path(meta: yaml.Node | None) -> bool:
    return bool(_scalar(_first(meta, "annotations"), _AVP_PATH))


def _entries(
    node: yaml.Node | None, section: str, start: int
) -> Iterator[tuple[str, int, yaml.Node]]:
    for mapping in _all(node, section):
        if not isinstance(mapping, yaml.MappingNode):
            continue
        for key_node, value in mapping.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            yield str(key), start + key_node.start_mark.line + 1, value


def _items(node: yaml.Node | None, key: str, start: int) -> Iterator[tuple[int, str, int]]:
    """A list of strings (or one string): index, text, line."""
    for value in _all(node, key):
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for index, item in enumerate(items):
            if isinstance(item, yaml.ScalarNode) and item.tag != _NULL:
                yield index, str(item.value), start + item.start_mark.line + 1


def _value_reason(value: yaml.Node, *, encoded: bool, generic: bool) -> str | None:
    if isinstance(value, yaml.ScalarNode):
        if value.tag == _NULL:
            return None
        text = str(value.value)
        return judge(_base64_text(text) if encoded else text, generic=generic)
    return "is not a string, so it cannot be judged"


def _base64_text(text: str) -> str:
    if _INLINE.search(text) or _GENERIC.search(text):
        return text  # a placeholder the renderer base64-encodes
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return text
    return raw.decode("utf-8", "replace")


def _sealed_shape(value: str) -> str:
    """``sealed`` when every recipient's blob has the envelope's layout (a 2-byte length of the
    RSA part, that many bytes, then AES-GCM data); else why it is not a sealed value, or
    ``opaque`` for binary data of another layout (no readable plaintext)."""
    if not value.strip():
        return "opaque"
    shapes = set()
    for blob in value.split(","):
        try:
            raw = decode_blob(blob)
        except EnvelopeError:
            return "is not base64, so it is not a sealed value"
        wrapped = int.from_bytes(raw[:2], "big")
        if wrapped >= 128 and len(raw) >= 2 + wrapped + 16:
            shapes.add("sealed")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            shapes.add("opaque")
            continue
        if text.isprintable() or all(c.isprintable() or c.isspace() for c in text):
            return "is base64 of readable text, not a sealed value"
        shapes.add("opaque")
    return "sealed" if shapes == {"sealed"} else "opaque"


def _flow_entries(text: str) -> list[tuple[str, str]]:
    """``{k: v, …}`` on one line, when it parses on its own."""
    nodes, problem = _compose(text.split(" #", 1)[0])
    if problem is not None or len(nodes) != 1 or not isinstance(nodes[0], yaml.MappingNode):
        return []
    return [
        (str(k.value), str(v.value))
        for k, v in nodes[0].value
        if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode) and v.tag != _NULL
    ]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


# -- files ---------------------------------------------------------------------------------


def is_helm_template(path: Path) -> bool:
    """Under a ``templates/`` folder whose parent holds a ``Chart.yaml``: a Helm template."""
    for folder in path.parents:
        if folder.name == "templates" and (folder.parent / "Chart.yaml").is_file():
            return True
    return False


def check_paths(
    paths: Sequence[str],
    *,
    allow_unparsable: Sequence[str] = (),
    root: Path | None = None,
) -> list[Finding]:
    """``seal check PATHS``: each file, and each file under each folder (hidden folders,
    ``node_modules`` and symbolic links are skipped: Git stores a link, not what it points to).

    ``allow_unparsable``: globs (fnmatch, ``*`` crosses ``/``) of YAML files to check as text
    when they do not parse. ``root``: kustomize ``secretGenerator`` files are read only inside
    it (the current folder: the repository, for pre-commit).
    """
    base = (root or Path()).resolve()
    findings: list[Finding] = []
    for path in _files(paths):
        name = str(path)
        allowed = any(
            fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(path.as_posix(), glob)
            for glob in allow_unparsable
        )
        content = _read_bounded(path, name)
        if content is None:
            if not allowed:
                findings.append(
                    Finding(name, 1, f"too large to check (over {MAX_FILE_BYTES} bytes)")
                )
            continue
        findings += scan(
            name,
            content,
            allow_unparsable=allowed,
            template=is_helm_template(path),
            read_relative=_reader(path.parent, base),
        )
    return findings


def _files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths or (".",):
        path = Path(raw)
        if path.is_symlink():
            continue
        if path.is_dir():
            try:
                found = sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not p.is_symlink() and not _ignored(p.relative_to(path))
                )
            except OSError as exc:
                raise InputError(f"cannot read folder: {exc.strerror or exc}", where=raw) from None
            yield from found
        elif not path.exists():
            raise InputError("not found", where=raw)
        elif not path.is_file():
            raise InputError("is not a regular file", where=raw)  # /dev/zero, a FIFO
        else:
            yield path


def _read_bounded(path: Path, name: str) -> bytes | None:
    """The file's bytes, or None when it has more than :data:`MAX_FILE_BYTES`."""
    try:
        return read_regular_file(path, MAX_FILE_BYTES, where=name)
    except InputTooLarge:
        return None


def _ignored(relative: Path) -> bool:
    return any(
        part.startswith(".") or part in ("node_modules", "__pycache__") for part in relative.parts
    )


def _reader(folder: Path, root: Path) -> Callable[[str], bytes | None]:
    def read(name: str) -> bytes | None:
        try:
            target = (folder / name).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                return None
            content = _read_bounded(target, name)
        except (OSError, ValueError, InputError):
            return None
        return b"(too large to read)" if content is None else content

    return read
