"""Reading and writing manifests: Secrets, SealedSecrets (ours and Bitnami's), YAML and JSON.

Pure code over bytes and dicts: no file or network I/O. Used by :mod:`sealer.sealing`, the CLI and
the controller. Every error names the object (``Secret ns/name``) and the field (``data.password``)
and never quotes a value: YAML parse errors report line and column only, because PyYAML's own
messages quote the offending text.
"""

from __future__ import annotations

from sealer.manifests.documents import dump_documents, load_documents
from sealer.manifests.fields import (
    check_data_keys,
    object_ref,
    reserved_key,
    scope_from_annotations,
)
from sealer.manifests.sealed import (
    SealedSecretDoc,
    TemplateEngine,
    clean_metadata,
    format_sealed_with,
    parse_sealed_secret,
    parse_sealed_with,
    sealed_secret_manifest,
)
from sealer.manifests.secrets import PlainSecret, parse_secret, secret_manifest, template_metadata
from sealer.manifests.yamlout import dump_yaml

__all__ = [
    "PlainSecret",
    "SealedSecretDoc",
    "TemplateEngine",
    "check_data_keys",
    "clean_metadata",
    "dump_documents",
    "dump_yaml",
    "format_sealed_with",
    "load_documents",
    "object_ref",
    "parse_sealed_secret",
    "parse_sealed_with",
    "parse_secret",
    "reserved_key",
    "scope_from_annotations",
    "sealed_secret_manifest",
    "secret_manifest",
    "template_metadata",
]
