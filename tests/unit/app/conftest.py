"""The use-case tests plan pods as the planner tests do: the same fixtures."""

from tests.unit.pod.conftest import in_sync, make_plan

__all__ = ["in_sync", "make_plan"]
