"""The pod definition: pydantic models for what a ``pod.yaml`` may say.

These models are the single source of truth for a pod's shape: the loader validates files
against them, the planner reads them, and :func:`pod_json_schema` exports them for editors.
Every check lives here, so a spec that constructs is one the planner can trust: ports are
routable, names fit in Docker and DNS names, commands carry no NUL bytes, and the runtime is
a gVisor one.

Validators raise errors with plain-language messages (no "Value error, " prefix) and, for
checks that span several fields, with the location of the offending entry, so that the loader
can point at the exact line of the YAML file.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from pinacle.catalog import CATALOG

ROUTER_PORT = 80
"""The pod's own Nginx listens here, so no service or app may claim it."""

MEMORY_MB_MIN = 64
MEMORY_MB_MAX = 262144
CPUS_MAX = 64.0
HOST_PORT_MIN = 1024

# Limits on every field, so that no pod file can make ``docker run`` fail with "Argument list too
# long" (Linux allows 128 KiB per argument and about 2 MiB for all of them) or make the router or
# supervisor configs huge. Each is far above what a real pod needs.
NAME_MAX_LENGTH = 100
COMMAND_MAX_LENGTH = 4096
HEALTH_PATH_MAX_LENGTH = 256
RUNTIME_MAX_LENGTH = 64
TEMPLATE_MAX_LENGTH = 63
MEMORY_MAX_LENGTH = 32
SERVICES_MAX = 16
PORTS_MAX = 32
ENV_MAX_ENTRIES = 128
ENV_KEY_MAX_LENGTH = 128
ENV_VALUE_MAX_LENGTH = 16384
ENV_MAX_BYTES = 32768
"""The sum over env of ``len(KEY=VALUE)`` in UTF-8: what ``docker run --env`` arguments cost."""


def _schema_pattern(body: str) -> str:
    """``body`` anchored for JSON Schema, whose regexes (ECMA-262, no multiline flag) read ``$`` as
    the very end of the input. Python's ``$`` also matches before a final newline, so Python never
    checks with these strings: see :func:`_full`."""
    return f"^{body}$"


def _full(body: str) -> re.Pattern[str]:
    r"""``body`` as a Python check: ASCII classes only, used with ``fullmatch`` and ended by ``\Z``,
    so neither a trailing newline nor a Unicode digit or letter slips through."""
    return re.compile(rf"(?:{body})\Z", re.ASCII)


_SLUG = r"[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?"
_APP_NAME = r"[a-z][a-z0-9-]{0,30}"
_TEMPLATE = r"[a-z0-9][a-z0-9-]{0,62}"
_RUNTIME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"
_ENV_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
# A URL path and query in plain ASCII, without whitespace, quotes, backslashes, ';', '{', '}',
# '$', '`', '#', '<', '>', '|' or '^': nothing a shell, curl or an Nginx config would read.
_HEALTH_PATH = r"/[A-Za-z0-9._~!&()*+,=:@/?%-]*"

SLUG_PATTERN = _schema_pattern(_SLUG)
APP_NAME_PATTERN = _schema_pattern(_APP_NAME)
TEMPLATE_PATTERN = _schema_pattern(_TEMPLATE)
RUNTIME_PATTERN = _schema_pattern(_RUNTIME)
ENV_KEY_PATTERN = _schema_pattern(_ENV_KEY)
HEALTH_PATH_PATTERN = _schema_pattern(_HEALTH_PATH)

# Docker's reference grammar (distribution/reference), without the shell-hostile characters
# it never allowed anyway: [registry[:port]/]path[:tag][@digest].
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_IMAGE = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?"
IMAGE_PATTERN = _schema_pattern(_IMAGE)
IMAGE_MAX_LENGTH = 255

_CHECKS = {
    "slug": _full(_SLUG),
    "app_name": _full(_APP_NAME),
    "template": _full(_TEMPLATE),
    "runtime": _full(_RUNTIME),
    "env_key": _full(_ENV_KEY),
    "health_path": _full(_HEALTH_PATH),
    "image": _full(_IMAGE),
}

