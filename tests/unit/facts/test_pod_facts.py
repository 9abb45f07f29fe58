"""Pod facts are a command plus a parser: the parsers, on output Docker really prints."""

from __future__ import annotations

from pinacle.facts.pod import PodContainer, PodMetadata

# `docker inspect --format CONTAINER_FORMAT pinacle-demo`, as printed by Docker 20.10 here.
INSPECT_LINE = (
    '{"name":"/pinacle-demo","id":"5f0c","status":"exited","exit_code":137,"restart_count":2,'
    '"started_at":"2026-11-26T20:38:21Z","created":"2026-11-26T20:38:20Z","image":"pinacle/base:latest",'
    '"runtime":"runsc","labels":{"pinacle.pod":"demo","pinacle.port":"30005","pinacle.spec-hash":"ab"},'
    '"nano_cpus":1500000000,"memory":536870912,"env":["PATH=/bin","FOO=bar"]}'
)


def test_an_inspected_container_becomes_a_record() -> None:
    record = PodContainer().process([INSPECT_LINE])
    assert record is not None
    assert (record.name, record.slug, record.host_port, record.spec_hash) == ("pinacle-demo", "demo", 30005, "ab")
    assert (record.running, record.state, record.restart_count) == (False, "exited (137)", 2)
    assert (record.cpus, record.memory_mb, record.env) == (1.5, 512, ("PATH=/bin", "FOO=bar"))


def test_a_missing_container_is_none() -> None:
    assert PodContainer().process(["absent"]) is None
    assert PodContainer().process([]) is None


def test_pod_metadata_reads_json_and_refuses_anything_else() -> None:
    assert PodMetadata().process(['{"slug": "demo",', '"routes": []}']) == {"slug": "demo", "routes": []}
    assert PodMetadata().process(["Error: No such container: pinacle-demo"]) is None
    assert PodMetadata().process(["[1, 2]"]) is None
