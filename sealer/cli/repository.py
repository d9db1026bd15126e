"""Commands over a repository's files: ``check`` (the pre-commit guard) and ``migrate``.

``check`` fails on plaintext Secrets, private keys and tokens; ``migrate`` turns Bitnami
SealedSecrets into ours, ciphertexts unchanged.
"""

from __future__ import annotations

import click

from sealer.api import SEALED_SECRET
from sealer.cli.documents import emit
from sealer.cli.io import read_input
from sealer.cli.options import output_options
from sealer.errors import ManifestError
from sealer.manifests import dump_documents, load_documents, object_ref, parse_sealed_secret
from sealer.sealing import migrate_bitnami

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
@output_options
def migrate(file: str | None, output: str, write: str | None) -> None:
    """Convert Bitnami SealedSecret(s) (bitnami.com/v1alpha1) to sealops, ciphertexts unchanged."""
    data, source = read_input(file, what="Bitnami SealedSecret manifest")
    docs = []
    for doc in load_documents(data, source=source):
        if doc.get("kind") != SEALED_SECRET:
            raise ManifestError("is not a SealedSecret", where=f"{source}: {object_ref(doc)}")
        docs.append(migrate_bitnami(parse_sealed_secret(doc, source=source)))
    if not docs:
        raise ManifestError("holds no SealedSecret", where=source)
    emit(dump_documents(docs, output), write)
