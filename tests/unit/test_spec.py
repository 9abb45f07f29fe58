"""PodSpec and friends, constructed directly: defaults, bounds, helpers, schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from pinacle.catalog import CATALOG
from pinacle.spec import (
    APP_NAME_PATTERN,
    ENV_KEY_PATTERN,
    HEALTH_PATH_PATTERN,
    IMAGE_PATTERN,
    RUNTIME_PATTERN,
    SLUG_PATTERN,
    TEMPLATE_PATTERN,
    AppPortSpec,
    PodSpec,
    ResourceSpec,
    memory_to_mb,
    pod_json_schema,
)


def pod(**fields: Any) -> PodSpec:
    data: dict[str, Any] = {"name": "Test pod", "slug": "test", "services": ["web-terminal"]}
    data.update(fields)
    return PodSpec.model_validate(data)


def messages(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    """``ports.1.port`` -> message, for terse assertions."""
    return {".".join(map(str, e["loc"])): e["msg"] for e in error.value.errors()}


def test_minimal_pod_gets_the_documented_defaults() -> None:
    spec = pod()
    assert spec.image == "pinacle/base:latest"
    assert spec.runtime == "runsc"
    assert spec.resources == ResourceSpec(cpus=1.0, memory=1024)
    assert spec.resources.memory_mb == 1024
    assert (spec.template, spec.host_port, spec.default_port) == (None, None, None)
    assert (spec.ports, spec.env) == ((), {})


@pytest.mark.parametrize(
    ("memory", "megabytes"),
    [
        ("512m", 512),
        ("512M", 512),
        ("512MB", 512),
        ("768Mi", 768),
        ("1g", 1024),
        ("1GiB", 1024),
        ("1.5g", 1536),
        ("65536k", 64),
        (2048, 2048),
        ("256GiB", 262144),
    ],
)
def test_memory_is_normalised_to_mebibytes(memory: str | int, megabytes: int) -> None:
    assert ResourceSpec(memory=memory).memory_mb == megabytes
    assert memory_to_mb(memory) == megabytes


@pytest.mark.parametrize(
    ("memory", "fragment"),
    [
        ("512", "like 512m"),
        ("lots", "like 512m"),
        ("-1g", "like 512m"),
        ("1.0001m", "whole number of MiB"),
        ("32m", "between 64 MiB and 262144 MiB"),
        (63, "between 64 MiB"),
        ("257g", "between 64 MiB"),
        (True, "like 512m"),
        (1.5, "like 512m"),
    ],
)
def test_memory_outside_the_accepted_forms_is_refused(memory: Any, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        ResourceSpec(memory=memory)
    assert fragment in messages(error)["memory"]


def test_whole_cpus_are_accepted_as_floats() -> None:
    assert ResourceSpec(cpus=2).cpus == 2.0


@pytest.mark.parametrize("cpus", [0, -1, 64.5, float("nan"), "2", True])
def test_cpus_outside_0_to_64_or_not_numbers_are_refused(cpus: Any) -> None:
    with pytest.raises(ValidationError):
        ResourceSpec(cpus=cpus)


@pytest.mark.parametrize("slug", ["a", "example", "pod-2", "x" * 42, "0abc"])
def test_dns_label_slugs_are_accepted(slug: str) -> None:
    assert pod(slug=slug).slug == slug


@pytest.mark.parametrize("slug", ["", "Example", "-pod", "pod-", "my_pod", "x" * 43, "a.b"])
def test_slugs_that_are_not_short_dns_labels_are_refused(slug: str) -> None:
    with pytest.raises(ValidationError) as error:
        pod(slug=slug)
    assert "DNS label of at most 42 characters" in messages(error)["slug"]


def test_validator_messages_have_no_pydantic_prefix() -> None:
    with pytest.raises(ValidationError) as error:
        pod(slug="Bad")
    assert not messages(error)["slug"].startswith("Value error")


@pytest.mark.parametrize("name", ["", "   ", "two\nlines", "tab\there", "x" * 101])
def test_names_must_be_one_printable_line_of_at_most_100_chars(name: str) -> None:
    with pytest.raises(ValidationError) as error:
        pod(name=name)
    assert "name" in messages(error)


@pytest.mark.parametrize(
    "image",
    [
        "pinacle/base:latest",
        "ubuntu",
        "docker.io/library/python:3.12-slim",
        "localhost:5000/team/app_x.y:v1",
        "ghcr.io/org/app@sha256:" + "a" * 64,
    ],
)
def test_docker_image_references_are_accepted(image: str) -> None:
    assert pod(image=image).image == image


@pytest.mark.parametrize(
    "image",
    ["pinacle/base latest", "base:$(id)", "base;rm", "Pinacle/Base", "", "base:", "a" * 256],
)
def test_image_references_with_shell_characters_or_bad_syntax_are_refused(image: str) -> None:
    with pytest.raises(ValidationError) as error:
        pod(image=image)
    assert "Docker image reference" in messages(error)["image"]


@pytest.mark.parametrize("runtime", ["runsc", "runsc-kvm", "runsc_debug", "io.gvisor.v1"])
def test_gvisor_runtime_names_are_accepted(runtime: str) -> None:
    assert pod(runtime=runtime).runtime == runtime


@pytest.mark.parametrize("runtime", ["runc", "crun", "io.containerd.runc.v2", "RunC", "CRUN", "io.containerd.RUNC.v2"])
def test_runtimes_without_a_sandbox_are_refused_naming_gvisor(runtime: str) -> None:
    with pytest.raises(ValidationError) as error:
        pod(runtime=runtime)
    assert "pods always run under gVisor" in messages(error)["runtime"]


def test_runtime_names_with_shell_characters_are_refused() -> None:
    with pytest.raises(ValidationError):
        pod(runtime="runsc --privileged")


@pytest.mark.parametrize("port", [0, 80, 65536, -1])
def test_app_ports_outside_1_to_65535_or_on_80_are_refused(port: int) -> None:
    with pytest.raises(ValidationError) as error:
        AppPortSpec(name="app", port=port)
    assert messages(error)["port"] == "must be 1..65535 and not 80"


@pytest.mark.parametrize("port", ["3000", True, 3000.0])
def test_app_ports_must_be_integers_not_lookalikes(port: Any) -> None:
    with pytest.raises(ValidationError):
        AppPortSpec(name="app", port=port)


@pytest.mark.parametrize("name", ["App", "1app", "my_app", "-app", "a" * 32])
def test_app_names_must_be_short_lowercase_labels(name: str) -> None:
    with pytest.raises(ValidationError):
        AppPortSpec(name=name, port=3000)


@pytest.mark.parametrize("path", ["/", "/health", "/api/v1/status?full=1", "/a-b_c.d~e"])
def test_plain_health_paths_are_accepted(path: str) -> None:
    assert AppPortSpec(name="app", port=3000, health_path=path).health_path == path


@pytest.mark.parametrize("path", ["health", "/;rm -rf /", "/a b", "/'x'", '/"x"', "/a\\b", "/{x}", "/$HOME", "/`id`"])
def test_health_paths_that_could_break_out_of_a_config_are_refused(path: str) -> None:
    with pytest.raises(ValidationError):
        AppPortSpec(name="app", port=3000, health_path=path)


@pytest.mark.parametrize("command", ["", "  ", "a\nb", "a\x00b"])
def test_app_commands_must_be_one_non_empty_line(command: str) -> None:
    with pytest.raises(ValidationError):
        AppPortSpec(name="app", port=3000, command=command)


def test_unknown_and_repeated_services_are_reported_at_their_index() -> None:
    with pytest.raises(ValidationError) as error:
        pod(services=["web-terminal", "jupyter", "web-terminal"])
    found = messages(error)
    assert found["services.1"].startswith("unknown service; known: web-terminal")
    assert found["services.2"] == "service listed twice"


def test_repeated_port_names_and_numbers_are_reported_at_the_repeat() -> None:
    ports = [{"name": "a", "port": 3000}, {"name": "a", "port": 3000}]
    with pytest.raises(ValidationError) as error:
        pod(ports=ports)
    assert messages(error) == {
        "ports.1.name": "name already used by ports[0]",
        "ports.1.port": "port already used by ports[0]",
    }


def test_an_app_port_on_a_selected_services_port_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        pod(ports=[{"name": "app", "port": 7681}])
    assert messages(error) == {"ports.0.port": "port is already used by service web-terminal"}


def test_an_app_port_on_an_unselected_services_port_is_fine() -> None:
    assert pod(ports=[{"name": "app", "port": 8726}]).ports[0].port == 8726


def test_an_app_named_like_a_selected_service_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        pod(ports=[{"name": "web-terminal", "port": 3000}])
    assert "ports.0.name" in messages(error)


def test_a_pod_with_neither_services_nor_ports_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        pod(services=[])
    assert "at least one service or one app port" in messages(error)["services"]


def test_a_pod_with_only_app_ports_is_fine() -> None:
    assert pod(services=[], ports=[{"name": "app", "port": 3000}]).main_port == 3000


@pytest.mark.parametrize("key", ["1FOO", "MY-VAR", "A B", ""])
def test_env_names_must_be_shell_variable_names(key: str) -> None:
    with pytest.raises(ValidationError):
        pod(env={key: "x"})


@pytest.mark.parametrize("key", ["PINACLE_TOKEN", "pinacle_token"])
def test_env_names_in_the_pinacle_namespace_are_reserved(key: str) -> None:
    with pytest.raises(ValidationError) as error:
        pod(env={key: "x"})
    assert "reserved for pinacle" in str(error.value)


def test_env_values_must_be_strings_without_nul() -> None:
    with pytest.raises(ValidationError):
        pod(env={"A": 1})
    with pytest.raises(ValidationError):
        pod(env={"A": "a\x00b"})


@pytest.mark.parametrize("host_port", [80, 1023, 65536])
def test_host_ports_outside_1024_to_65535_are_refused(host_port: int) -> None:
    with pytest.raises(ValidationError) as error:
        pod(host_port=host_port)
    assert messages(error)["host_port"] == "must be 1024..65535"


def test_default_port_must_be_declared() -> None:
    with pytest.raises(ValidationError) as error:
        pod(default_port=3000)
    assert messages(error)["default_port"] == "must be one of the pod's declared ports (7681)"


def test_declared_ports_lists_services_then_app_ports() -> None:
    spec = pod(services=["code-server", "web-terminal"], ports=[{"name": "app", "port": 3000}])
    assert spec.declared_ports() == {8726: "code-server", 7681: "web-terminal", 3000: "app"}
    assert list(spec.declared_ports()) == [8726, 7681, 3000]


def test_main_port_is_the_default_port_when_given() -> None:
    spec = pod(ports=[{"name": "app", "port": 3000}], default_port=7681)
    assert spec.main_port == 7681


def test_main_port_is_the_first_app_port_without_a_default() -> None:
    spec = pod(ports=[{"name": "app", "port": 3000}, {"name": "api", "port": 8000}])
    assert spec.main_port == 3000


def test_main_port_is_the_first_services_port_without_app_ports() -> None:
    assert pod(services=["claude-code", "web-terminal"]).main_port == 2528


def test_unknown_keys_are_refused_at_every_level() -> None:
    with pytest.raises(ValidationError) as error:
        pod(colour="red", resources={"gpus": 1}, ports=[{"name": "a", "port": 1, "tls": True}])
    assert set(messages(error)) == {"colour", "resources.gpus", "ports.0.tls"}


def test_specs_are_immutable() -> None:
    spec = pod()
    with pytest.raises(ValidationError):
        spec.slug = "other"


def test_a_dumped_spec_loads_back_equal() -> None:
    spec = pod(ports=[{"name": "app", "port": 3000}], resources={"memory": "2g"}, env={"A": "b"})
    assert PodSpec.model_validate(spec.model_dump()) == spec
    assert PodSpec.model_validate_json(spec.model_dump_json()) == spec


def test_json_schema_is_generated_and_serialisable() -> None:
    schema = pod_json_schema()
    json.dumps(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "slug"}


def test_json_schema_carries_the_same_rules_as_the_validators() -> None:
    properties = pod_json_schema()["properties"]
    assert properties["slug"]["pattern"] == SLUG_PATTERN
    assert properties["services"]["items"]["enum"] == list(CATALOG)
    assert properties["runtime"]["pattern"] == RUNTIME_PATTERN


@pytest.mark.parametrize("runtime", ["runc", "RunC", "CRUN", "youki", "io.containerd.Runc.v2"])
def test_json_schema_refuses_unsandboxed_runtimes_in_any_case(runtime: str) -> None:
    schema = pod_json_schema()["properties"]["runtime"]
    assert not jsonschema.Draft202012Validator(schema).is_valid(runtime)


@pytest.mark.parametrize("runtime", ["runsc", "runsc-kvm", "io.gvisor.v1", "runcx", "io.containerd.runcXv2"])
def test_json_schema_accepts_gvisor_runtime_names(runtime: str) -> None:
    schema = pod_json_schema()["properties"]["runtime"]
    assert jsonschema.Draft202012Validator(schema).is_valid(runtime)


# --- Limits: nothing unbounded reaches docker run, the router or the supervisor -------------------


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"name": "x" * 101}, "name"),
        ({"runtime": "r" * 65}, "runtime"),
        ({"template": "t" * 64}, "template"),
        ({"image": "a" * 256}, "image"),
        ({"services": ["web-terminal"] * 17}, "services"),
        ({"ports": [{"name": f"a{i}", "port": 3000 + i} for i in range(33)]}, "ports"),
        ({"ports": [{"name": "app", "port": 3000, "command": "x" * 4097}]}, "ports.0.command"),
        ({"ports": [{"name": "app", "port": 3000, "health_path": "/" + "x" * 256}]}, "ports.0.health_path"),
        ({"env": {f"K{i}": "v" for i in range(129)}}, "env"),
        ({"env": {"K" * 129: "v"}}, "env." + "K" * 129 + ".[key]"),
        ({"env": {"K": "v" * 16385}}, "env.K"),
        ({"env": {f"K{i}": "v" * 16000 for i in range(3)}}, "env"),
        ({"resources": {"memory": "5" * 40 + "m"}}, "resources.memory"),
    ],
    ids=["name", "runtime", "template", "image", "services", "ports", "command", "health-path", "env-count",
         "env-key", "env-value", "env-total", "memory"],
)  # fmt: skip
def test_every_field_has_a_limit(fields: dict[str, Any], location: str) -> None:
    with pytest.raises(ValidationError) as error:
        pod(**fields)
    assert location in messages(error)


def test_fields_at_their_limits_are_accepted() -> None:
    spec = pod(
        name="x" * 100,
        runtime="r" * 64,
        ports=[
            {"name": f"a{i}", "port": 3000 + i, "command": "x" * 4096, "health_path": "/" + "h" * 255}
            for i in range(32)
        ],
        env={f"K{i}": "v" * 250 for i in range(128)},
    )
    assert (len(spec.ports), len(spec.env)) == (32, 128)


def test_the_env_total_counts_utf8_bytes_of_key_equals_value() -> None:
    with pytest.raises(ValidationError) as error:
        pod(env={"A": "é" * 8000, "B": "é" * 8400})
    assert messages(error)["env"] == (
        "takes 32804 bytes in all (KEY=VALUE, UTF-8); at most 32768: Docker passes every variable on its command line"
    )


def test_the_json_schema_shows_the_limits() -> None:
    schema = pod_json_schema()
    properties, app = schema["properties"], schema["$defs"]["AppPortSpec"]["properties"]
    assert properties["name"]["maxLength"] == 100
    assert properties["runtime"]["maxLength"] == 64
    assert properties["services"]["maxItems"] == 16
    assert properties["ports"]["maxItems"] == 32
    assert properties["env"]["maxProperties"] == 128
    assert properties["env"]["propertyNames"]["maxLength"] == 128
    assert properties["env"]["additionalProperties"]["maxLength"] == 16384
    assert "32768 bytes in all" in properties["env"]["description"]
    assert app["command"]["anyOf"][0]["maxLength"] == 4096
    assert app["health_path"]["maxLength"] == 256


# --- Anchors: every check matches the whole value, in ASCII ---------------------------------------

VALID_STRINGS = {
    "slug": ("slug", "example"),
    "template": ("template", "web-terminal"),
    "image": ("image", "pinacle/base:latest"),
    "runtime": ("runtime", "runsc"),
    "name": ("name", "Example"),
}


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\x00", " ", "\u2028"], ids=["lf", "crlf", "nul", "space", "u2028"])
@pytest.mark.parametrize("field", ["slug", "template", "image", "runtime"])
def test_a_valid_value_with_a_trailing_line_break_or_space_is_refused(field: str, ending: str) -> None:
    value = {"slug": "example", "template": "web-terminal", "image": "pinacle/base:latest", "runtime": "runsc"}[field]
    with pytest.raises(ValidationError) as error:
        pod(**{field: value + ending})
    assert field in messages(error)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\x00", "\u2028"], ids=["lf", "crlf", "nul", "u2028"])
def test_app_fields_with_a_trailing_line_break_are_refused(ending: str) -> None:
    for fields in ({"name": "app" + ending}, {"health_path": "/health" + ending}, {"command": "./run" + ending}):
        with pytest.raises(ValidationError):
            AppPortSpec(**{"name": "app", "port": 3000, **fields})
    with pytest.raises(ValidationError):
        pod(env={"KEY" + ending: "x"})
    with pytest.raises(ValidationError):
        ResourceSpec(memory="512m" + ending)


@pytest.mark.parametrize("memory", ["\uff15\uff11\uff12m", "512m\n", " 512m", "512\tm", "\u0661\u0660\u0662\u0664m"])
def test_memory_is_ascii_digits_and_a_unit_only(memory: str) -> None:
    with pytest.raises(ValidationError):
        ResourceSpec(memory=memory)


@pytest.mark.parametrize("path", ["/é", "/a#b", "/a<b>", "/a|b", "/a^b", "/\u00a0"])
def test_health_paths_are_plain_ascii_url_paths(path: str) -> None:
    with pytest.raises(ValidationError):
        AppPortSpec(name="app", port=3000, health_path=path)


@pytest.mark.parametrize("command", ["a\x0bb", "a\x0cb", "a\x1bb", "a\x85b", "a\u2028b", "a\u2029b", "a\x7fb"])
def test_commands_hold_no_character_a_config_reader_would_split_on(command: str) -> None:
    with pytest.raises(ValidationError) as error:
        AppPortSpec(name="app", port=3000, command=command)
    assert "one line of printable characters" in str(error.value)


def test_commands_may_hold_tabs_and_shell_syntax() -> None:
    command = "sh -c 'echo $(id) `id` \"$HOME\" ; exit 0'\t# %(here)s"
    assert AppPortSpec(name="app", port=3000, command=command).command == command


@pytest.mark.parametrize(
    "pattern", [SLUG_PATTERN, APP_NAME_PATTERN, TEMPLATE_PATTERN, RUNTIME_PATTERN, ENV_KEY_PATTERN,
                HEALTH_PATH_PATTERN, IMAGE_PATTERN],
)  # fmt: skip
def test_json_schema_patterns_are_anchored_at_both_ends(pattern: str) -> None:
    # JSON Schema (ECMA-262) reads $ as the end of the input; Python never checks with these.
    assert pattern.startswith("^")
    assert pattern.endswith("$")


# --- Visibility: who may open a port through the edge ---------------------------------------------


def test_ports_and_services_are_private_by_default() -> None:
    spec = pod(ports=[{"name": "app", "port": 3000}])
    assert (spec.ports[0].visibility, spec.visibility) == ("private", {})


def test_a_port_and_a_service_can_be_made_public() -> None:
    spec = pod(ports=[{"name": "app", "port": 3000, "visibility": "public"}], visibility={"web-terminal": "public"})
    assert (spec.ports[0].visibility, spec.visibility) == ("public", {"web-terminal": "public"})


@pytest.mark.parametrize("value", ["Public", "open", "", True, 1, None])
def test_a_bad_port_visibility_is_refused_at_its_field(value: Any) -> None:
    with pytest.raises(ValidationError) as error:
        pod(ports=[{"name": "app", "port": 3000, "visibility": value}])
    assert messages(error)["ports.0.visibility"] == "Input should be 'private' or 'public'"


def test_a_bad_service_visibility_is_refused_at_its_key() -> None:
    with pytest.raises(ValidationError) as error:
        pod(visibility={"web-terminal": "everyone"})
    assert messages(error)["visibility.web-terminal"] == "Input should be 'private' or 'public'"


def test_visibility_of_a_service_the_pod_does_not_run_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        pod(visibility={"code-server": "public"})
    assert messages(error)["visibility.code-server"] == (
        "code-server is not a service this pod runs (its services: web-terminal)"
    )


def test_visibility_of_an_app_port_by_name_points_at_the_port() -> None:
    with pytest.raises(ValidationError) as error:
        pod(ports=[{"name": "app", "port": 3000}], visibility={"app": "public"})
    assert messages(error)["visibility.app"] == "app is an app port: set ports[0].visibility instead"


def test_the_json_schema_shows_visibility() -> None:
    schema = pod_json_schema()
    app = schema["$defs"]["AppPortSpec"]["properties"]["visibility"]
    assert (app["enum"], app["default"]) == (["private", "public"], "private")
    pod_level = schema["properties"]["visibility"]
    assert pod_level["additionalProperties"]["enum"] == ["private", "public"]
    assert pod_level["propertyNames"]["enum"] == list(CATALOG)
