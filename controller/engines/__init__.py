"""The controller's work outside kopf's handlers, one module each (as kopf's ``_core/engines``).

- :mod:`.leader`: whether this replica is the active one of its kopf peering;
- :mod:`.drift`: a managed Secret edited or deleted is put back from its source object;
- :mod:`.resync`: the periodic pass that catches what a lost watch event hid;
- :mod:`.keys`: the key loop (reload key Secrets, renew the sealing key when due).

Each reconciles through :class:`controller.reconcile.Reconciler`, so locks, reasons, retries and
reports are the same whichever path reached an object.
"""
