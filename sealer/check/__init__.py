"""``seal check``: find secrets that must not be committed.

:func:`scan` is pure code over one file's content; :func:`check_paths` reads the files.

What it reports (file, line, object, field and the detector's type; never the value):

- a ``v1 Secret`` whose ``data``/``stringData`` value is plaintext by :mod:`sealer.plaintext`'s
  rule, the one ``seal render --deny-plaintext`` applies (:func:`judge`);
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

Modules: :mod:`~sealer.check.files` (the files), :mod:`~sealer.check.scan` (one file),
:mod:`~sealer.check.objects` (the kinds it knows), :mod:`~sealer.check.textual` (a document
that does not parse), :mod:`~sealer.check.values` (one value), :mod:`~sealer.check.nodes`
(YAML), :mod:`~sealer.check.state` (findings).
"""

from __future__ import annotations

from sealer.check.files import MAX_FILE_BYTES, check_paths, is_helm_template
from sealer.check.scan import scan
from sealer.check.state import Finding
from sealer.plaintext import plaintext_reason as judge

__all__ = ["MAX_FILE_BYTES", "Finding", "check_paths", "is_helm_template", "judge", "scan"]