UNSANDBOXED_RUNTIMES = frozenset({"runc", "crun", "youki", "io.containerd.runc.v2"})
"""Runtimes that would run a pod without gVisor; never accepted, not even as a fallback."""
# JSON Schema patterns have no case-insensitive flag: each letter becomes a class of both cases.
_UNSANDBOXED_JSON_PATTERN = "^(?:{})$".format(
    "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)
        for name in sorted(UNSANDBOXED_RUNTIMES)
    )
)

_MEMORY_UNITS_MB = {
    "k": Decimal(1) / 1024,
    "m": Decimal(1),
    "g": Decimal(1024),
    "t": Decimal(1024**2),
}
_MEMORY_RE = re.compile(r"(?P<amount>[0-9]+(?:\.[0-9]+)?) ?(?P<unit>[kmgt])(?:ib?|b)?\Z", re.IGNORECASE | re.ASCII)

_MEMORY_FORMS = "must be an amount like 512m, 1g, 1GiB, 768Mi or a whole number of MiB"

Loc = tuple[int | str, ...]


def _error(message: str) -> PydanticCustomError:
    """A validation error whose message is exactly ``message`` (braces are not templates)."""
    return PydanticCustomError("pod_spec", "{message}", {"message": message})


def _raise_at(title: str, problems: list[tuple[Loc, str, Any]]) -> None:
    """Raise every ``(location, message, input)`` at once, each at its own location.

    Pydantic nests the locations under the field or model being validated, so a check on the
    whole ``ports`` list can still blame ``ports[1].port`` rather than the list.
    """
    if problems:
        details = [InitErrorDetails(type=_error(message), loc=loc, input=value) for loc, message, value in problems]
        raise ValidationError.from_exception_data(title, details)


def _matches(check: str, value: str) -> bool:
    return _CHECKS[check].fullmatch(value) is not None


