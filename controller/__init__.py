"""The sealops controller: a kopf operator that turns SealedSecrets (and VaultSecrets) into Secrets.

Entry points: the ``sealops-controller`` console script and ``python -m controller``
(:mod:`controller.cli`). :mod:`controller.operator` is the wiring only: its kopf handlers call the
one reconcile path (:mod:`controller.reconcile`) of each kind (:mod:`controller.sealedsecrets`,
:mod:`controller.vaultsecrets`), and the work outside kopf's handlers is in
:mod:`controller.engines`; the reconcilers use :mod:`controller.keyring` for keys,
:mod:`controller.secretwriter` for the ownership rules, and :mod:`sealer.kube` for the API.
"""
