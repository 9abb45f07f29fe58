"""The one exception tree. The CLI maps these to exit codes in one place (``pinacle.cli.errors``).

Exit codes: 0 ok; 2 ``--dry-run`` found changes pending; 1 any other pinacle error; 3 target;
4 host not fit; 5 an operation failed; 6 unhealthy; 7 no such pod or snapshot; 9 conflict;
64 usage (a click usage error); 65 a malformed pod file.
"""

from __future__ import annotations


class PinacleError(Exception):
    """Base of every error pinacle raises on purpose. Its message says what to fix."""

    exit_code = 1


class UsageError(PinacleError):
    """A call asks for something that cannot be meant (no command, a service the pod lacks)."""

    exit_code = 64  # EX_USAGE, as a click usage error


class SpecError(PinacleError):
    """A pod file is malformed: raised before anything reaches a host."""

    exit_code = 65  # EX_DATAERR; 2 is reserved for "changes pending" in --dry-run


class ConflictError(PinacleError):
    """The request is well-formed but conflicts with what the host holds (a name taken, in use)."""

    exit_code = 9


class TargetError(PinacleError):
    """The target host cannot be reached or selected."""

    exit_code = 3


class HostError(PinacleError):
    """The host is not fit to run pods (no Docker, no gVisor runtime, ...)."""

    exit_code = 4


class DeployError(PinacleError):
    """An operation failed on the host."""

    exit_code = 5


class PortClaimLost(DeployError):
    """A concurrent deploy claimed the host port this one chose; reading the host again resolves it."""


class PodNotFound(PinacleError):
    """The named pod is on none of the target's hosts."""

    exit_code = 7


class SnapshotNotFound(PodNotFound):
    """The named snapshot is on none of the target's hosts."""


class HealthError(PinacleError):
    """The pod was rolled out but its services did not become healthy in time."""

    exit_code = 6
