"""The ``pinacle`` and ``pinacle-deploy`` commands: thin click shells over the library."""

import click

# A usage error exits 64 (EX_USAGE): click's own 2 is what ``--dry-run`` answers for "changes
# pending", and a script must be able to tell a typo from a plan.
click.UsageError.exit_code = 64
