#!/usr/bin/env python3
"""Write (or ``--check``) the README's API reference from the code: PodManager's methods, the
records they return and the exception tree, between the README's ``api-reference`` markers."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from pathlib import Path

import pinacle
from pinacle import errors, records
from pinacle.api import PodManager

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- api-reference:begin (scripts/api-reference.py writes this) -->", "<!-- api-reference:end -->"


def markdown(text: str) -> str:
    """reStructuredText roles and literals as Markdown, safe inside a table cell."""
    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: f"`{m[1].rsplit('.', 1)[-1]}`", text)
    return text.replace("``", "`").replace("|", "\\|")


def summary(obj: object) -> str:
    """The first paragraph of ``obj``'s docstring, on one line."""
    doc = inspect.getdoc(obj) or ""
    return markdown(" ".join(doc.split("\n\n")[0].split()))


def signature(name: str) -> str:
    params: list[str] = []
    for param in list(inspect.signature(getattr(PodManager, name)).parameters.values())[1:]:
        if param.kind is param.KEYWORD_ONLY and not any(p.startswith("*") for p in params):
            params.append("*")
        text = ("*" if param.kind is param.VAR_POSITIONAL else "") + param.name
        if param.annotation is not param.empty:
            text += f": {param.annotation}"
        if param.default is not param.empty:
            text += f" = {param.default!r}"
        params.append(text)
    returns = inspect.signature(getattr(PodManager, name)).return_annotation
    return f"{name}({', '.join(params)}) -> {returns}".replace("|", "\\|")


def reference() -> str:
    lines = ["| method | what it does |", "|---|---|"]
    for name, member in vars(PodManager).items():
        if inspect.isfunction(member) and not name.startswith("_"):
            lines.append(f"| `{signature(name)}` | {summary(member)} |")
    lines += ["", "| record | fields |", "|---|---|"]
    for name in sorted(pinacle.__all__):
        cls = getattr(pinacle, name, None)
        if (
            inspect.isclass(cls)
            and dataclasses.is_dataclass(cls)
            and cls.__module__ in (records.__name__, "pinacle.progress", "pinacle.pod.diff")
        ):
            fields = ", ".join(f.name for f in dataclasses.fields(cls))
            lines.append(f"| `{name}` | {fields} |")
    lines += ["", "| exception | exit code | raised when |", "|---|---|---|"]
    tree = sorted(
        (cls for cls in vars(errors).values() if inspect.isclass(cls) and issubclass(cls, errors.PinacleError)),
        key=lambda cls: (cls.exit_code, len(cls.__mro__)),
    )
    for cls in tree:
        base = cls.__mro__[1].__name__
        parent = "" if cls is errors.PinacleError else f" ({base})"
        lines.append(f"| `{cls.__name__}`{parent} | {cls.exit_code} | {summary(cls)} |")
    return "\n".join(lines)


def with_reference(text: str) -> str:
    head, begin, rest = text.partition(BEGIN)
    _old, end, tail = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"README.md lacks the markers {BEGIN} ... {END}")
    return f"{head}{BEGIN}\n{reference()}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's reference is stale")
    args = parser.parse_args()
    text = README.read_text()
    new = with_reference(text)
    if args.check:
        if new != text:
            print("README.md's API reference is stale: run scripts/api-reference.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
