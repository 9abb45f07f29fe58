"""Pod files: YAML in, :class:`~pinacle.spec.PodSpec` out, errors that say where and what.

A pod file is the only input a user writes by hand, so its errors must be fixable without
reading our code: every problem names the file, the line, the YAML path (``ports[1].port``)
and what was expected, and all problems are reported at once, one per line, the way a
compiler does::

    pods/bad.yaml:7: ports[1].port: must be 1..65535 and not 80 (got 70000)

PyYAML silently keeps the last of two equal keys and turns ``on:`` into ``True``; both hide
mistakes in a file that drives a deploy, so :class:`PodYamlLoader` refuses them.

A pod file is also untrusted input, so reading one is bounded before anything is built from it:
at most :data:`MAX_FILE_BYTES` are read, nesting deeper than :data:`MAX_DEPTH` stops the parser
where it happens, and aliases (the "billion laughs") are bounded both in number
(:data:`MAX_ALIASES`) and in what they expand to (:data:`MAX_NODES`). Only plain YAML types
(strings, numbers, booleans, null, lists and mappings) are accepted: no dates, binary data, sets
or tags. No pod file costs more than a fraction of a second or a few MB to refuse.

Errors never echo what may be a secret: a value is quoted back only when it is short, printable
ASCII on one line, and not an ``env`` value or a ``command`` (see :func:`describe`); otherwise it
is described by its type and length. A file that is not a mapping at all (a key file, a token) is
never quoted. Keys the user typed are named in YAML paths when they are short.

Templates are the resolver's business: :func:`pinacle.resolver.resolve` turns a pod file (or a
mapping) into a pod, reading and validating it through this module, which never imports it.
"""

from __future__ import annotations

import os
import re
import stat
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

MAX_FILE_BYTES = 64 * 1024
"""A pod file is a few hundred bytes; the largest valid one (every field at its limit) is smaller."""
MAX_DEPTH = 16
"""Nesting levels of YAML collections and values; a pod file needs 4 (``ports[0].name``)."""
MAX_ALIASES = 64
"""Uses of ``*alias`` in one file."""
MAX_NODES = 5_000
"""YAML values in the file once every alias is expanded (a pod file has a few dozen)."""
MAX_NUMBER_LENGTH = 32
"""Characters of a YAML integer; longer ones are refused before Python converts them."""
MAX_SHOWN_PROBLEMS = 20
"""Problems listed in one error; the rest are counted."""
MAX_SHOWN_VALUE = 40
"""Characters of a value that an error may quote back."""
MAX_SHOWN_KEY = 64
"""Characters of a key that a YAML path may name."""

