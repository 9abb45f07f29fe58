"""pinacle.pod.settings: where and how a target publishes pods, from defaults or the environment."""

from __future__ import annotations

import pytest

from pinacle.errors import SpecError
from pinacle.pod.settings import DeploySettings


def test_deploy_settings_defaults() -> None:
    settings = DeploySettings()
    assert (settings.domain, settings.port_range, settings.publish_address) == (
        "localhost",
        (30000, 40000),
        "127.0.0.1",
    )


@pytest.mark.parametrize("port_range", [(80, 90), (40000, 30000), (30000, 70000)])
def test_port_range_outside_unprivileged_ports_or_reversed_is_refused(port_range: tuple[int, int]) -> None:
    with pytest.raises(SpecError, match="port range"):
        DeploySettings(port_range=port_range)


@pytest.mark.parametrize("domain", ["", "a;b", "x}.example", "$host", "Example.com"])
def test_domain_that_is_not_a_host_name_is_refused(domain: str) -> None:
    with pytest.raises(SpecError, match="not a valid host name suffix"):
        DeploySettings(domain=domain)


@pytest.mark.parametrize("address", ["localhost", "::1", "127.0.0.1; id"])
def test_publish_address_that_is_not_ipv4_is_refused(address: str) -> None:
    with pytest.raises(SpecError, match="must be an IPv4 address"):
        DeploySettings(publish_address=address)


def test_from_env_without_variables_gives_the_defaults() -> None:
    assert DeploySettings.from_env({}) == DeploySettings()


def test_from_env_reads_domain_range_and_address() -> None:
    settings = DeploySettings.from_env(
        {
            "PINACLE_DOMAIN": "pods.example.com",
            "PINACLE_PORT_RANGE": "31000-31010",
            "PINACLE_PUBLISH_ADDRESS": "0.0.0.0",
        }
    )
    assert settings == DeploySettings("pods.example.com", (31000, 31010), "0.0.0.0")


@pytest.mark.parametrize("raw", ["30000", "30000:40000", "a-b", "30000 - 40000"])
def test_from_env_refuses_a_malformed_port_range(raw: str) -> None:
    with pytest.raises(SpecError, match="PINACLE_PORT_RANGE must look like 30000-40000"):
        DeploySettings.from_env({"PINACLE_PORT_RANGE": raw})


def test_from_env_refuses_an_out_of_bounds_port_range() -> None:
    with pytest.raises(SpecError, match="port range 100-200"):
        DeploySettings.from_env({"PINACLE_PORT_RANGE": "100-200"})


def test_from_env_refuses_a_bad_domain() -> None:
    with pytest.raises(SpecError, match="domain"):
        DeploySettings.from_env({"PINACLE_DOMAIN": "bad domain"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PINACLE_DOMAIN", "localhost\n"),
        ("PINACLE_DOMAIN", "a" * 191),
        ("PINACLE_PORT_RANGE", "30000-40000\n"),
        ("PINACLE_PORT_RANGE", "\uff13\uff10\uff10\uff10\uff10-40000"),
        ("PINACLE_PUBLISH_ADDRESS", "127.0.0.1\n"),
        ("PINACLE_PUBLISH_ADDRESS", "999.0.0.1"),
        ("PINACLE_PUBLISH_ADDRESS", "\uff11\uff12\uff17.0.0.1"),
    ],
    ids=["domain-newline", "domain-long", "range-newline", "range-fullwidth", "address-newline", "address-999",
         "address-fullwidth"],
)  # fmt: skip
def test_from_env_refuses_values_outside_their_whole_ascii_grammar_naming_the_variable(
    variable: str, value: str
) -> None:
    with pytest.raises(SpecError) as error:
        DeploySettings.from_env({variable: value})
    assert str(error.value).startswith(variable)
    assert "\n" not in str(error.value)
