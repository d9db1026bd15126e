"""Commands that ask the controller: ``cert``, ``verify`` and ``keys``.

The controller is reached as :mod:`sealer.cli.options` says (a URL, or its Service through the
API server); :mod:`sealer.online` is imported only when a request is made.
"""

from __future__ import annotations

from typing import Any

import click

from sealer.cli.documents import emit, read_sealed
from sealer.cli.keymaterial import fetch_certificate, utc_now, warn_plain_http
from sealer.cli.options import controller_options, target_from
from sealer.errors import InputError, SealopsError
from sealer.keys import load_recipient
from sealer.reader import read_json

__all__ = ["cert_cmd", "keys_cmd", "verify_cmd"]


@click.command("cert")
@controller_options
@click.option("-w", "--write", "write", metavar="FILE", help="Write to FILE instead of stdout.")
def cert_cmd(write: str | None, **target: Any) -> None:
    """Fetch the controller's current sealing certificate (public)."""
    where = target_from(target)
    pem = fetch_certificate(where)
    recipient = load_recipient(pem, source=where.describe())
    recipient.check_valid(utc_now())
    if where.url:
        warn_plain_http(where.url, recipient)
    emit(pem, write)


@click.command("verify")
@click.argument("file", required=False, metavar="[FILE|-]")
@controller_options
def verify_cmd(file: str | None, **target: Any) -> None:
    """Check that the controller can unseal a SealedSecret (exit 0), else say why (exit 1)."""
    from sealer.online import request

    parsed, source = read_sealed(file)
    for sealed in parsed:
        try:
            request(target_from(target), "POST", "/v1/verify", sealed.doc)
        except SealopsError as exc:
            raise InputError(
                f"cannot be unsealed: {exc}", where=f"{source}: {sealed.ref}"
            ) from None
        click.echo(f"{sealed.ref}: OK", err=True)


@click.command("keys")
@controller_options
@click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def keys_cmd(output: str, **target: Any) -> None:
    """List the controller's keys and how many SealedSecrets each still serves."""
    import json

    from sealer.online import request

    answer = read_json(request(target_from(target), "GET", "/v1/keys"), source="/v1/keys")
    keys = answer.get("keys") or []
    if output == "json":
        emit(json.dumps(answer, indent=2) + "\n", None)
        return
    rows = [("FINGERPRINT", "CREATED", "SEALING", "SEALEDSECRETS", "SECRET")]
    for key in keys:
        rows.append(
            (
                str(key.get("fingerprint")),
                str(key.get("created") or "-")[:19],
                "yes" if key.get("sealing") else "",
                str(key.get("sealedSecrets", 0)),
                "MISSING" if key.get("missing") else str(key.get("secret") or ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    emit("\n".join(lines) + "\n", None)
