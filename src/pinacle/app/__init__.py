"""Use cases: what the CLI (and any other caller) does with pods, as functions on a Session.

Each reads the host once, decides with the pure diff in ``pinacle.pod``, changes the host through
pyinfra deploys, and returns typed records with ``to_json()``; the CLI only formats them.
"""
