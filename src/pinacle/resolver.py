"""Templates and overrides merged into one validated :class:`~pinacle.spec.PodSpec`.

The Python counterpart of the seed's ``ConfigResolver`` (resolve, merge). A pod
file may name a built-in template (``template: python-app``); the file is merged over the
template's data and the result validated as a whole. Built-in templates are YAML files in
``pinacle/pod_templates/``, data rather than code, so adding one needs no Python.

Errors still point into the user's file after a merge: ``ports`` entries are matched by
name and ``services`` by value, so ``ports[0]`` of the file is reported as such even when it
became ``ports[1]`` of the merged pod.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pinacle.errors import SpecError
from pinacle.loader import (
    Locator,
    PodSpecError,
    Problem,
    YamlDocument,
    build_spec,
    format_path,
    parse_yaml,
    read_yaml,
)
from pinacle.spec import Loc, PodSpec

_TEMPLATE_PACKAGE = "pinacle"
_TEMPLATE_DIR = "pod_templates"


def _port_name(entry: Any) -> Hashable:
    return entry.get("name") if isinstance(entry, Mapping) else None


def _service_name(entry: Any) -> Hashable:
    return entry if isinstance(entry, str) else None


_LIST_IDENTITIES: Mapping[str, Callable[[Any], Hashable]] = {
    "services": _service_name,
    "ports": _port_name,
}
"""Lists merged entry by entry, keyed by what identifies an entry; other lists are replaced."""


def template_names() -> tuple[str, ...]:
    """Names of the built-in templates, sorted."""
    folder = resources.files(_TEMPLATE_PACKAGE).joinpath(_TEMPLATE_DIR)
    return tuple(sorted(item.name.removesuffix(".yaml") for item in folder.iterdir() if item.name.endswith(".yaml")))


@cache
def load_template(name: str) -> YamlDocument:
    """The built-in template ``name``; a SpecError listing the known ones otherwise."""
    if name not in template_names():
        raise SpecError(f"unknown template {name!r}; known: {', '.join(template_names())}")
    text = resources.files(_TEMPLATE_PACKAGE).joinpath(_TEMPLATE_DIR, f"{name}.yaml").read_text("utf-8")
    return parse_yaml(text, f"template {name}")


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``; neither is modified.

    Mappings merge key by key, recursively. ``services`` lists become an ordered union (base
    first) and ``ports`` lists merge by ``name``: an override entry replaces the base entry of
    the same name in place, new ones are appended. Every other list, and every scalar, is
    replaced. Duplicates *within* the override are kept, so validation still reports them
    rather than the merge hiding them.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        identity = _LIST_IDENTITIES.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge(current, value)
        elif identity is not None and isinstance(current, list) and isinstance(value, list):
            merged[key] = _merge_list(current, value, identity)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_list(base: list[Any], override: list[Any], identity: Callable[[Any], Hashable]) -> list[Any]:
    merged = list(base)
    positions = {identity(entry): index for index, entry in enumerate(base)}
    positions.pop(None, None)
    replaced: set[int] = set()
    for entry in override:
        position = positions.get(identity(entry))
        if position is None or position in replaced:
            merged.append(copy.deepcopy(entry))
        else:
            merged[position] = copy.deepcopy(entry)
            replaced.add(position)
    return merged


def resolve(source: Path | str | Mapping[str, Any]) -> PodSpec:
    """A validated pod from a pod file, a built-in template's name, or a mapping.

    A string is a file if such a file exists, else a template name if there is one, else a
    file again when it looks like a path (so the error says "no such file").
    """
    if isinstance(source, Mapping):
        return resolve_mapping(source)
    if isinstance(source, str) and not Path(source).exists():
        if source in template_names():
            return resolve_mapping({"template": source, "slug": source}, f"template {source}")
        if not source.endswith((".yaml", ".yml")) and "/" not in source:
            raise SpecError(
                f"{source!r} is neither a pod file nor a built-in template; templates: {', '.join(template_names())}"
            )
    return resolve_document(read_yaml(source))


def resolve_mapping(data: Mapping[str, Any], source: str = "<mapping>") -> PodSpec:
    """A validated pod from already-parsed data (no line numbers in errors)."""
    if not isinstance(data, Mapping):
        kind = "a list" if isinstance(data, list) else type(data).__name__
        message = f"the top level must be a mapping of pod settings (got {kind})"
        raise PodSpecError([Problem(source, "", message)])
    return resolve_document(YamlDocument(source, data, {}))


def resolve_document(document: YamlDocument) -> PodSpec:
    """Merge ``document`` over its template, if any, and validate the result."""
    template = _template_of(document)
    if template is None:
        return build_spec(document.data, document.source, _locator(document, document.data, None))
    merged = merge(template.data, document.data)
    return build_spec(merged, document.source, _locator(document, merged, template))


def _template_of(document: YamlDocument) -> YamlDocument | None:
    """The template ``document`` names, or None; a wrong name is located in the file.

    A ``template`` that is not a string is left for validation to report.
    """
    name = document.data.get("template")
    if not isinstance(name, str):
        return None
    known = template_names()
    if name not in known:
        problem = Problem(
            document.source,
            "template",
            f"unknown template {name!r}; known: {', '.join(known)}",
            document.line_of(("template",)),
        )
        raise PodSpecError([problem])
    return load_template(name)


def _locator(document: YamlDocument, merged: Mapping[str, Any], template: YamlDocument | None) -> Locator:
    """Where an error in ``merged`` sits: in the user's file if it came from there."""

    def locate(loc: Loc) -> tuple[str, int | None]:
        own = _translate(loc, merged, document.data)
        if own is not None:
            return format_path(own), document.line_of(own)
        if template is not None and _translate(loc, merged, template.data) is not None:
            name = template.source.removeprefix("template ")
            return f"{format_path(loc)} (from template {name})", None
        return format_path(loc), document.line_of(loc)

    return locate


def _translate(loc: Loc, merged: Any, original: Any) -> Loc | None:
    """``loc`` in ``merged`` as a location in ``original``, or None if it is not there.

    Merged lists are matched to the original's entries by identity (port name, service
    name), counting repeats, so the n-th ``app`` port of the pod is the n-th of the file.
    """
    translated: list[int | str] = []
    for part in loc:
        if isinstance(part, str):
            if not isinstance(merged, Mapping) or not isinstance(original, Mapping):
                return None
            if part not in original:
                return None
            merged, original = merged.get(part), original[part]
            translated.append(part)
            continue
        if not isinstance(merged, list) or not isinstance(original, list) or part >= len(merged):
            return None
        parent = translated[-1] if translated else None
        identity = _LIST_IDENTITIES.get(parent) if isinstance(parent, str) else None
        index = _matching_index(merged, part, original, identity)
        if index is None:
            return None
        merged, original = merged[part], original[index]
        translated.append(index)
    return tuple(translated)


def _matching_index(
    merged: list[Any], index: int, original: list[Any], identity: Callable[[Any], Hashable] | None
) -> int | None:
    if identity is None:
        return index if index < len(original) else None
    key = identity(merged[index])
    if key is None:
        return None
    repeat = sum(1 for entry in merged[:index] if identity(entry) == key)
    matches = [i for i, entry in enumerate(original) if identity(entry) == key]
    if not matches:
        return None
    return matches[min(repeat, len(matches) - 1)]
