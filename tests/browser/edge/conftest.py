"""The edge's browser tests share the edge integration tests' pods (``edge_pods``: A with its
app port public, B private) and this host's edge (``host_edge``)."""

from tests.integration.edge.conftest import edge_pods, host_edge  # noqa: F401 (fixtures)