def memory_to_mb(value: str | int) -> int:
    """Normalise ``512m``, ``1g``, ``1GiB``, ``768Mi`` or an int (MiB) to whole MiB.

    Units are binary, as Docker reads them (``1g`` is 1024 MiB). A bare number in a string is
    refused: Docker would read it as bytes, a user probably meant MiB, so neither is guessed.
    Raises ValueError saying what is accepted.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(_MEMORY_FORMS)
    if isinstance(value, int):
        megabytes = Decimal(value)
    else:
        match = None if len(value) > MEMORY_MAX_LENGTH else _MEMORY_RE.fullmatch(value)
        if match is None:
            raise ValueError(_MEMORY_FORMS)
        megabytes = Decimal(match["amount"]) * _MEMORY_UNITS_MB[match["unit"].lower()]
    if megabytes != megabytes.to_integral_value():
        raise ValueError("must come to a whole number of MiB")
    if not MEMORY_MB_MIN <= megabytes <= MEMORY_MB_MAX:
        raise ValueError(f"must be between {MEMORY_MB_MIN} MiB and {MEMORY_MB_MAX} MiB (256 GiB)")
    return int(megabytes)


def _check_memory(value: Any) -> Any:
    try:
        memory_to_mb(value)
    except ValueError as error:
        raise _error(str(error)) from None
    return value


def _check_cpus(value: float) -> float:
    if not 0 < value <= CPUS_MAX:  # also refuses NaN
        raise _error(f"must be more than 0 and at most {CPUS_MAX:g}")
    return value


def _check_app_name(value: str) -> str:
    if not _matches("app_name", value):
        raise _error("must start with a lowercase letter, then up to 30 lowercase letters, digits or '-'")
    return value


def _check_app_port(value: int) -> int:
    if not 1 <= value <= 65535 or value == ROUTER_PORT:
        raise _error(f"must be 1..65535 and not {ROUTER_PORT}")
    return value


def _check_command(value: str) -> str:
    if not value.strip():
        raise _error("must not be empty (leave it out if the app is started some other way)")
    if not all(char == "\t" or char.isprintable() for char in value):
        raise _error("must be one line of printable characters (no NUL, line breaks or other control characters)")
    return value


def _check_health_path(value: str) -> str:
    if not _matches("health_path", value):
        raise _error(
            "must start with '/' and contain no whitespace, quotes, backslashes, ';', '{', '}', '$' or '`': "
            "ASCII letters, digits and -._~!&()*+,=:@/?% only"
        )
    return value


def _check_name(value: str) -> str:
    if not value.strip() or len(value) > NAME_MAX_LENGTH or not value.isprintable():
        raise _error(f"must be 1..{NAME_MAX_LENGTH} printable characters on one line")
    return value


def _check_slug(value: str) -> str:
    if not _matches("slug", value):
        raise _error(
            "must be a DNS label of at most 42 characters: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _check_template(value: str) -> str:
    if not _matches("template", value):
        raise _error("must be a template name: lowercase letters, digits and '-'")
    return value


def _check_image(value: str) -> str:
    if len(value) > IMAGE_MAX_LENGTH or not _matches("image", value):
        raise _error("must be a Docker image reference like pinacle/base:latest")
    return value


def _check_runtime(value: str) -> str:
    # Docker's runtime names are case-sensitive, but "RunC" is refused too: it could only be meant as runc.
    if value.lower() in UNSANDBOXED_RUNTIMES:
        raise _error(
            f"{value} is not a sandbox: pods always run under gVisor "
            "(use runsc or another name the host registered for runsc)"
        )
    if not _matches("runtime", value):
        raise _error("must be a Docker runtime name like runsc")
    return value


def _check_host_port(value: int) -> int:
    if not HOST_PORT_MIN <= value <= 65535:
        raise _error(f"must be {HOST_PORT_MIN}..65535")
    return value


def _check_env_key(value: str) -> str:
    if not _matches("env_key", value):
        raise _error("must be a variable name: letters, digits and '_', not starting with a digit")
    if value.upper().startswith("PINACLE_"):
        raise _error("names starting with PINACLE_ are reserved for pinacle itself")
    return value


def _check_env_value(value: str) -> str:
    if "\x00" in value:
        raise _error("must not contain NUL bytes")
    return value


StrictInt = Annotated[int, Strict()]
StrictFloat = Annotated[float, Strict()]
StrictStr = Annotated[str, Strict()]


EnvKey = Annotated[str, Strict(), StringConstraints(max_length=ENV_KEY_MAX_LENGTH), AfterValidator(_check_env_key)]
EnvValue = Annotated[
    str, Strict(), StringConstraints(max_length=ENV_VALUE_MAX_LENGTH), AfterValidator(_check_env_value)
]
ServiceName = Annotated[
    str, Strict(), StringConstraints(max_length=64), Field(json_schema_extra={"enum": list(CATALOG)})
]

Visibility = Literal["private", "public"]
"""Who may open a routed port through the host's edge: its owner (a credential) or anyone."""
VISIBILITY_DESCRIPTION = (
    "Who may open it through the host's edge: private (the default) needs the pod's credential "
    "(pinacle open SLUG), public needs none"
)

_MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True)


class ResourceSpec(BaseModel):
    """CPU and memory limits given to the pod's container."""

    model_config = _MODEL_CONFIG

    cpus: Annotated[StrictFloat, AfterValidator(_check_cpus)] = Field(
        default=1.0,
        description="CPU limit, in cores (fractions allowed)",
        json_schema_extra={"exclusiveMinimum": 0, "maximum": CPUS_MAX},
    )
    memory: Annotated[int | str, BeforeValidator(_check_memory)] = Field(
        default=1024,
        description="Memory limit: 512m, 1g, 1GiB, 768Mi, or a whole number of MiB",
        json_schema_extra={"maxLength": MEMORY_MAX_LENGTH},
        examples=["512m", "1g", 2048],
    )

    @property
    def memory_mb(self) -> int:
        """The memory limit in MiB, whatever unit the user wrote it in.

        A plain property, not a computed field: dumps stay re-loadable under extra="forbid".
        """
        return memory_to_mb(self.memory)


