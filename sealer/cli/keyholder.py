"""Commands for whoever holds private keys: ``unseal``, ``reencrypt`` and ``keygen``.

``unseal`` writes plaintext to stdout only; ``reencrypt`` re-seals offline with the keys given, or
asks the controller to (its keys never leave it); ``keygen`` writes a local key pair.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from sealer.cli.documents import emit, read_sealed
from sealer.cli.io import read_input, write_atomic
from sealer.cli.keymaterial import load_keys, load_recipients, utc_now
from sealer.cli.options import cert_options, output_options, scope_option, target_from
from sealer.envelope import Scope, label_for
from sealer.errors import InputError
from sealer.keys import generate_keypair, private_key_pem
from sealer.manifests import dump_documents, secret_manifest
from sealer.sealing import reencrypt, unseal, unseal_value, unsealed_secret

__all__ = ["keygen", "reencrypt_cmd", "unseal_cmd"]


@click.command("unseal")
@click.argument("file", required=False, metavar="[FILE|-]")
@click.option(
    "--private-key",
    "private_keys",
    multiple=True,
    metavar="FILE",
    help="PEM key, tls Secret or List of them (a key backup); repeat for several.",
)
@click.option("--raw", "raw_mode", is_flag=True, help="Open one bare blob; print the bytes.")
@scope_option
@click.option("--namespace", "-n", help="Namespace, with --raw (or for SealedSecrets without).")
@click.option("--name", help="Secret name, with --raw.")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
)
def unseal_cmd(
    file: str | None,
    private_keys: tuple[str, ...],
    raw_mode: bool,
    scope: str | None,
    namespace: str | None,
    name: str | None,
    output: str,
) -> None:
    """Recover Secrets from SealedSecrets with the private key(s). Writes to stdout only."""
    keys = load_keys(private_keys)
    if raw_mode:
        blob, _ = read_input(file, what="sealed value")
        chosen = Scope(scope) if scope else Scope.STRICT
        label = label_for(chosen, namespace, name)
        plain, _, _ = unseal_value(blob.decode("ascii", "replace").strip(), keys, label)
        emit(plain, None)
        return
    parsed, _ = read_sealed(file, allow_bitnami=True, default_namespace=namespace)
    secrets = []
    for sealed in parsed:
        opened = unseal(sealed, keys)
        secrets.append(secret_manifest(unsealed_secret(sealed, opened.values)))
    emit(dump_documents(secrets, output), None)


@click.command("reencrypt")
@click.argument("file", required=False, metavar="[FILE|-]")
@click.option(
    "--private-key",
    "private_keys",
    multiple=True,
    metavar="FILE",
    help="The key(s) the values are sealed with now.",
)
@cert_options
@output_options
def reencrypt_cmd(
    file: str | None,
    private_keys: tuple[str, ...],
    certs: tuple[str, ...],
    output: str,
    write: str | None,
    **target: Any,
) -> None:
    """Re-seal SealedSecrets for the newest key, keeping name, namespace and scope.

    Online (default): the controller re-seals them (POST /v1/rotate, in batches of at most 100
    SealedSecrets and 512 private-key operations, waiting when rate-limited, up to 300 s in
    all); nothing leaves it in plaintext, and nothing is written unless every batch succeeded.
    Offline: --private-key OLD --cert NEW, on this machine.
    """
    parsed, _ = read_sealed(file)
    if private_keys:
        keys = load_keys(private_keys)
        recipients = load_recipients(certs, target)
        docs = [reencrypt(sealed, keys, recipients) for sealed in parsed]
    else:
        if certs:
            raise click.UsageError("--cert is for offline re-encryption: add --private-key")
        from sealer.online import request, rotate

        where = target_from(target)

        def send(method: str, path: str, body: Any = None, *, limit: int) -> bytes:
            return request(where, method, path, body, limit=limit)

        # In batches the controller accepts, each waited for when rate-limited; all or nothing.
        docs = rotate(parsed, send)
    emit(dump_documents(docs, output), write)


@click.command("keygen")
@click.option("--private-key", "key_path", required=True, metavar="FILE", help="Write the key.")
@click.option("--cert", "cert_path", required=True, metavar="FILE", help="Write the certificate.")
@click.option("--cn", default="sealed-secret", show_default=True, help="Certificate common name.")
@click.option("--key-size", type=click.IntRange(2048, 8192), default=4096, show_default=True)
@click.option("--validity-days", type=click.IntRange(1), default=3650, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def keygen(
    key_path: str, cert_path: str, cn: str, key_size: int, validity_days: int, force: bool
) -> None:
    """Generate a local key pair: PKCS#1 private key (mode 0600) and self-signed certificate."""
    from pathlib import Path

    for path in (key_path, cert_path):
        if Path(path).exists() and not force:
            raise InputError("exists; pass --force to overwrite", where=path)
    pair = generate_keypair(
        now=utc_now(),
        common_name=cn,
        key_size=key_size,
        validity=dt.timedelta(days=validity_days),
    )
    write_atomic(key_path, private_key_pem(pair.private_key), mode=0o600)
    write_atomic(cert_path, pair.certificate_pem())
    click.echo(f"{pair.fingerprint}", err=True)
