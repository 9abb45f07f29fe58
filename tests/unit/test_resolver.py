"""Templates merged under pod files: resolve, merge."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pinacle.errors import SpecError
from pinacle.loader import PodSpecError
from pinacle.resolver import load_template, merge, resolve, resolve_mapping, template_names

WritePod = Callable[..., Path]

APP = {"name": "app", "port": 3000, "command": "python3 -m http.server 3000"}


def test_scalars_in_the_override_replace_the_base() -> None:
    assert merge({"name": "a", "image": "x"}, {"name": "b"}) == {"name": "b", "image": "x"}


def test_nested_mappings_merge_key_by_key() -> None:
    base = {"resources": {"cpus": 1, "memory": "1g"}, "env": {"A": "1", "B": "2"}}
    override = {"resources": {"cpus": 2}, "env": {"B": "3", "C": "4"}}
    assert merge(base, override) == {
        "resources": {"cpus": 2, "memory": "1g"},
        "env": {"A": "1", "B": "3", "C": "4"},
    }


def test_services_merge_as_an_ordered_union() -> None:
    merged = merge({"services": ["web-terminal", "code-server"]}, {"services": ["claude-code"]})
    assert merged["services"] == ["web-terminal", "code-server", "claude-code"]
    again = merge({"services": ["web-terminal"]}, {"services": ["web-terminal", "code-server"]})
    assert again["services"] == ["web-terminal", "code-server"]


def test_ports_merge_by_name_replacing_in_place_and_appending_new_ones() -> None:
    api = {"name": "api", "port": 8000}
    base = {"ports": [APP, {"name": "docs", "port": 4000}]}
    merged = merge(base, {"ports": [api, {"name": "app", "port": 5000}]})
    assert merged["ports"] == [{"name": "app", "port": 5000}, {"name": "docs", "port": 4000}, api]


def test_duplicates_within_the_override_survive_the_merge_for_validation() -> None:
    merged = merge({"services": ["web-terminal"]}, {"services": ["code-server", "code-server"]})
    assert merged["services"] == ["web-terminal", "code-server", "code-server"]


def test_other_lists_are_replaced() -> None:
    assert merge({"tags": [1, 2]}, {"tags": [3]}) == {"tags": [3]}


def test_a_list_over_a_non_list_is_taken_as_is() -> None:
    assert merge({"services": "web-terminal"}, {"services": ["code-server"]}) == {"services": ["code-server"]}


def test_merge_leaves_its_inputs_alone() -> None:
    base: dict[str, Any] = {"ports": [APP], "env": {"A": "1"}}
    override: dict[str, Any] = {"ports": [{"name": "app", "port": 1}], "env": {"B": "2"}}
    before = copy.deepcopy((base, override))
    merged = merge(base, override)
    merged["env"]["C"] = "3"
    merged["ports"][0]["port"] = 9
    assert (base, override) == before


def test_built_in_templates_include_web_terminal_and_python_app() -> None:
    assert {"web-terminal", "python-app"} <= set(template_names())


@pytest.mark.parametrize("name", template_names())
def test_every_template_resolves_by_name(name: str) -> None:
    spec = resolve(name)
    assert (spec.slug, spec.template) == (name, name)


@pytest.mark.parametrize("name", template_names())
def test_templates_leave_slug_and_template_to_the_pod_file(name: str) -> None:
    assert not {"slug", "template"} & set(load_template(name).data)


def test_python_app_template_runs_an_http_server_on_3000() -> None:
    spec = resolve("python-app")
    assert spec.services == ("web-terminal",)
    assert [(p.name, p.port, p.command) for p in spec.ports] == [
        ("app", 3000, "python3 -m http.server 3000 --directory /workspace")
    ]


def test_a_pod_file_is_merged_over_its_template(write_pod: WritePod) -> None:
    pod_file = write_pod(
        """
        template: python-app
        name: Mine
        slug: mine
        services: [code-server]
        ports:
          - name: app
            port: 3000
            command: ./serve
        """
    )
    spec = resolve(pod_file)
    assert spec.template == "python-app"
    assert spec.services == ("web-terminal", "code-server")
    assert [(p.name, p.command) for p in spec.ports] == [("app", "./serve")]


def test_a_string_path_resolves_like_a_path(write_pod: WritePod) -> None:
    pod_file = write_pod("name: A\nslug: a\nservices: [web-terminal]\n")
    assert resolve(str(pod_file)) == resolve(pod_file)


def test_a_mapping_resolves_with_its_template() -> None:
    spec = resolve({"template": "web-terminal", "name": "A", "slug": "a"})
    assert spec.services == ("web-terminal",)


def test_an_existing_file_wins_over_a_template_of_the_same_name(
    write_pod: WritePod, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod_file = write_pod("name: Local\nslug: local\nservices: [web-terminal]\n", name="python-app")
    monkeypatch.chdir(pod_file.parent)
    assert resolve("python-app").slug == "local"


def test_a_string_that_is_neither_file_nor_template_lists_the_templates() -> None:
    with pytest.raises(SpecError, match="neither a pod file nor a built-in template; templates: "):
        resolve("django")


def test_a_missing_yaml_path_says_no_such_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        resolve(str(tmp_path / "pod.yaml"))


def test_an_unknown_template_is_located_and_lists_the_known_ones(write_pod: WritePod) -> None:
    pod_file = write_pod("name: A\nslug: a\ntemplate: django\n")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert str(error.value) == (f"{pod_file}:3: template: unknown template 'django'; known: python-app, web-terminal")


def test_load_template_refuses_unknown_names() -> None:
    with pytest.raises(SpecError, match="unknown template 'django'; known: "):
        load_template("django")


def test_errors_after_a_merge_point_at_the_files_own_entry(write_pod: WritePod) -> None:
    pod_file = write_pod(
        """
        template: python-app
        name: Mine
        slug: mine
        ports:
          - name: api
            port: 7681
        """
    )
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert str(error.value) == (f"{pod_file}:6: ports[0].port: port is already used by service web-terminal (got 7681)")


def test_errors_in_template_entries_say_so(write_pod: WritePod) -> None:
    pod_file = write_pod("template: python-app\nname: Mine\nslug: mine\nservices: [jupyter]\n")
    with pytest.raises(SpecError) as error:
        resolve(pod_file)
    assert f"{pod_file}:4: services[0]: unknown service" in str(error.value)


@pytest.mark.parametrize(("data", "kind"), [(None, "NoneType"), ([], "a list"), ("pod", "str"), (3, "int")])
def test_data_that_is_not_a_mapping_is_refused(data: object, kind: str) -> None:
    with pytest.raises(PodSpecError, match=re.escape(f"the top level must be a mapping of pod settings (got {kind})")):
        resolve_mapping(data)  # type: ignore[arg-type]