class AppPortSpec(BaseModel):
    """A port the user's own app listens on, routed like a catalog service."""

    model_config = _MODEL_CONFIG

    name: Annotated[StrictStr, AfterValidator(_check_app_name)] = Field(
        description="Name of the app, used in listings and supervisor program names",
        json_schema_extra={"pattern": APP_NAME_PATTERN},
    )
    port: Annotated[StrictInt, AfterValidator(_check_app_port)] = Field(
        description="Port the app listens on inside the pod (80 is the pod router's)",
        json_schema_extra={"minimum": 1, "maximum": 65535, "not": {"const": ROUTER_PORT}},
    )
    command: (
        Annotated[StrictStr, StringConstraints(max_length=COMMAND_MAX_LENGTH), AfterValidator(_check_command)] | None
    ) = Field(
        default=None,
        description="Foreground command the pod's supervisor runs; omit if nothing to start",
    )
    health_path: Annotated[
        StrictStr, StringConstraints(max_length=HEALTH_PATH_MAX_LENGTH), AfterValidator(_check_health_path)
    ] = Field(
        default="/",
        description="HTTP path requested through the router to decide the app is up",
        json_schema_extra={"pattern": HEALTH_PATH_PATTERN},
    )
    visibility: Visibility = Field(default="private", description=VISIBILITY_DESCRIPTION)


# Placement in a fleet (pinacle.fleet.placement): pyinfra host and group names, host labels.
PLACEMENT_NAMES_MAX = 32
PLACEMENT_LABELS_MAX = 16
_PLACEMENT_HOST = r"[A-Za-z0-9@][A-Za-z0-9@._:/-]{0,252}"
_PLACEMENT_GROUP = r"[A-Za-z_][A-Za-z0-9_]{0,62}"
_LABEL_KEY = r"[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?"
_LABEL_VALUE = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
PLACEMENT_HOST_PATTERN = _schema_pattern(_PLACEMENT_HOST)
PLACEMENT_GROUP_PATTERN = _schema_pattern(_PLACEMENT_GROUP)
LABEL_KEY_PATTERN = _schema_pattern(_LABEL_KEY)
LABEL_VALUE_PATTERN = _schema_pattern(_LABEL_VALUE)
_PLACEMENT_CHECKS = {
    "host": (_full(_PLACEMENT_HOST), "must be a pyinfra host name like @ssh/pods-1.example.com or 10.0.0.5"),
    "group": (_full(_PLACEMENT_GROUP), "must be a pyinfra group name: letters, digits and '_'"),
    "label key": (_full(_LABEL_KEY), "must be a label name: lowercase letters, digits, '.', '_' and '-'"),
    "label value": (_full(_LABEL_VALUE), "must be a label value: letters, digits, '.', '_' and '-', at most 63"),
}


def _placement_check(kind: str) -> AfterValidator:
    pattern, message = _PLACEMENT_CHECKS[kind]

    def check(value: str) -> str:
        if pattern.fullmatch(value) is None:
            raise _error(message)
        return value

    return AfterValidator(check)


PlacementHost = Annotated[
    str, Strict(), Field(json_schema_extra={"pattern": PLACEMENT_HOST_PATTERN}), _placement_check("host")
]
PlacementGroup = Annotated[
    str, Strict(), Field(json_schema_extra={"pattern": PLACEMENT_GROUP_PATTERN}), _placement_check("group")
]
LabelKey = Annotated[str, Strict(), _placement_check("label key")]
LabelValue = Annotated[
    str, Strict(), Field(json_schema_extra={"pattern": LABEL_VALUE_PATTERN}), _placement_check("label value")
]


class PlacementSpec(BaseModel):
    """Which hosts of a fleet may hold the pod: each constraint given must hold, none given: any host."""

    model_config = _MODEL_CONFIG

    hosts: tuple[PlacementHost, ...] = Field(
        default=(), max_length=PLACEMENT_NAMES_MAX, description="pyinfra host names; the host must be one of them"
    )
    groups: tuple[PlacementGroup, ...] = Field(
        default=(), max_length=PLACEMENT_NAMES_MAX, description="pyinfra group names; the host must be in one of them"
    )
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        max_length=PLACEMENT_LABELS_MAX,
        description="Labels the host must carry, all of them (host data host_labels)",
        json_schema_extra={"propertyNames": {"pattern": LABEL_KEY_PATTERN}},
    )