_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TAG_NAMES = {
    "tag:yaml.org,2002:bool": "a boolean",
    _INT_TAG: "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null",
}
_PLAIN_TAGS = frozenset({_STR_TAG, *_TAG_NAMES, "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})
_REFUSED_TAGS = {
    "tag:yaml.org,2002:timestamp": "is read as a date or time; quote it if it is text",
    "tag:yaml.org,2002:binary": "is binary data (!!binary); pod files hold text",
    "tag:yaml.org,2002:set": "is a YAML set (!!set); use a list",
    "tag:yaml.org,2002:omap": "is a YAML ordered map (!!omap); use a mapping",
    "tag:yaml.org,2002:pairs": "is a YAML list of pairs (!!pairs); use a mapping",
}
# A quoted part of a PyYAML message (an alias, anchor or tag name) too long to repeat.
_LONG = MAX_SHOWN_VALUE + 1
_LONG_QUOTED = re.compile(rf"'(?:[^'\\]|\\.){{{_LONG},}}'" + rf'|"(?:[^"\\]|\\.){{{_LONG},}}"')


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
    """A SpecError carrying every problem found, for callers that want them one by one.

    Its message lists the first :data:`MAX_SHOWN_PROBLEMS` and counts the rest.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = [str(problem) for problem in self.problems[:MAX_SHOWN_PROBLEMS]]
        if len(self.problems) > MAX_SHOWN_PROBLEMS:
            more = len(self.problems) - MAX_SHOWN_PROBLEMS
            lines.append(f"{self.problems[0].source}: ... and {more} more problem(s)")
        super().__init__("\n".join(lines))


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


class _Refused(yaml.MarkedYAMLError):
    """Something PyYAML would accept but a pod file must not have, at ``loc`` if known."""

    def __init__(self, loc: Loc | None, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.loc = loc


# libyaml's scanner and parser when PyYAML has them (ten times faster than PyYAML's own, which a
# run of fifty pod files feels), under PyYAML's Python composer, which the bounds below need.
if yaml.__with_libyaml__:
    from yaml._yaml import CParser as _Parser
else:  # pragma: no cover - PyYAML built without libyaml

    class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


class PodYamlLoader(yaml.composer.Composer, _Parser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """A SafeLoader for untrusted pod files: bounded, strict about keys and types, with lines.

    While composing it bounds nesting (:data:`MAX_DEPTH`, checked as each level opens, so a file
    nested 100,000 deep stops at level 17 instead of exhausting Python's stack), the number of
    values (:data:`MAX_NODES`) and alias uses (:data:`MAX_ALIASES`), and refuses an alias inside
    its own anchor (a recursive value).
    Then, on the composed node tree and before construction, it walks every value as the aliases
    expand it, stopping at :data:`MAX_NODES`, and refuses duplicate and non-string keys and
    anything but plain YAML types, knowing the full YAML path of each. Construction then proceeds
    exactly as SafeLoader's.
    """

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0
        self._composed = 0
        self._nodes = 0
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                problem = f"more than {MAX_ALIASES} aliases (*name); a pod file needs a few"
                raise _Refused(None, problem, event.start_mark)
            if event.anchor in self._open_anchors:
                raise _Refused(None, "an alias inside its own anchor makes a recursive value", event.start_mark)
            return super().compose_node(parent, index)
        assert event is not None  # the composer asks for a node only while events remain
        self._composed += 1
        if self._composed > MAX_NODES:
            problem = f"more than {MAX_NODES} values; a pod file has a few dozen"
            raise _Refused(None, problem, event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(None, _too_deep(), event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)

    def load_document(self) -> tuple[Any, dict[Loc, int]] | None:
        """The single document's data and line index, or None for an empty stream."""
        node = self.get_single_node()
        if node is None:
            return None
        lines: dict[Loc, int] = {}
        self._check_node(node, (), lines, frozenset())
        return self.construct_document(node), lines

    def _check_node(self, node: yaml.Node, loc: Loc, lines: dict[Loc, int], ancestors: frozenset[int]) -> None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            problem = f"more than {MAX_NODES} values once aliases are expanded; a pod file has a few dozen"
            raise _Refused(loc, problem, node.start_mark)
        lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in ancestors:  # a recursive alias: already indexed further up
            return
        self._check_tag(node, loc)
        ancestors = ancestors | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._check_node(item, (*loc, index), lines, ancestors)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    # Merged in at construction: checked (and counted) like any value, but its
                    # lines never replace those of the keys written here.
                    merged: dict[Loc, int] = {}
                    self._check_node(value_node, loc, merged, ancestors)
                    for merged_loc, line in merged.items():
                        lines.setdefault(merged_loc, line)
                    continue
                key = self._string_key(key_node, loc)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _Refused(
                        (*loc, key),
                        f"duplicate key (first at line {seen[key]}); YAML would silently keep only the last one",
                        key_node.start_mark,
                    )
                seen[key] = line
                lines[(*loc, key)] = line
                self._check_node(value_node, (*loc, key), lines, ancestors)

    @staticmethod
    def _check_tag(node: yaml.Node, loc: Loc) -> None:
        if node.tag not in _PLAIN_TAGS:
            problem = _REFUSED_TAGS.get(node.tag) or (
                f"has the tag {_shown_name(node.tag)}; pod files use plain YAML (strings, numbers, lists, mappings)"
            )
            raise _Refused(loc, problem, node.start_mark)
        if node.tag == _INT_TAG and len(node.value) > MAX_NUMBER_LENGTH:
            problem = f"is a number of {len(node.value)} characters; at most {MAX_NUMBER_LENGTH}"
            raise _Refused(loc, problem, node.start_mark)

    @staticmethod
    def _string_key(key_node: yaml.Node, loc: Loc) -> str:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
            return str(key_node.value)
        if isinstance(key_node, yaml.ScalarNode):
            kind = _TAG_NAMES.get(key_node.tag, "another type")
            problem = f"key {_shown_name(key_node.value)} is read as {kind}; keys must be strings (quote it)"
        else:
            problem = "keys must be strings, not lists or mappings"
        raise _Refused(loc, problem, key_node.start_mark)


def _shown_name(text: str) -> str:
    """A key, tag or alias the user typed, quoted if short and printable, else its length."""
    if len(text) <= MAX_SHOWN_KEY and text.isascii() and text.isprintable():
        return repr(text)
    return f"of {len(text)} characters"


def _shown_source(source: str) -> str:
    """A file name as an error shows it: escaped if it holds control characters."""
    return source if source.isprintable() else repr(source)[1:-1]


def _redact(message: str) -> str:
    """A PyYAML message with long quoted parts (alias, anchor, tag names) replaced by their length."""
    return _LONG_QUOTED.sub(lambda match: f"(a name of {len(match[0]) - 2} characters)", message)


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one pod document whose top level is a mapping; PodSpecError otherwise."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise PodSpecError([Problem(source, "", _too_large())])
    loader: PodYamlLoader | None = None
    try:
        loader = PodYamlLoader(text)  # its reader refuses control characters at once
        loaded = loader.load_document()
    except _Refused as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        path = format_path(error.loc) if error.loc is not None else ""
        raise PodSpecError([Problem(source, path, str(error.problem), line)]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        if "exceeded maximum nesting depth" in str(error.problem):  # libyaml's own bound, met first
            raise PodSpecError([Problem(source, "", _too_deep(), line)]) from None
        detail = "; ".join(_redact(str(part)) for part in (error.context, error.problem) if part)
        raise PodSpecError([Problem(source, "", f"YAML syntax error: {detail}", line)]) from None
    except yaml.YAMLError as error:
        raise PodSpecError([Problem(source, "", f"YAML error: {_redact(str(error))}")]) from None
    except (ValueError, OverflowError, RecursionError, MemoryError) as error:
        # Defence in depth: the checks above should leave construction nothing to choke on.
        problem = f"cannot be read as YAML ({type(error).__name__})"
        raise PodSpecError([Problem(source, "", problem)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if loaded is None:
        message = "the file is empty; expected a pod definition (a mapping with name, slug, ...)"
        raise PodSpecError([Problem(source, "", message)])
    data, lines = loaded
    if not isinstance(data, dict):
        # Never quoted: a file that is not a mapping may be anything, a key or a token included.
        message = f"the top level must be a mapping of pod settings (got {describe(data, secret=True)})"
        raise PodSpecError([Problem(source, "", message, lines.get(()))])
    return YamlDocument(source, data, lines)


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep; a pod file needs 4"


def _too_large() -> str:
    return f"is larger than {MAX_FILE_BYTES // 1024} KiB; a pod file is a few hundred bytes, so it was not read"


def read_yaml(path: Path | str) -> YamlDocument:
    """Read and parse a pod file; every failure is a PodSpecError naming the file.

    Only a regular file is read (never a FIFO or a device, which could block or never end), and
    at most one byte more than :data:`MAX_FILE_BYTES`, so a huge file is refused unread.
    """
    source = _shown_source(str(path))
    try:
        raw = _read_bounded(Path(path))
    except FileNotFoundError:
        raise PodSpecError([Problem(source, "", "no such file")]) from None
    except IsADirectoryError:
        raise PodSpecError([Problem(source, "", "is a directory, not a pod file")]) from None
    except OSError as error:
        raise PodSpecError([Problem(source, "", f"cannot be read: {error.strerror or error}")]) from None
    if raw is None:
        raise PodSpecError([Problem(source, "", "is not a regular file (a device, FIFO or socket), not a pod file")])
    if len(raw) > MAX_FILE_BYTES:
        raise PodSpecError([Problem(source, "", _too_large())])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = f"is not UTF-8 text (byte {error.start} is not UTF-8); is it a pod file?"
        raise PodSpecError([Problem(source, "", problem)]) from None
    return parse_yaml(text, source)


def _read_bounded(path: Path) -> bytes | None:
    """At most ``MAX_FILE_BYTES + 1`` bytes of ``path``; None if it is not a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory")
        if not stat.S_ISREG(mode):
            return None
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


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
    secret = _may_be_secret(loc)
    context = detail.get("ctx") or {}
    if kind == "string_too_long":
        return f"must be at most {context['max_length']} characters (got {describe(value, secret=secret)})"
    if kind == "too_long":
        return f"must have at most {context['max_length']} entries (got {context['actual_length']})"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model else "none"
        return f"unknown key; expected one of: {allowed}"
    if kind == "missing":
        return "required key is missing"
    if kind == "pod_spec":
        message = str(detail["msg"])
        scalar = value is None or isinstance(value, str | int | float)
        return f"{message} (got {describe(value, secret=secret)})" if scalar else message
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
    return f"{expected} (got {describe(value, secret=secret)})"


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


def _may_be_secret(loc: Loc) -> bool:
    """Values at ``loc`` may hold a secret: env values, and commands (tokens in arguments)."""
    return (len(loc) >= 2 and loc[0] == "env") or "command" in loc


def describe(value: Any, *, secret: bool = False) -> str:
    """A value as an error may show it: quoted back only if it is short, printable ASCII on one
    line and not ``secret``; otherwise by its type and length, so no error repeats a secret.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean" if secret else ("true" if value else "false")
    if isinstance(value, int | float):
        if secret:
            return "a number"
        text = repr(value) if not isinstance(value, int) or abs(value) < 10**MAX_SHOWN_VALUE else ""
        return text if text and len(text) <= MAX_SHOWN_VALUE else "a long number"
    if isinstance(value, str):
        if secret or len(value) > MAX_SHOWN_VALUE or not (value.isascii() and value.isprintable()):
            return f"a string of {len(value)} character{'' if len(value) == 1 else 's'}"
        return repr(value)
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
        elif len(part) > MAX_SHOWN_KEY or not part.isprintable():
            text += f"[<a key of {len(part)} characters>]"
        elif part and all(char.isalnum() or char in "_-" for char in part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(top level)"
