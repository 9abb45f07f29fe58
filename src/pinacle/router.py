"""Render the in-pod Nginx router (``templates/nginx.conf.j2``) for one pod."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from pinacle.errors import SpecError

if TYPE_CHECKING:
    import jinja2

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z", re.ASCII)
# Used with fullmatch and ended by \Z (Python's $ would also match before a final newline).
_HOSTNAME = re.compile(
    r"(?=[a-z0-9.-]{1,200}\Z)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\Z", re.ASCII
)

# The edge's config names files and auth URLs the host data gave: nothing an nginx string can break on.
_FILE_PATH = re.compile(r"/[A-Za-z0-9._/-]{1,200}\Z", re.ASCII)
_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]{1,200}(:[0-9]{1,5})?(/[A-Za-z0-9._~/%-]{0,200})?\Z", re.ASCII)


@dataclass(frozen=True)
class Route:
    """One routed port: ``localhost-{port}.pod-{slug}.{domain}`` goes to ``127.0.0.1:{port}``."""

    name: str
    port: int
    health_path: str = "/"

    def host_name(self, slug: str, domain: str) -> str:
        return f"localhost-{self.port}.pod-{slug}.{domain}"

    def url(self, slug: str, domain: str, host_port: int) -> str:
        return f"http://{self.host_name(slug, domain)}:{host_port}/"


def _hostname_label(value: object) -> str:
    text = str(value)
    if not _LABEL.fullmatch(text):
        raise SpecError(f"refusing to put {text!r} in the router config: not a DNS label")
    return text


def _hostname(value: object) -> str:
    text = str(value)
    if not _HOSTNAME.fullmatch(text):
        raise SpecError(f"refusing to put {text!r} in the router config: not a host name")
    return text


def _file_path(value: object) -> str:
    text = str(value)
    if not _FILE_PATH.fullmatch(text) or "/../" in f"{text}/":
        raise SpecError(f"refusing to put {text!r} in an nginx config: not a plain absolute file path")
    return text


def _http_url(value: object) -> str:
    text = str(value)
    if not _HTTP_URL.fullmatch(text):
        raise SpecError(f"refusing to put {text!r} in an nginx config: not a plain http(s) URL")
    return text


def _hostname_regex(value: object) -> str:
    """A checked host name as a PCRE literal: only its dots need escaping."""
    return _hostname(value).replace(".", "\\.")


def valid_domain(domain: str) -> bool:
    return bool(_HOSTNAME.fullmatch(domain))


@functools.cache
def _template() -> jinja2.Template:
    """The router template, compiled once per process (a rollout of many pods renders it for each)."""
    return nginx_template("nginx.conf.j2")


def nginx_template(name: str) -> jinja2.Template:
    """A packaged nginx template (``src/pinacle/templates/NAME``) with the router's escaping filters."""
    return _environment().get_template(name)


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2  # 45 ms: only what renders a config pays it (list, status and their reads do not)

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: resources.files("pinacle").joinpath("templates", name).read_text()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Nginx, not HTML: values are checked by the filters below instead
        keep_trailing_newline=True,
    )
    env.filters["hostname_label"] = _hostname_label
    env.filters["hostname"] = _hostname
    env.filters["hostname_regex"] = _hostname_regex
    env.filters["file_path"] = _file_path
    env.filters["http_url"] = _http_url
    return env


def render_router_config(slug: str, domain: str, routes: Sequence[Route], main_port: int) -> str:
    """The pod's router: only ``routes`` are reachable, anything else answers 404."""
    if main_port not in {r.port for r in routes}:
        raise SpecError(f"the main port {main_port} is not one of the routed ports")
    return _template().render(slug=slug, domain=domain, routes=list(routes), main_port=main_port)
