"""Pod files: YAML in, :class:`~pinacle.spec.PodSpec` out, errors that say where and what.

A pod file is the only input a user writes by hand, so its errors must be fixable without
reading our code: every problem names the file, the line, the YAML path (``ports[1].port``)
and what was expected, and all problems are reported at once, one per line, the way a
compiler does::

    pods/bad.yaml:7: ports[1].port: must be 1..65535 and not 80 (got 70000)

PyYAML silently keeps the last of two equal keys and turns ``on:`` into ``True``; both hide
mistakes in a file that drives a deploy, so :class:`PodYamlLoader` refuses them.

Templates are the resolver's business: :func:`pinacle.resolver.resolve` turns a pod file (or a
mapping) into a pod, reading and validating it through this module, which never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from pinacle.errors import SpecError
from pinacle.spec import Loc, PodSpec

Locator = Callable[[Loc], tuple[str, int | None]]
"""Maps a location in the validated data to the path shown to the user and its line."""

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TAG_NAMES = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pod definition, located as precisely as we can."""

    source: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class PodSpecError(SpecError):
    """A SpecError carrying every problem found, for callers that want them one by one."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class YamlDocument:
    """A parsed pod file (or template): its data and the line of every key and list item."""

    source: str
    data: Mapping[str, Any]
    lines: Mapping[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """Line of ``loc``, or of its nearest ancestor present in the file (for missing keys)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


class _BadKey(yaml.MarkedYAMLError):
    """A key PyYAML would accept but a pod file must not have (duplicate, not a string)."""

    def __init__(self, loc: Loc, problem: str, mark: yaml.Mark) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.loc = loc


class PodYamlLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate and non-string keys and records line numbers.

    The checks run on the composed node tree, before construction, so they know the full
    YAML path of the offending key; construction then proceeds exactly as SafeLoader's.
    """

    def load_document(self) -> tuple[Any, dict[Loc, int]] | None:
        """The single document's data and line index, or None for an empty stream."""
        node = self.get_single_node()
        if node is None:
            return None
        lines: dict[Loc, int] = {}
        self._check_node(node, (), lines, frozenset())
        return self.construct_document(node), lines

    def _check_node(self, node: yaml.Node, loc: Loc, lines: dict[Loc, int], ancestors: frozenset[int]) -> None:
        lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in ancestors:  # a recursive alias: already indexed further up
            return
        ancestors = ancestors | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._check_node(item, (*loc, index), lines, ancestors)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self._string_key(key_node, loc)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _BadKey(
                        (*loc, key),
                        f"duplicate key (first at line {seen[key]}); YAML would silently keep only the last one",
                        key_node.start_mark,
                    )
                seen[key] = line
                lines[(*loc, key)] = line
                self._check_node(value_node, (*loc, key), lines, ancestors)

    @staticmethod
    def _string_key(key_node: yaml.Node, loc: Loc) -> str:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
            return str(key_node.value)
        if isinstance(key_node, yaml.ScalarNode):
            kind = _TAG_NAMES.get(key_node.tag, key_node.tag)
            problem = f"key {key_node.value!r} is read as {kind}; keys must be strings (quote it)"
        else:
            problem = "keys must be strings, not lists or mappings"
        raise _BadKey(loc, problem, key_node.start_mark)


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one pod document whose top level is a mapping; PodSpecError otherwise."""
    loader = PodYamlLoader(text)
    try:
        loaded = loader.load_document()
    except _BadKey as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        problem = Problem(source, format_path(error.loc), str(error.problem), line)
        raise PodSpecError([problem]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        detail = "; ".join(str(part) for part in (error.context, error.problem) if part)
        raise PodSpecError([Problem(source, "", f"YAML syntax error: {detail}", line)]) from None
    except yaml.YAMLError as error:
        raise PodSpecError([Problem(source, "", f"YAML error: {error}")]) from None
    finally:
        loader.dispose()
    if loaded is None:
        message = "the file is empty; expected a pod definition (a mapping with name, slug, ...)"
        raise PodSpecError([Problem(source, "", message)])
    data, lines = loaded
    if not isinstance(data, dict):
        message = f"the top level must be a mapping of pod settings (got {_describe(data)})"
        raise PodSpecError([Problem(source, "", message, lines.get(()))])
    return YamlDocument(source, data, lines)


def read_yaml(path: Path | str) -> YamlDocument:
    """Read and parse a pod file; every failure is a PodSpecError naming the file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PodSpecError([Problem(source, "", "no such file")]) from None
    except IsADirectoryError:
        raise PodSpecError([Problem(source, "", "is a directory, not a pod file")]) from None
    except UnicodeDecodeError:
        raise PodSpecError([Problem(source, "", "is not UTF-8 text")]) from None
    except OSError as error:
        raise PodSpecError([Problem(source, "", f"cannot be read: {error.strerror}")]) from None
    return parse_yaml(text, source)


def build_spec(data: Mapping[str, Any], source: str, locate: Locator | None = None) -> PodSpec:
    """Validate fully resolved ``data`` into a PodSpec, reporting every problem at once."""
    try:
        return PodSpec.model_validate(data)
    except ValidationError as error:
        raise PodSpecError(validation_problems(error, source, locate)) from None


def validation_problems(error: ValidationError, source: str, locate: Locator | None = None) -> list[Problem]:
    """One :class:`Problem` per pydantic error, in plain words, located by ``locate``."""
    problems = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        if loc and loc[-1] == "[key]":  # a dict key failed: point at the key itself
            loc = loc[:-1]
        path, line = locate(loc) if locate else (format_path(loc), None)
        problems.append(Problem(source, path, _message(detail, loc), line))
    return problems


def _message(detail: Mapping[str, Any], loc: Loc) -> str:
    kind, value = detail["type"], detail["input"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model else "none"
        return f"unknown key; expected one of: {allowed}"
    if kind == "missing":
        return "required key is missing"
    if kind == "pod_spec":
        message = str(detail["msg"])
        scalar = value is None or isinstance(value, str | int | float)
        return f"{message} (got {_describe(value)})" if scalar else message
    expected = {
        "string_type": "expected a string",
        "int_type": "expected a whole number",
        "float_type": "expected a number",
        "list_type": "expected a list",
        "tuple_type": "expected a list",
        "dict_type": "expected a mapping",
        "model_type": "expected a mapping",
        "model_attributes_type": "expected a mapping",
    }.get(kind, str(detail["msg"]))
    if kind == "string_type" and isinstance(value, int | float):
        expected += ", quote it in YAML"
    return f"{expected} (got {_describe(value)})"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model whose fields are allowed at ``loc`` (``ports[0]`` -> AppPortSpec)."""
    current: Any = PodSpec
    for part in loc:
        if isinstance(part, int):
            args = get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field else None
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _describe(value: Any) -> str:
    """A value as the user wrote it in YAML, short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def format_path(loc: Loc) -> str:
    """``("ports", 1, "port")`` -> ``ports[1].port``; odd keys are quoted."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part and all(char.isalnum() or char in "_-" for char in part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(top level)"
