"""The local sandbox: a stand-in for a Kubernetes cluster and a Vault, for ``make demo`` and tests.

Not product: it is never packaged or shipped (setuptools ships ``sealer`` and ``controller``
only, and the image's build context leaves it out). See ``sandbox/README.md``.
"""