class PodSpec(BaseModel):
    """One pod: what runs in it, on which image and runtime, with which limits.

    ``template`` is informational once resolved: the resolver merges the named template under
    the file before this model sees the data, so construct pods through
    :func:`pinacle.resolver.resolve` rather than directly when a template is involved.
    """

    model_config = _MODEL_CONFIG

    name: Annotated[StrictStr, StringConstraints(max_length=NAME_MAX_LENGTH), AfterValidator(_check_name)] = Field(
        description="Human-readable name", json_schema_extra={"minLength": 1}
    )
    slug: Annotated[StrictStr, AfterValidator(_check_slug)] = Field(
        description="DNS label naming the pod's container, network, volume and host names",
        json_schema_extra={"pattern": SLUG_PATTERN},
    )
    template: (
        Annotated[StrictStr, StringConstraints(max_length=TEMPLATE_MAX_LENGTH), AfterValidator(_check_template)] | None
    ) = Field(
        default=None,
        description="Built-in template merged under this file",
        json_schema_extra={"pattern": TEMPLATE_PATTERN},
    )
    image: Annotated[StrictStr, AfterValidator(_check_image)] = Field(
        default="pinacle/base:latest",
        description="Docker image the pod runs",
        json_schema_extra={"pattern": IMAGE_PATTERN, "maxLength": IMAGE_MAX_LENGTH},
    )
    runtime: Annotated[StrictStr, StringConstraints(max_length=RUNTIME_MAX_LENGTH), AfterValidator(_check_runtime)] = (
        Field(
            default="runsc",
            description="Docker runtime name of gVisor on the host; runc is refused",
            json_schema_extra={
                "pattern": RUNTIME_PATTERN,
                "not": {"pattern": _UNSANDBOXED_JSON_PATTERN},
            },
        )
    )
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    services: tuple[ServiceName, ...] = Field(
        default=(), max_length=SERVICES_MAX, description="Catalog services to run, by name"
    )
    ports: tuple[AppPortSpec, ...] = Field(default=(), max_length=PORTS_MAX, description="The user's own app ports")
    visibility: dict[ServiceName, Visibility] = Field(
        default_factory=dict,
        max_length=SERVICES_MAX,
        description=f"Per catalog service the pod runs (its name -> private|public). {VISIBILITY_DESCRIPTION}",
    )
    env: dict[EnvKey, EnvValue] = Field(
        default_factory=dict,
        max_length=ENV_MAX_ENTRIES,
        description=(
            "Environment variables for every process in the pod: at most "
            f"{ENV_MAX_ENTRIES}, values of at most {ENV_VALUE_MAX_LENGTH} characters, "
            f"{ENV_MAX_BYTES} bytes in all (KEY=VALUE, UTF-8)"
        ),
        json_schema_extra={"propertyNames": {"pattern": ENV_KEY_PATTERN, "maxLength": ENV_KEY_MAX_LENGTH}},
    )
    host_port: Annotated[StrictInt, AfterValidator(_check_host_port)] | None = Field(
        default=None,
        description="Host port of the pod's router; allocated from the host's range if omitted",
        json_schema_extra={"minimum": HOST_PORT_MIN, "maximum": 65535},
    )
    default_port: StrictInt | None = Field(
        default=None,
        description="Declared port opened by default; first app port, else first service's",
    )
    placement: PlacementSpec = Field(
        default_factory=PlacementSpec, description="Which hosts of a fleet may hold the pod (default: any)"
    )

    @model_serializer(mode="wrap")
    def _without_default_placement(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No ``placement`` in a dump when it says nothing: host records written before it existed
        stay equal to the ones written now, so upgrading pinacle rewrites none of them."""
        data: dict[str, Any] = handler(self)
        if self.placement == PlacementSpec():
            data.pop("placement", None)
        return data

    @field_validator("services")
    @classmethod
    def _known_unique_services(cls, services: tuple[str, ...]) -> tuple[str, ...]:
        problems: list[tuple[Loc, str, Any]] = []
        seen: set[str] = set()
        for index, name in enumerate(services):
            if name not in CATALOG:
                problems.append(((index,), f"unknown service; known: {', '.join(CATALOG)}", name))
            elif name in seen:
                problems.append(((index,), "service listed twice", name))
            seen.add(name)
        _raise_at("PodSpec.services", problems)
        return services

    @field_validator("env")
    @classmethod
    def _bounded_env(cls, env: dict[str, str]) -> dict[str, str]:
        size = sum(len(f"{key}={value}".encode()) for key, value in env.items())
        if size > ENV_MAX_BYTES:
            raise _error(
                f"takes {size} bytes in all (KEY=VALUE, UTF-8); at most {ENV_MAX_BYTES}: "
                "Docker passes every variable on its command line"
            )
        return env

    @field_validator("ports")
    @classmethod
    def _unique_ports(cls, ports: tuple[AppPortSpec, ...]) -> tuple[AppPortSpec, ...]:
        problems: list[tuple[Loc, str, Any]] = []
        names: dict[str, int] = {}
        numbers: dict[int, int] = {}
        for index, app in enumerate(ports):
            if app.name in names:
                message = f"name already used by ports[{names[app.name]}]"
                problems.append(((index, "name"), message, app.name))
            if app.port in numbers:
                message = f"port already used by ports[{numbers[app.port]}]"
                problems.append(((index, "port"), message, app.port))
            names.setdefault(app.name, index)
            numbers.setdefault(app.port, index)
        _raise_at("PodSpec.ports", problems)
        return ports

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Checks that need several fields; each error still points at one entry."""
        problems: list[tuple[Loc, str, Any]] = []
        if not self.services and not self.ports:
            message = "a pod needs at least one service or one app port (services: or ports:)"
            problems.append((("services",), message, self.services))
        service_ports = {CATALOG[name].port: name for name in self.services}
        for index, app in enumerate(self.ports):
            if app.port in service_ports:
                message = f"port is already used by service {service_ports[app.port]}"
                problems.append((("ports", index, "port"), message, app.port))
            if app.name in self.services:
                message = "name is already the name of one of the pod's services"
                problems.append((("ports", index, "name"), message, app.name))
        problems += self._visibility_problems()
        declared = self.declared_ports()
        if self.default_port is not None and self.default_port not in declared:
            listed = ", ".join(str(port) for port in declared) or "none"
            message = f"must be one of the pod's declared ports ({listed})"
            problems.append((("default_port",), message, self.default_port))
        _raise_at("PodSpec", problems)
        return self

    def _visibility_problems(self) -> list[tuple[Loc, str, Any]]:
        """Pod-level ``visibility:`` keys must be services this pod runs (app ports carry their own)."""
        problems: list[tuple[Loc, str, Any]] = []
        apps = {app.name: index for index, app in enumerate(self.ports)}
        for name in self.visibility:
            if name in self.services:
                continue
            if name in apps:
                message = f"{name} is an app port: set ports[{apps[name]}].visibility instead"
            else:
                runs = ", ".join(self.services) or "none"
                message = f"{name} is not a service this pod runs (its services: {runs})"
            problems.append((("visibility", name), message, name))
        return problems

    def declared_ports(self) -> dict[int, str]:
        """Every routed port -> its service or app name: services first, then app ports.

        Only these ports are routed by the pod's Nginx; anything else gets an error page.
        """
        ports = {CATALOG[name].port: name for name in self.services if name in CATALOG}
        ports.update({app.port: app.name for app in self.ports})
        return ports

    @property
    def main_port(self) -> int:
        """The port a user lands on: ``default_port``, else the first app port, else the first
        service's port. A valid pod always has one."""
        if self.default_port is not None:
            return self.default_port
        if self.ports:
            return self.ports[0].port
        return CATALOG[self.services[0]].port


def pod_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pod file, generated from :class:`PodSpec` (never hand-written)."""
    schema = PodSpec.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
