"""The ``pinacle`` and ``pinacle-deploy`` commands: thin click shells over the library."""
