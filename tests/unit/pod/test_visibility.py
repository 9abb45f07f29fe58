"""pinacle.pod.visibility: which routed ports the edge serves without a credential."""

from __future__ import annotations

from pinacle.pod.desired import plan_pod
from pinacle.pod.settings import DeploySettings
from pinacle.pod.visibility import main_name_is_public, public_ports
from pinacle.spec import AppPortSpec, PodSpec
from tests.unit.pod.conftest import demo_spec


def test_every_port_is_private_by_default() -> None:
    assert public_ports(demo_spec()) == frozenset()


def test_a_public_app_port_is_listed_by_its_in_pod_port() -> None:
    spec = demo_spec(ports=(AppPortSpec(name="app", port=3000, visibility="public"), AppPortSpec(name="b", port=4000)))
    assert public_ports(spec) == {3000}


def test_a_public_catalog_service_is_listed_by_its_catalog_port() -> None:
    assert public_ports(demo_spec(visibility={"web-terminal": "public"})) == {7681}


def test_a_service_marked_private_stays_private() -> None:
    assert public_ports(demo_spec(visibility={"web-terminal": "private"})) == frozenset()


def test_the_main_name_follows_the_main_port() -> None:
    public_app = (AppPortSpec(name="app", port=3000, visibility="public"),)
    assert main_name_is_public(demo_spec(ports=public_app))
    assert not main_name_is_public(demo_spec(ports=public_app, default_port=7681))
    assert main_name_is_public(demo_spec(ports=(), visibility={"web-terminal": "public"}))


def test_visibility_survives_the_host_record_round_trip() -> None:
    spec = demo_spec(
        ports=(AppPortSpec(name="app", port=3000, visibility="public"),), visibility={"web-terminal": "public"}
    )
    record_spec = plan_pod(spec, DeploySettings()).spec.model_dump(mode="json")
    assert public_ports(PodSpec.model_validate(record_spec)) == {3000, 7681}
