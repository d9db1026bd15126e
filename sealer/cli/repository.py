"""Commands over a repository's files: ``check`` (the pre-commit guard) and ``migrate``.

``check`` fails on plaintext Secrets, private keys and tokens; ``migrate`` turns Bitnami
SealedSecrets into ours, and with ``--to bitnami`` ours into Bitnami's, ciphertexts unchanged.
"""

from __future__ import annotations

import click

from sealer.api import SEALED_SECRET
from sealer.cli.documents import emit
from sealer.cli.io import read_input
from sealer.cli.keymaterial import load_recipients
from sealer.cli.options import output_options
from sealer.errors import ManifestError
from sealer.manifests import dump_documents, load_documents, object_ref, parse_sealed_secret
from sealer.sealing import migrate_bitnami, to_bitnami

__all__ = ["check", "migrate"]


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--allow-unparsable",
    "allow_unparsable",
    multiple=True,
    metavar="GLOB",
    help="YAML files matching GLOB that do not parse are checked as text only, not failed.",
)
def check(paths: tuple[str, ...], allow_unparsable: tuple[str, ...]) -> None:
    """Fail on plaintext Secrets, private keys or tokens in files (a pre-commit guard)."""
    from sealer.check import check_paths

    findings = check_paths(paths, allow_unparsable=allow_unparsable)
    for finding in findings:
        click.echo(str(finding))
    if findings:
        raise click.ClickException(
            f"{len(findings)} finding(s) in {len({f.path for f in findings})} file(s); "
            "seal secrets (seal FILE) or use Vault placeholders"
        )


@click.command("migrate")
@click.argument("file", required=False, metavar="[FILE|-]")
@click.option(
    "--to",
    "to",
    type=click.Choice(["sealops", "bitnami"]),
    default="sealops",
    show_default=True,
    help="sealops: Bitnami's SealedSecrets to ours. bitnami: ours back to Bitnami's.",
)
@click.option(
    "--cert",
    metavar="FILE|URL",
    help="With --to bitnami: the certificate of the Bitnami controller's key; of a value sealed "
    "for several clusters, the ciphertext for this key is kept.",
)
@output_options
def migrate(file: str | None, to: str, cert: str | None, output: str, write: str | None) -> None:
    """Convert Bitnami SealedSecret(s) (bitnami.com/v1alpha1) to sealops, or back with
    --to bitnami; ciphertexts unchanged."""
    if cert and to != "bitnami":
        raise click.UsageError("--cert is for --to bitnami only")
    fingerprint = load_recipients([cert], {})[0].fingerprint if cert else None
    what = "Bitnami SealedSecret manifest" if to == "sealops" else "SealedSecret manifest"
    data, source = read_input(file, what=what)
    docs = []
    for doc in load_documents(data, source=source):
        if doc.get("kind") != SEALED_SECRET:
            raise ManifestError("is not a SealedSecret", where=f"{source}: {object_ref(doc)}")
        sealed = parse_sealed_secret(doc, source=source)
        if to == "bitnami":
            docs.append(to_bitnami(sealed, fingerprint=fingerprint, source=source))
        else:
            docs.append(migrate_bitnami(sealed))
    if not docs:
        raise ManifestError("holds no SealedSecret", where=source)
    emit(dump_documents(docs, output), write)
