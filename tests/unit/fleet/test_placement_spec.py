"""``placement:`` in a pod file: what it may say, where a bad value is reported, and that it stays out of dumps."""

from __future__ import annotations

import pytest
import yaml

from pinacle.errors import SpecError
from pinacle.pod.desired import plan_pod
from pinacle.pod.settings import DeploySettings
from pinacle.resolver import resolve, resolve_mapping
from pinacle.spec import PodSpec, pod_json_schema
from tests.unit.conftest import WritePod

POD = {"name": "Web", "slug": "web", "services": ["web-terminal"]}


def test_a_pod_may_name_hosts_groups_and_labels() -> None:
    placement = {"hosts": ["@ssh/pods-1.example.com", "10.0.0.5"], "groups": ["eu_pool"], "labels": {"zone": "eu-1"}}
    spec = resolve_mapping({**POD, "placement": placement})
    assert spec.placement.hosts == ("@ssh/pods-1.example.com", "10.0.0.5")
    assert (spec.placement.groups, spec.placement.labels) == (("eu_pool",), {"zone": "eu-1"})


def test_without_placement_any_host_will_do() -> None:
    placement = resolve_mapping(POD).placement
    assert (placement.hosts, placement.groups, placement.labels) == ((), (), {})


@pytest.mark.parametrize(
    ("placement", "where", "words"),
    [
        ({"groups": ["eu pool"]}, "placement.groups[0]", "must be a pyinfra group name"),
        ({"hosts": ["pods 1"]}, "placement.hosts[0]", "must be a pyinfra host name"),
        ({"labels": {"Zone": "eu"}}, "placement.labels.Zone", "must be a label name"),
        ({"labels": {"zone": "eu;1"}}, "placement.labels.zone", "must be a label value"),
        ({"labels": {"zone": 1}}, "placement.labels.zone", "string"),
        ({"rack": "a"}, "placement.rack", "unknown key"),
        ({"groups": [f"g{i}" for i in range(33)]}, "placement.groups", "at most 32"),
    ],
)
def test_a_bad_placement_names_file_line_and_field(
    write_pod: WritePod, placement: dict[str, object], where: str, words: str
) -> None:
    path = write_pod(yaml.safe_dump({**POD, "placement": placement}))
    with pytest.raises(SpecError) as error:
        resolve(path)
    assert f"{path}:" in str(error.value) and f"{where}: " in str(error.value)
    assert words in str(error.value)


def test_a_default_placement_is_left_out_of_a_dump_so_host_records_do_not_change() -> None:
    assert "placement" not in resolve_mapping(POD).model_dump(mode="json")


def test_a_given_placement_survives_a_dump_and_reload() -> None:
    spec = resolve_mapping({**POD, "placement": {"labels": {"zone": "eu-1"}}})
    assert PodSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_placement_does_not_touch_the_container() -> None:
    """Where a pod may go is not what it runs: changing it replaces no container."""
    settings = DeploySettings()
    plain = plan_pod(resolve_mapping(POD), settings).container
    placed = plan_pod(resolve_mapping({**POD, "placement": {"groups": ["eu_pool"]}}), settings).container
    assert plain.config_hash(None) == placed.config_hash(None)


def test_the_pod_json_schema_describes_placement() -> None:
    schema = pod_json_schema()
    assert set(schema["$defs"]["PlacementSpec"]["properties"]) == {"hosts", "groups", "labels"}
