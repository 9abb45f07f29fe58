"""Pod files in, PodSpec or located errors out."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pinacle.errors import SpecError
from pinacle.loader import PodSpecError, Problem, parse_yaml
from pinacle.resolver import resolve, resolve_mapping
from tests.unit.conftest import MeasureRefusal

WritePod = Callable[..., Path]

PODS_DIR = Path(__file__).resolve().parents[2] / "pods"

HEAD = "name: Bad pod\nslug: bad\n"
"""Lines 1-2 of most bad files below, so line numbers in the table count from line 3."""

# (id, file text, YAML path the message must name, line it must point at, words it must say)
BAD_FILES: list[tuple[str, str, str, int | None, str]] = [
    ("unknown-top-key", HEAD + "services: [web-terminal]\ncolour: red\n",
     "colour", 4, "unknown key; expected one of: name, slug, template"),
    ("unknown-nested-key", HEAD + "services: [web-terminal]\nresources:\n  gpus: 1\n",
     "resources.gpus", 5, "unknown key; expected one of: cpus, memory"),
    ("unknown-port-key", HEAD + "ports:\n  - name: app\n    port: 3000\n    tls: true\n",
     "ports[0].tls", 6, "unknown key; expected one of: name, port, command, health_path"),
    ("slug-uppercase", "name: Bad\nslug: Example\nservices: [web-terminal]\n",
     "slug", 2, "letter or digit (got 'Example')"),
    ("slug-leading-dash", "name: Bad\nslug: -example\nservices: [web-terminal]\n",
     "slug", 2, "DNS label"),
    ("slug-too-long", f"name: Bad\nslug: {'a' * 43}\nservices: [web-terminal]\n",
     "slug", 2, "at most 42 characters"),
    ("slug-underscore", "name: Bad\nslug: my_pod\nservices: [web-terminal]\n",
     "slug", 2, "DNS label"),
    ("port-out-of-range",
     HEAD + "ports:\n  - name: app\n    port: 3000\n  - name: api\n    port: 70000\n",
     "ports[1].port", 7, "must be 1..65535 and not 80 (got 70000)"),
    ("port-80", HEAD + "ports:\n  - name: app\n    port: 80\n",
     "ports[0].port", 5, "not 80 (got 80)"),
    ("port-not-a-number", HEAD + "ports:\n  - name: app\n    port: '3000'\n",
     "ports[0].port", 5, "expected a whole number (got '3000')"),
    ("duplicate-port-numbers",
     HEAD + "ports:\n  - name: app\n    port: 3000\n  - name: api\n    port: 3000\n",
     "ports[1].port", 7, "port already used by ports[0]"),
    ("duplicate-port-names",
     HEAD + "ports:\n  - name: app\n    port: 3000\n  - name: app\n    port: 3001\n",
     "ports[1].name", 6, "name already used by ports[0]"),
    ("port-clashes-with-service",
     HEAD + "services: [web-terminal]\nports:\n  - name: app\n    port: 7681\n",
     "ports[0].port", 6, "already used by service web-terminal"),
    ("unknown-service", HEAD + "services:\n  - web-terminal\n  - jupyter\n",
     "services[1]", 5, "unknown service; known: web-terminal, code-server"),
    ("duplicate-service", HEAD + "services:\n  - web-terminal\n  - web-terminal\n",
     "services[1]", 5, "service listed twice"),
    ("runtime-runc", HEAD + "services: [web-terminal]\nruntime: runc\n",
     "runtime", 4, "pods always run under gVisor"),
    ("bad-memory", HEAD + "services: [web-terminal]\nresources:\n  memory: lots\n",
     "resources.memory", 5, "like 512m, 1g"),
    ("cpus-zero", HEAD + "services: [web-terminal]\nresources:\n  cpus: 0\n",
     "resources.cpus", 5, "more than 0 and at most 64 (got 0)"),
    ("env-key-invalid", HEAD + "services: [web-terminal]\nenv:\n  MY-VAR: x\n",
     "env.MY-VAR", 5, "must be a variable name"),
    ("env-key-reserved", HEAD + "services: [web-terminal]\nenv:\n  PINACLE_TOKEN: x\n",
     "env.PINACLE_TOKEN", 5, "reserved for pinacle"),
    ("env-value-not-string", HEAD + "services: [web-terminal]\nenv:\n  DEBUG: 1\n",
     "env.DEBUG", 5, "expected a string, quote it in YAML (got a number)"),
    ("env-key-not-string", HEAD + "services: [web-terminal]\nenv:\n  1: x\n",
     "env", 5, "key '1' is read as a number; keys must be strings"),
    ("boolean-key", HEAD + "services: [web-terminal]\non: true\n",
     "(top level)", 4, "key 'on' is read as a boolean"),
    ("host-port-below-1024", HEAD + "services: [web-terminal]\nhost_port: 80\n",
     "host_port", 4, "must be 1024..65535 (got 80)"),
    ("default-port-undeclared", HEAD + "services: [web-terminal]\ndefault_port: 3000\n",
     "default_port", 4, "must be one of the pod's declared ports (7681)"),
    ("no-services-no-ports", HEAD, "services", 1, "at least one service or one app port"),
    ("health-path-injection",
     HEAD + "ports:\n  - name: app\n    port: 3000\n    health_path: /;rm -rf /\n",
     "ports[0].health_path", 6, "must start with '/' and contain no whitespace"),
    ("image-with-spaces", HEAD + "services: [web-terminal]\nimage: pinacle/base latest\n",
     "image", 4, "Docker image reference"),
    ("image-with-command-substitution",
     HEAD + "services: [web-terminal]\nimage: 'base:$(id)'\n",
     "image", 4, "like pinacle/base:latest (got 'base:$(id)')"),
    ("missing-slug", "name: Bad\nservices: [web-terminal]\n",
     "slug", 1, "required key is missing"),
    ("ports-not-a-list", HEAD + "ports: 3000\n", "ports", 3, "expected a list (got 3000)"),
    ("unknown-template", HEAD + "template: django\n",
     "template", 3, "unknown template 'django'; known: python-app, web-terminal"),
    ("yaml-syntax-error", HEAD + "services: [web-terminal\nports: []\n",
     "", 4, "YAML syntax error"),
    ("duplicate-yaml-key", HEAD + "services: [web-terminal]\nslug: other\n",
     "slug", 4, "duplicate key (first at line 2)"),
    ("duplicate-nested-yaml-key",
     HEAD + "ports:\n  - name: app\n    port: 3000\n    port: 3001\n",
     "ports[0].port", 6, "duplicate key (first at line 5)"),
    ("empty-file", "", "", None, "the file is empty"),
    ("only-comments", "# nothing here\n", "", None, "the file is empty"),
    ("top-level-list", "- name: Bad\n- slug: bad\n", "", 1,
     "the top level must be a mapping of pod settings (got a list)"),
    ("top-level-scalar", "just text\n", "", 1, "must be a mapping of pod settings (got a string of 9 characters)"),
    ("two-documents", HEAD + "services: [web-terminal]\n---\nname: Other\n", "", 4,
     "expected a single document"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "path", "line", "words"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_pod_file_is_reported_with_file_line_path_and_expectation(
    write_pod: WritePod, text: str, path: str, line: int | None, words: str
) -> None:
    pod_file = write_pod(text, name="bad.yaml")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    message = str(error.value)
    where = f"{pod_file}:{line}" if line else f"{pod_file}"
    located = f"{where}: {path}: " if path else f"{where}: "
    assert located in message
    assert words in message


def test_the_bad_file_table_covers_at_least_eighteen_kinds() -> None:
    assert len({case[0] for case in BAD_FILES}) == len(BAD_FILES) >= 18


def test_every_problem_is_reported_at_once_one_line_each(write_pod: WritePod) -> None:
    pod_file = write_pod(
        """
        name: Bad pod
        slug: Bad
        runtime: runc
        ports:
          - name: app
            port: 70000
        """,
        name="bad.yaml",
    )
    with pytest.raises(PodSpecError) as error:
        resolve(pod_file)
    assert str(error.value).splitlines() == [
        f"{pod_file}:2: slug: must be a DNS label of at most 42 characters: lowercase letters, "
        "digits and '-', starting and ending with a letter or digit (got 'Bad')",
        f"{pod_file}:3: runtime: runc is not a sandbox: pods always run under gVisor "
        "(use runsc or another name the host registered for runsc) (got 'runc')",
        f"{pod_file}:6: ports[0].port: must be 1..65535 and not 80 (got 70000)",
    ]


def test_errors_carry_structured_problems(write_pod: WritePod) -> None:
    pod_file = write_pod("name: Bad\nslug: bad\nservices: [web-terminal]\nhost_port: 1\n")
    with pytest.raises(PodSpecError) as error:
        resolve(pod_file)
    assert error.value.problems == (Problem(str(pod_file), "host_port", "must be 1024..65535 (got 1)", 4),)


def test_spec_errors_exit_with_the_spec_error_code(write_pod: WritePod) -> None:
    with pytest.raises(SpecError) as error:
        resolve(write_pod(""))
    assert error.value.exit_code == 65


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecError, match=f"^{missing}: no such file$"):
        resolve(missing)


def test_directory_instead_of_a_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory, not a pod file"):
        resolve(tmp_path)


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    pod_file = tmp_path / "latin1.yaml"
    pod_file.write_bytes("name: Café\n".encode("latin-1"))
    with pytest.raises(SpecError, match="is not UTF-8 text"):
        resolve(pod_file)


def test_string_paths_load_like_path_objects(write_pod: WritePod) -> None:
    pod_file = write_pod("name: Ok\nslug: ok\nservices: [web-terminal]\n")
    assert resolve(str(pod_file)) == resolve(pod_file)


def test_yaml_anchors_and_merge_keys_still_work(write_pod: WritePod) -> None:
    pod_file = write_pod(
        """
        name: Anchors
        slug: anchors
        ports:
          - &app {name: app, port: 3000, command: ./run}
          - <<: *app
            name: api
            port: 3001
        """
    )
    assert [(p.name, p.port, p.command) for p in resolve(pod_file).ports] == [
        ("app", 3000, "./run"),
        ("api", 3001, "./run"),
    ]


def test_mapping_errors_name_the_source_without_lines() -> None:
    with pytest.raises(SpecError, match=r"^api request: slug: required key is missing$"):
        resolve_mapping({"name": "x", "services": ["web-terminal"]}, source="api request")


def test_mapping_loads_with_its_template() -> None:
    spec = resolve_mapping({"template": "web-terminal", "name": "T", "slug": "t"})
    assert spec.services == ("web-terminal",)


def test_parse_yaml_records_the_line_of_every_key_and_item() -> None:
    document = parse_yaml("name: x\nports:\n  - name: app\n    port: 1\n", "inline")
    assert document.lines[("name",)] == 1
    assert document.lines[("ports", 0)] == 3
    assert document.lines[("ports", 0, "port")] == 4
    assert document.line_of(("ports", 0, "command")) == 3


@pytest.mark.parametrize("pod_file", sorted(PODS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_pod_loads(pod_file: Path) -> None:
    assert resolve(pod_file).slug == pod_file.stem


def test_there_are_example_pods() -> None:
    assert {"example.yaml", "python-api.yaml"} <= {p.name for p in PODS_DIR.glob("*.yaml")}


def test_example_pod_is_a_web_terminal_and_a_python_app() -> None:
    spec = resolve(PODS_DIR / "example.yaml")
    assert spec.services == ("web-terminal",)
    assert [(p.name, p.port) for p in spec.ports] == [("app", 3000)]
    assert spec.ports[0].command == "python3 -m http.server 3000 --directory /workspace"
    assert (spec.resources.cpus, spec.resources.memory_mb) == (1.0, 512)


# --- Inputs that would exhaust the host: refused early, cheaply, naming the file ------------------

GOOD = "name: Ok\nslug: ok\nservices: [web-terminal]\n"

BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9) if previous else ', '.join(['lol'] * 9)}]\n"
    for previous, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
"""The classic: nine levels of nine aliases each, about 400 bytes, 9**9 strings expanded."""

DOUBLING_BOMB = "l0: &l0 [x, x]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]\n" for i in range(1, 30))
"""Few aliases (58), each doubling the last: 2**30 values expanded."""


def test_the_billion_laughs_file_is_small() -> None:
    assert len(BILLION_LAUGHS) < 500
    assert BILLION_LAUGHS.count("*") == 72


def test_a_billion_laughs_is_refused_for_its_alias_count(write_pod: WritePod) -> None:
    pod_file = write_pod(BILLION_LAUGHS, name="laughs.yaml")
    with pytest.raises(SpecError, match=rf"^{pod_file}:\d+: more than 64 aliases"):
        resolve(pod_file)


def test_a_bomb_with_few_aliases_is_refused_for_what_they_expand_to(write_pod: WritePod) -> None:
    pod_file = write_pod(DOUBLING_BOMB, name="doubling.yaml")
    with pytest.raises(SpecError, match=rf"^{pod_file}:\d+: l\w*\[.*more than 5000 values once aliases are expanded"):
        resolve(pod_file)


def test_an_alias_inside_its_own_anchor_is_refused(write_pod: WritePod) -> None:
    pod_file = write_pod("name: x\nslug: x\nservices: &loop [*loop]\n", name="loop.yaml")
    with pytest.raises(SpecError, match=rf"^{pod_file}:3: an alias inside its own anchor makes a recursive value$"):
        resolve(pod_file)


def test_nesting_100000_deep_is_refused_at_the_limit_not_with_a_recursion_error(write_pod: WritePod) -> None:
    pod_file = write_pod("name: x\nslug: x\nenv: " + "[" * 100_000 + "\n", name="deep.yaml")
    with pytest.raises(SpecError, match=rf"^{pod_file}: is larger than 64 KiB"):
        resolve(pod_file)
    with pytest.raises(SpecError, match=r"^inline:3: nested more than 16 levels deep; a pod file needs 4$"):
        parse_yaml("name: x\nslug: x\nenv: " + "[" * 30_000 + "\n", "inline")


def test_block_nesting_is_bounded_like_flow_nesting() -> None:
    with pytest.raises(SpecError, match=r"^inline:1: nested more than 16 levels deep"):
        parse_yaml("- " * 20_000 + "x\n", "inline")


def test_nesting_within_the_limit_is_left_to_validation(write_pod: WritePod) -> None:
    pod_file = write_pod(GOOD + "env: " + "[" * 10 + "]" * 10 + "\n")
    with pytest.raises(SpecError, match=r":4: env: expected a mapping \(got a list\)$"):
        resolve(pod_file)


def test_more_values_than_a_pod_file_could_need_are_refused_while_parsing() -> None:
    with pytest.raises(SpecError, match=r"^inline:3: more than 5000 values; a pod file has a few dozen$"):
        parse_yaml("name: x\nslug: x\nservices: [" + ", ".join(["a"] * 6000) + "]\n", "inline")


def test_a_file_over_64_kib_is_refused_without_being_parsed(write_pod: WritePod) -> None:
    pod_file = write_pod(GOOD + "#" + "x" * (10 * 1024 * 1024) + "\n", name="huge.yaml")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert str(error.value) == (
        f"{pod_file}: is larger than 64 KiB; a pod file is a few hundred bytes, so it was not read"
    )


def test_a_file_of_exactly_64_kib_is_read(write_pod: WritePod) -> None:
    padding = 64 * 1024 - len(GOOD) - 2
    assert resolve(write_pod(GOOD + "#" + "x" * padding + "\n")).slug == "ok"


def test_parse_yaml_refuses_oversized_text_too() -> None:
    with pytest.raises(SpecError, match=r"^inline: is larger than 64 KiB"):
        parse_yaml(GOOD + "#" + "é" * 40_000, "inline")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pod.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match=r"is not a regular file \(a device, FIFO or socket\)"):
        resolve(fifo)


def test_a_device_is_refused_without_reading_it() -> None:
    with pytest.raises(SpecError, match=r"^/dev/zero: is not a regular file"):
        resolve(Path("/dev/zero"))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2001-12-14", "is read as a date or time; quote it if it is text"),
        ("!!binary aGVsbG8=", "is binary data"),
        ("!!set {a, b}", "is a YAML set"),
        ("!!omap [a: 1]", "is a YAML ordered map"),
        ("!!python/object:os.system x", "has the tag 'tag:yaml.org,2002:python/object:os.system'"),
        ("!secret x", "has the tag '!secret'; pod files use plain YAML"),
        ("1" + "0" * 5000, "is a number of 5001 characters; at most 32"),
    ],
    ids=["date", "binary", "set", "omap", "python-tag", "local-tag", "huge-int"],
)
def test_values_that_are_not_plain_yaml_are_refused_at_their_path(write_pod: WritePod, value: str, words: str) -> None:
    pod_file = write_pod(f"name: {value}\nslug: x\nservices: [web-terminal]\n")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert str(error.value).startswith(f"{pod_file}:1: name: {words}")


def test_a_merge_value_is_checked_like_any_other(write_pod: WritePod) -> None:
    pod_file = write_pod(GOOD + "resources:\n  <<: {cpus: !!python/name:os.system x}\n")
    with pytest.raises(SpecError, match=r":5: resources.cpus: has the tag"):
        resolve(pod_file)


def test_at_most_twenty_problems_are_listed_and_the_rest_counted(write_pod: WritePod) -> None:
    env = "".join(f"  '{index}X': x\n" for index in range(30))
    pod_file = write_pod(GOOD + "env:\n" + env)
    with pytest.raises(PodSpecError) as error:
        resolve(pod_file)
    assert len(error.value.problems) == 30
    lines = str(error.value).splitlines()
    assert len(lines) == 21
    assert lines[-1] == f"{pod_file}: ... and 10 more problem(s)"


HOSTILE_COSTS = {
    "billion-laughs": BILLION_LAUGHS,
    "doubling-bomb": DOUBLING_BOMB,
    "deep-flow": "env: " + "[" * 30_000,
    "deep-block": "- " * 30_000 + "x\n",
    "many-values": "services: [" + ", ".join(["a"] * 30_000) + "]\n",
    "many-keys": "env:\n" + "".join(f"  K{index}: v\n" for index in range(6_000)),
    "huge": "# " + "x" * (10 * 1024 * 1024) + "\n",
    "long-line": "name: '" + "x" * 65_000 + "'\n",
    "huge-int": "host_port: " + "9" * 60_000 + "\n",
}


@pytest.mark.parametrize("text", HOSTILE_COSTS.values(), ids=HOSTILE_COSTS.keys())
def test_no_pod_file_costs_more_than_a_second_or_100_mb_to_refuse(
    write_pod: WritePod, measure_refusal: MeasureRefusal, text: str
) -> None:
    refusal = measure_refusal(write_pod(text, name="hostile.yaml"))
    assert refusal.error_type == "PodSpecError", refusal.message
    assert "hostile.yaml" in refusal.message
    assert refusal.cpu_seconds < 1.0
    assert refusal.rss_growth_mb < 100


# --- Errors never repeat what may be a secret -----------------------------------------------------

TOKEN = "sk-live-" + "4f9c2b7e1a8d6035" * 4
"""A made-up API token: no 8 consecutive characters of it may appear in an error."""


def assert_not_echoed(message: str, secret: str = TOKEN) -> None:
    leaked = {secret[i : i + 8] for i in range(len(secret) - 7)} & {message[i : i + 8] for i in range(len(message))}
    assert not leaked, f"the error repeats {sorted(leaked)[:3]}: {message}"


@pytest.mark.parametrize(
    "text",
    [
        TOKEN + "\n",
        f"API_TOKEN={TOKEN}\n",
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{TOKEN}\n-----END OPENSSH PRIVATE KEY-----\n",
        f"- {TOKEN}\n",
        f'"{TOKEN}"\n',
        f"{TOKEN}: [\n",
        f"&{TOKEN} x\n",
        f"*{TOKEN}\n",
        f"!{TOKEN} x\n",
        f"name: x\nslug: x\nservices: [web-terminal]\nenv:\n  TOKEN: {TOKEN[:20]}\n  TOKEN: {TOKEN}\n",
    ],
    ids=["one-line", "dotenv", "private-key", "list", "quoted", "broken-yaml", "anchor", "alias", "tag", "dup-key"],
)
def test_a_file_that_is_not_a_pod_file_is_never_quoted_back(write_pod: WritePod, text: str) -> None:
    pod_file = write_pod(text, name="secret.yaml")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert str(pod_file) in str(error.value)
    assert_not_echoed(str(error.value))


def test_binary_content_is_refused_without_echoing_bytes(tmp_path: Path) -> None:
    pod_file = tmp_path / "key.bin"
    pod_file.write_bytes(b"\x89PNG\r\n\x1a\n" + TOKEN.encode() + bytes(range(256)))
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert str(error.value) == f"{pod_file}: is not UTF-8 text (byte 0 is not UTF-8); is it a pod file?"


def test_control_characters_are_refused_without_echoing_the_text(write_pod: WritePod) -> None:
    pod_file = write_pod(f"name: x\nslug: x\nservices: [web-terminal]\nenv: {{A: {TOKEN}\x00}}\n")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert "#x0000" in str(error.value)
    assert_not_echoed(str(error.value))


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (f"env: {{API_KEY: {TOKEN}, B: 12345678}}\nhost_port: 1",
         "env.B: expected a string, quote it in YAML (got a number)"),
        (f"env: {{API_KEY: \"{TOKEN}\\x00\"}}",
         "env.API_KEY: must not contain NUL bytes (got a string of 73 characters)"),
        (f"ports: [{{name: app, port: 3000, command: \"curl -H 'X: {TOKEN}'\\nx\"}}]",
         "ports[0].command: must be one line"),
        (f"image: {TOKEN.upper()}",
         "image: must be a Docker image reference like pinacle/base:latest (got a string of 72"),
    ],
    ids=["env-number", "env-nul", "command-newline", "long-values"],
)  # fmt: skip
def test_values_that_may_be_secret_are_described_not_quoted(write_pod: WritePod, field: str, expected: str) -> None:
    pod_file = write_pod(f"name: x\nslug: x\nservices: [web-terminal]\n{field}\n", name="leaky.yaml")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert expected in str(error.value)
    assert_not_echoed(str(error.value))
    assert_not_echoed(str(error.value), "12345678")


def test_short_values_the_user_typed_are_still_quoted(write_pod: WritePod) -> None:
    pod_file = write_pod("name: x\nslug: My_Pod\nservices: [web-terminal]\n")
    with pytest.raises(SpecError, match=r"\(got 'My_Pod'\)$"):
        resolve(pod_file)


def test_long_keys_are_named_by_their_length(write_pod: WritePod) -> None:
    pod_file = write_pod(f"{TOKEN}{TOKEN}: x\nname: x\nslug: x\nservices: [web-terminal]\n")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert str(error.value).startswith(f"{pod_file}:1: [<a key of 144 characters>]: unknown key")
    assert_not_echoed(str(error.value))


def test_a_file_name_with_control_characters_is_shown_escaped(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as error:
        resolve(tmp_path / "pod\x1b[31m.yaml")
    assert "\x1b" not in str(error.value)
    assert "pod\\x1b[31m.yaml: no such file" in str(error.value)
