"""pinacle.pod.access: the edge-auth commands a day-2 command runs, and the URLs it prints. Plain asserts."""

from __future__ import annotations

import pytest

from pinacle.errors import HostError, UsageError
from pinacle.pod import access

SCRIPT = access.EDGE_AUTH_SCRIPT
TOKEN = "v1.1796138626.deafd8a7e21eb348457ea3f1a2308c1b.QOexoHJPshtYmr8Pt3xYCgsYF8tm05HWZOGLN8RvQHc"


def test_host_names_are_the_pods_main_name_or_a_ports() -> None:
    assert access.pod_host_name("demo", "example.com") == "pod-demo.example.com"
    assert access.pod_host_name("demo", "example.com", 7681) == "localhost-7681.pod-demo.example.com"


def test_a_service_is_found_among_the_routes() -> None:
    routes = [("web-terminal", 7681), ("app", 3000)]
    assert access.service_port("demo", routes, "app") == 3000
    assert access.service_port("demo", routes, None) is None


def test_an_unknown_service_is_a_usage_error_listing_the_known_ones() -> None:
    with pytest.raises(UsageError, match="its services: web-terminal, app"):
        access.service_port("demo", [("web-terminal", 7681), ("app", 3000)], "nope")


def test_the_commands_are_argvs_of_the_script() -> None:
    assert access.token_argv("demo", False, SCRIPT) == [SCRIPT, "token", "demo"]
    assert access.token_argv("demo", True, SCRIPT) == [SCRIPT, "token", "demo", "--rotate"]
    assert access.login_url_argv("demo", "http://x", 60, SCRIPT) == [
        SCRIPT,
        "login-url",
        "demo",
        "http://x",
        "--ttl",
        "60",
    ]


def test_forget_passes_script_and_slug_as_arguments_not_in_the_shell_text() -> None:
    argv = access.forget_argv("demo", SCRIPT)
    assert argv[:2] == ["sh", "-c"] and "demo" not in argv[2] and argv[3:] == [SCRIPT, "demo"]


@pytest.mark.parametrize("ttl", [0, -1, 86401, True])
def test_a_login_link_lives_one_second_to_a_day(ttl: int) -> None:
    with pytest.raises(UsageError, match=r"1\.\.86400 seconds"):
        access.check_ttl(ttl)


def test_the_script_path_comes_from_the_environment_when_set() -> None:
    assert access.edge_auth_script({}) == SCRIPT
    assert (
        access.edge_auth_script({"PINACLE_EDGE_AUTH_SCRIPT": "/tmp/x/pinacle-edge-auth"}) == "/tmp/x/pinacle-edge-auth"
    )
    with pytest.raises(UsageError, match="PINACLE_EDGE_AUTH_SCRIPT"):
        access.edge_auth_script({"PINACLE_EDGE_AUTH_SCRIPT": "x; rm -rf /"})


def test_a_secret_is_64_hex_characters() -> None:
    assert access.parse_secret("h", "ab" * 32 + "\n") == "ab" * 32


@pytest.mark.parametrize("output", ["", "ab" * 31, "AB" * 32, "ab" * 32 + "\nmore"])
def test_anything_else_is_not_taken_for_a_secret_and_not_quoted(output: str) -> None:
    with pytest.raises(HostError) as error:
        access.parse_secret("h", output)
    assert output not in str(error.value) or not output


def test_a_login_url_must_be_on_the_base_it_was_asked_for() -> None:
    base = "http://pod-demo.localhost"
    assert (
        access.parse_login_url("h", base, f"{base}/__pinacle/login?t={TOKEN}\n") == f"{base}/__pinacle/login?t={TOKEN}"
    )
    with pytest.raises(HostError, match="other than a login URL"):
        access.parse_login_url("h", base, f"http://evil.test/__pinacle/login?t={TOKEN}\n")


def test_a_missing_script_says_to_run_the_host_deploy() -> None:
    error = access.command_failure("h", SCRIPT, 127, "sh: 1: /usr/local/lib/pinacle/pinacle-edge-auth: not found")
    assert "run the host deploy" in str(error)
