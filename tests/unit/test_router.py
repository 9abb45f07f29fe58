"""pinacle.router: the in-pod Nginx config routes declared ports only and refuses hostile names."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pinacle.errors import SpecError
from pinacle.router import Route, render_router_config

ROUTES = (Route("web-terminal", 7681), Route("app", 3000, "/health"))


def render(slug: str = "demo", domain: str = "pods.example.com", main_port: int = 3000) -> str:
    return render_router_config(slug, domain, ROUTES, main_port)


# --- a small Nginx config reader: enough grammar to check structure without Nginx ---------------


@dataclass
class Directive:
    words: list[str]
    block: list[Directive] | None = None


def parse_nginx(text: str) -> list[Directive]:
    """Tokenise like Nginx (quotes, comments, ``;``, ``{``, ``}``); raise on any imbalance."""
    root: list[Directive] = []
    stack: list[list[Directive]] = [root]
    words: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
        elif char in "\"'":
            end = i + 1
            while text[end] != char:
                end += 2 if text[end] == "\\" else 1
            words.append(text[i + 1 : end])
            i = end + 1
        elif char == ";":
            assert words, f"empty statement at offset {i}"
            stack[-1].append(Directive(words))
            words = []
            i += 1
        elif char == "{":
            assert words, f"block without a directive at offset {i}"
            directive = Directive(words, block=[])
            stack[-1].append(directive)
            stack.append(directive.block)  # type: ignore[arg-type]
            words = []
            i += 1
        elif char == "}":
            assert not words, f"unterminated statement {words} before '}}'"
            assert len(stack) > 1, f"unbalanced '}}' at offset {i}"
            stack.pop()
            i += 1
        else:
            end = i
            while end < len(text) and not text[end].isspace() and text[end] not in ";{}":
                end += 1
            words.append(text[i:end])
            i = end
    assert not words, f"unterminated statement {words} at end of file"
    assert len(stack) == 1, "unclosed '{' at end of file"
    return root


def find(directives: list[Directive], *words: str) -> Directive:
    matches = [d for d in directives if d.words[: len(words)] == list(words)]
    assert len(matches) == 1, f"expected one {words!r}, found {len(matches)}"
    return matches[0]


def port_map(config: str) -> dict[str, str]:
    block = find(parse_nginx(config), "map", "$host", "$pinacle_port").block
    assert block is not None
    entries = {d.words[0]: d.words[1] for d in block}
    assert len(entries) == len(block), "duplicate keys in the port map"
    return entries


def proxy_location(config: str) -> list[Directive]:
    server = find(parse_nginx(config), "server").block
    assert server is not None
    location = find(server, "location", "/").block
    assert location is not None
    return location


def settings_of(directives: list[Directive]) -> set[tuple[str, ...]]:
    return {tuple(d.words) for d in directives}


# --- routing -------------------------------------------------------------------------------------


def test_rendered_config_is_balanced_and_every_statement_terminated() -> None:
    assert parse_nginx(render())


def test_every_declared_port_has_an_exact_host_name_entry() -> None:
    entries = port_map(render())
    assert entries["localhost-7681.pod-demo.pods.example.com"] == "7681"
    assert entries["localhost-3000.pod-demo.pods.example.com"] == "3000"


def test_only_declared_ports_and_the_bare_pod_name_have_exact_entries() -> None:
    exact = {k for k in port_map(render()) if k != "default" and not k.startswith("~")}
    assert exact == {
        "localhost-7681.pod-demo.pods.example.com",
        "localhost-3000.pod-demo.pods.example.com",
        "pod-demo.pods.example.com",
    }


def location_ifs(config: str) -> dict[str, list[str]]:
    """Each ``if (...)`` of the proxy location: its condition words -> the return it makes."""
    ifs = {}
    for directive in proxy_location(config):
        if directive.words[0] == "if":
            assert directive.block is not None
            ifs[" ".join(directive.words[1:])] = directive.block[0].words
    return ifs


def test_other_localhost_port_names_of_the_pod_map_to_empty_and_get_a_404() -> None:
    config = render()
    assert port_map(config)["~^localhost-[0-9]+\\.pod-demo\\.pods\\.example\\.com$"] == ""
    assert location_ifs(config)["($pinacle_port =  )"][:2] == ["return", "404"]


def test_any_other_host_name_is_misdirected_with_a_421() -> None:
    config = render()
    assert port_map(config)["default"] == "misdirected"
    assert location_ifs(config)["($pinacle_port = misdirected)"][:2] == ["return", "421"]


def test_the_bare_pod_name_routes_to_the_main_port() -> None:
    assert port_map(render(main_port=7681))["pod-demo.pods.example.com"] == "7681"


def origin_map(config: str) -> dict[str, str]:
    block = find(parse_nginx(config), "map", "$http_origin", "$pinacle_origin").block
    assert block is not None
    return {d.words[0]: d.words[1] for d in block}


def test_only_the_pods_own_names_are_trusted_origins() -> None:
    trusted = {k for k, v in origin_map(render()).items() if v == "own"}
    assert trusted == {
        "~^https?://pod-demo\\.pods\\.example\\.com(:[0-9]{1,5})?$",
        "~^https?://localhost-7681\\.pod-demo\\.pods\\.example\\.com(:[0-9]{1,5})?$",
        "~^https?://localhost-3000\\.pod-demo\\.pods\\.example\\.com(:[0-9]{1,5})?$",
    }
    assert origin_map(render())["default"] == "foreign"


def test_foreign_origins_and_upgrades_without_origin_are_refused_with_403() -> None:
    config = render()
    refused = find(parse_nginx(config), "map", "$pinacle_origin:$http_upgrade", "$pinacle_refused").block
    assert refused is not None
    assert settings_of(refused) == {("default", "0"), ("~^foreign:", "1"), ("~^none:.+", "1")}
    assert location_ifs(config)["($pinacle_refused)"][:2] == ["return", "403"]


def test_main_port_must_be_one_of_the_routes() -> None:
    with pytest.raises(SpecError, match="main port 8080 is not one of the routed ports"):
        render(main_port=8080)


def test_requests_are_proxied_to_the_mapped_port_on_loopback() -> None:
    assert ("proxy_pass", "http://127.0.0.1:$pinacle_port") in settings_of(proxy_location(render()))


def test_websocket_upgrade_headers_are_passed_through() -> None:
    settings = settings_of(proxy_location(render()))
    assert ("proxy_http_version", "1.1") in settings
    assert ("proxy_set_header", "Upgrade", "$http_upgrade") in settings
    assert ("proxy_set_header", "Connection", "$pinacle_connection_upgrade") in settings
    upgrade = find(parse_nginx(render()), "map", "$http_upgrade").block
    assert upgrade is not None
    assert settings_of(upgrade) == {("default", "upgrade"), ("", "close")}


def test_responses_stream_unbuffered() -> None:
    settings = settings_of(proxy_location(render()))
    assert ("proxy_buffering", "off") in settings
    assert ("proxy_request_buffering", "off") in settings


def test_long_lived_sessions_get_long_timeouts() -> None:
    settings = settings_of(proxy_location(render()))
    assert ("proxy_read_timeout", "7d") in settings
    assert ("proxy_send_timeout", "7d") in settings


def test_router_listens_as_the_default_server_on_port_80() -> None:
    server = find(parse_nginx(render()), "server").block
    assert server is not None
    assert ("listen", "80", "default_server") in settings_of(server)


# --- injection -----------------------------------------------------------------------------------

HOSTILE = ["a;b", "x}", "$host", "a\nb", "a b", 'a"b', "A", "-a", ""]


@pytest.mark.parametrize("slug", HOSTILE)
def test_slug_outside_dns_label_grammar_is_refused(slug: str) -> None:
    with pytest.raises(SpecError, match="refusing to put"):
        render(slug=slug)


@pytest.mark.parametrize("domain", [*HOSTILE, "example.com;", "example..com", "x}.com"])
def test_domain_outside_host_name_grammar_is_refused(domain: str) -> None:
    with pytest.raises(SpecError, match="refusing to put"):
        render(domain=domain)


# --- optional: the real Nginx parser -------------------------------------------------------------


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed on this machine")
def test_nginx_accepts_the_rendered_config(tmp_path: Path) -> None:
    (tmp_path / "pod.conf").write_text(render())
    temp = " ".join(
        f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{ access_log off; {temp} include {tmp_path}/pod.conf; }}\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 0, result.stderr
