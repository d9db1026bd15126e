"""The Kubernetes objects ``seal check`` understands, each checked from its YAML nodes.

- a ``v1 Secret``: each ``data``/``stringData`` value by :mod:`sealer.plaintext`'s rule;
- a SealedSecret: ``spec.encryptedData`` must hold sealed values (they are remembered, so no
  text detector reads them), and ``spec.template.data`` must refer to values (``{{ }}``);
- a VaultSecret: ``spec.target.template.data``, likewise;
- a kustomization's ``secretGenerator``: ``literals``, and the ``envs``/``files`` it names
  inside the repository.
"""

from __future__ import annotations

import yaml

from sealer.check.nodes import all_values, entries, first, has_avp_path, items, scalar
from sealer.check.state import FileScan, shown_name
from sealer.check.values import sealed_shape, unquote, value_reason
from sealer.detectors import decode, split_lines
from sealer.plaintext import is_secret, plaintext_reason

__all__ = ["check_object", "kustomization"]


def check_object(state: FileScan, node: yaml.MappingNode, start: int) -> str:
    """Checks one Kubernetes object; returns how findings inside it name it."""
    # Every kind a duplicate key gives: parsers differ on which one wins.
    kinds = [str(v.value) for v in all_values(node, "kind") if isinstance(v, yaml.ScalarNode)]
    kind = next((k for k in kinds if k in ("Secret", "SealedSecret")), kinds[0] if kinds else "?")
    meta = first(node, "metadata")
    name = scalar(meta, "name") or "?"
    namespace = scalar(meta, "namespace")
    ref = f"{namespace}/{name}" if namespace else name
    ref = ref.replace("<path:template>", "{{ }}")
    api = scalar(node, "apiVersion")
    if is_secret(api, kind) or (kind == "Secret" and "<path:template>" in (api or "")):
        _secret(state, node, start, ref, generic=has_avp_path(meta))
    elif kind == "SealedSecret":
        _sealed_secret(state, node, start, ref)
    elif kind == "VaultSecret":
        target = first(first(node, "spec"), "target")
        _template_data(
            state, first(target, "template"), start, f"VaultSecret {ref}", "spec.target.template"
        )
    elif kind in ("Kustomization", "Component"):
        kustomization(state, node, start)
    return f"{kind} {ref}"


def _secret(
    state: FileScan, node: yaml.MappingNode, start: int, ref: str, *, generic: bool
) -> None:
    for section, encoded in (("stringData", False), ("data", True)):
        for key, key_line, value in entries(node, section, start):
            reason = value_reason(value, encoded=encoded, generic=generic)
            if reason:
                state.add(
                    key_line,
                    "plaintext Secret {ref}: {field} {reason}",
                    ref=ref,
                    field=f"{section}.{key}",
                    reason=reason,
                )


def _sealed_secret(state: FileScan, node: yaml.MappingNode, start: int, ref: str) -> None:
    spec = first(node, "spec")
    for key, key_line, value in entries(spec, "encryptedData", start):
        if not isinstance(value, yaml.ScalarNode):
            state.add(
                key_line,
                "SealedSecret {ref}: spec.encryptedData.{key} is not a string",
                ref=ref,
                key=key,
            )
            continue
        shape = sealed_shape(value.value)
        if shape == "sealed":
            begin, end = value.start_mark, value.end_mark
            state.sealed.append((start + begin.line, begin.column, start + end.line, end.column))
        elif shape != "opaque":
            state.add(
                key_line,
                "SealedSecret {ref}: spec.encryptedData.{key} {shape}",
                ref=ref,
                key=key,
                shape=shape,
            )
    _template_data(state, first(spec, "template"), start, f"SealedSecret {ref}", "spec.template")


def _template_data(
    state: FileScan, template: yaml.Node | None, start: int, what: str, at: str
) -> None:
    """``template.data`` is committed in clear: each value must refer to values held
    elsewhere (``{{ }}``), with no literal credential beside the reference."""
    for key, key_line, value in entries(template, "data", start):
        reason = value_reason(value, encoded=False, generic=False, templates=True)
        if reason:
            state.add(
                key_line,
                "{what}: {at}.data.{key} {reason} "
                "(template data is committed in clear; refer to a value with {braces})",
                what=what,
                at=at,
                key=key,
                reason=reason,
                braces="{{ }}",
            )


def kustomization(state: FileScan, node: yaml.MappingNode, start: int) -> None:
    """A kustomization's ``secretGenerator``s (also one without a ``kind``)."""
    generators = first(node, "secretGenerator")
    if not isinstance(generators, yaml.SequenceNode):
        return
    for index, gen in enumerate(generators.value):
        name = scalar(gen, "name") or f"[{index}]"
        what = f"kustomize secretGenerator {shown_name(name)}"
        generic = has_avp_path(first(gen, "options"))
        for j, item, line in items(gen, "literals", start):
            key, sep, value = item.partition("=")
            reason = plaintext_reason(unquote(value.strip()), generic=generic) if sep else None
            if reason:
                state.add(
                    line,
                    "{what}: literals[{j}] ({key}) {reason}",
                    what=what,
                    j=str(j),
                    key=key.strip(),
                    reason=reason,
                )
        for field_name in ("envs", "env"):
            for j, item, line in items(gen, field_name, start):
                _env_file(state, line, f"{what}: {field_name}[{j}] ({item})", item, generic)
        for j, item, line in items(gen, "files", start):
            _generator_file(state, line, what, j, item, generic)


def _generator_file(
    state: FileScan, line: int, what: str, index: int, item: str, generic: bool
) -> None:
    target = item.partition("=")[2] if "=" in item else item
    data = state.read_relative(target)
    if data is None:
        return
    reason = plaintext_reason(decode(data).text, generic=generic)
    if reason:
        state.add(
            line,
            "{what}: files[{j}] ({target}) {reason}, in the repository",
            what=what,
            j=str(index),
            target=target,
            reason=reason,
        )


def _env_file(state: FileScan, line: int, what: str, target: str, generic: bool) -> None:
    data = state.read_relative(target)
    if data is None:
        return
    for number, text in enumerate(split_lines(decode(data).text), start=1):
        key, sep, value = text.partition("=")
        if not sep or text.lstrip().startswith("#"):
            continue
        reason = plaintext_reason(unquote(value.strip()), generic=generic)
        if reason:
            state.add(
                line,
                "{what} line {number} ({key}) {reason}, in the repository",
                what=what,
                number=str(number),
                key=key.strip(),
                reason=reason,
            )
