"""Sealing for a cluster: ``seal [FILE|-]`` (the hidden ``secret`` command), ``create``, ``raw``.

Each takes plaintext (a Secret manifest, values on the command line or in files, one value on
stdin) and the certificates to seal for, and prints what may go to Git.
"""

from __future__ import annotations

from typing import Any

import click

from sealer.bounded import Limit
from sealer.cli.app import DEFAULT_COMMAND
from sealer.cli.documents import emit
from sealer.cli.io import read_input, read_path, write_atomic
from sealer.cli.keymaterial import load_recipients
from sealer.cli.options import cert_options, output_options, scope_option
from sealer.envelope import Scope, label_for
from sealer.errors import InputError, ManifestError
from sealer.manifests import (
    PlainSecret,
    check_data_keys,
    dump_documents,
    load_documents,
    parse_sealed_secret,
    parse_secret,
)
from sealer.sealing import merge_into, seal_secret, seal_value

__all__ = ["create", "raw", "seal_manifests"]


@click.command(DEFAULT_COMMAND, hidden=True)
@click.argument("file", required=False, metavar="[FILE|-]")
@cert_options
@scope_option
@click.option("-n", "--namespace", help="Namespace for Secrets that name none.")
@output_options
@click.option(
    "--merge-into",
    "merge_into_path",
    metavar="FILE",
    help="Add or replace these values in the SealedSecret FILE (in place); keep the others.",
)
def seal_manifests(
    file: str | None,
    certs: tuple[str, ...],
    scope: str | None,
    namespace: str | None,
    output: str,
    write: str | None,
    merge_into_path: str | None,
    **target: Any,
) -> None:
    """Seal Secret manifest(s) from FILE or stdin into SealedSecret(s)."""
    data, source = read_input(file, what="Secret manifest")
    docs = load_documents(data, source=source)
    if not docs:
        raise ManifestError("holds no manifest", where=source)
    secrets = [parse_secret(doc, source=source, default_namespace=namespace) for doc in docs]
    recipients = load_recipients(certs, target)
    chosen = Scope(scope) if scope else None
    if merge_into_path:
        if write:
            raise click.UsageError("--merge-into writes FILE in place; do not combine with -w")
        if len(secrets) != 1:
            raise ManifestError(f"--merge-into takes one Secret, got {len(secrets)}", where=source)
        path = merge_into_path
        existing_docs = load_documents(
            read_path(path, what="SealedSecret", limit=Limit.MANIFEST), source=path
        )
        if len(existing_docs) != 1:
            raise ManifestError("must hold exactly one SealedSecret", where=path)
        existing = parse_sealed_secret(existing_docs[0], source=path, allow_bitnami=False)
        merged = merge_into(existing, secrets[0], recipients, scope=chosen, source=path)
        write_atomic(path, dump_documents([merged], output).encode())
        return
    sealed = [seal_secret(s, recipients, scope=chosen) for s in secrets]
    emit(dump_documents(sealed, output), write)


@click.command("create")
@click.argument("name")
@click.option("-n", "--namespace", help="Namespace of the Secret (required for strict scope).")
@click.option("--type", "secret_type", default="Opaque", show_default=True, help="Secret type.")
@click.option("--from-literal", "literals", multiple=True, metavar="KEY=VALUE", help="A value.")
@click.option(
    "--from-file",
    "files",
    multiple=True,
    metavar="[KEY=]PATH",
    help="A value read from PATH (key defaults to the file name).",
)
@click.option(
    "--from-env-file", "env_files", multiple=True, metavar="PATH", help="KEY=VALUE lines."
)
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label.")
@cert_options
@scope_option
@output_options
def create(
    name: str,
    namespace: str | None,
    secret_type: str,
    literals: tuple[str, ...],
    files: tuple[str, ...],
    env_files: tuple[str, ...],
    labels: tuple[str, ...],
    certs: tuple[str, ...],
    scope: str | None,
    output: str,
    write: str | None,
    **target: Any,
) -> None:
    """Seal values given on the command line or read from files: no plaintext manifest needed."""
    values: dict[str, bytes] = {}

    def put(key: str, value: bytes, origin: str) -> None:
        if not key:
            raise click.UsageError(f"{origin}: empty key")
        if key in values:
            raise click.UsageError(f"{origin}: key {key!r} given twice")
        check_data_keys([key], origin, "")
        values[key] = value

    for literal in literals:
        key, sep, value = literal.partition("=")
        if not sep:
            raise click.UsageError("--from-literal takes KEY=VALUE")
        put(key, value.encode(), "--from-literal")
    for spec in files:
        key, sep, path = spec.partition("=")
        if not sep:
            path, key = spec, spec.rstrip("/").rsplit("/", 1)[-1]
        put(key, read_path(path, what="value", limit=Limit.VALUE), "--from-file")
    for env_file in env_files:
        for number, line in enumerate(_env_lines(env_file), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise InputError(f"line {number}: expected KEY=VALUE", where=env_file)
            put(key.strip(), value.encode(), env_file)
    if not values:
        raise click.UsageError("give at least one --from-literal, --from-file or --from-env-file")
    label_map = {}
    for label in labels:
        key, sep, value = label.partition("=")
        if not sep:
            raise click.UsageError("--label takes KEY=VALUE")
        label_map[key] = value
    secret = PlainSecret(
        name=name, namespace=namespace, type=secret_type, labels=label_map, data=values
    )
    recipients = load_recipients(certs, target)
    sealed = seal_secret(secret, recipients, scope=Scope(scope) if scope else None)
    emit(dump_documents([sealed], output), write)


def _env_lines(path: str) -> list[str]:
    """The lines of an env file: UTF-8 text, or one error naming the line (never its bytes)."""
    data = read_path(path, what="env file", limit=Limit.ENV_FILE)
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"line {line}: not UTF-8 text", where=path) from None


@click.command("raw")
@cert_options
@scope_option
@click.option("--namespace", "-n", help="Namespace (strict and namespace-wide scopes).")
@click.option("--name", help="Secret name (strict scope).")
@click.option("--from-file", "from_file", metavar="PATH", help="Read the value from PATH.")
def raw(
    certs: tuple[str, ...],
    scope: str | None,
    namespace: str | None,
    name: str | None,
    from_file: str | None,
    **target: Any,
) -> None:
    """Seal one value (stdin or --from-file) and print the bare blob for spec.encryptedData."""
    chosen = Scope(scope) if scope else Scope.STRICT
    label = label_for(chosen, namespace, name)
    if from_file:
        value = read_path(from_file, what="value", limit=Limit.VALUE)
    else:
        # Empty stdin seals an empty value, as `kubeseal --raw` does.
        value = read_input(None, what="value", limit=Limit.VALUE, allow_empty=True)[0]
    recipients = load_recipients(certs, target)
    emit(seal_value(value, recipients, label), None)
