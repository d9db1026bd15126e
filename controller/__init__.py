"""The sealops controller: a kopf operator that turns SealedSecrets (and VaultSecrets) into Secrets.

Entry points: the ``sealops-controller`` console script and ``python -m controller``
(:mod:`controller.cli`). The kopf handlers in :mod:`controller.operator` are thin: they call the
reconcilers (:mod:`controller.sealedsecrets`), which use :mod:`controller.keyring` for keys,
:mod:`controller.secretwriter` for the ownership rules, and :mod:`sealer.kube` for the API.
"""
