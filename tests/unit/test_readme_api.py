"""The README's Python API section is the code's: its reference is generated, its example is the
module docstring's (which tests/integration/api runs against a real pod)."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pinacle.api

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_api_reference_is_up_to_date() -> None:
    check = subprocess.run(
        [sys.executable, "scripts/api-reference.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_readme_api_example_is_the_module_example() -> None:
    section = (REPO / "README.md").read_text().split("## Python API", 1)[1]
    readme_example = section.split("```python\n", 1)[1].split("```", 1)[0].strip()
    doc = inspect.getdoc(pinacle.api) or ""
    lines = []
    for line in doc.split(".. code:: python", 1)[1].splitlines()[1:]:
        if line.strip() and not line.startswith("    "):
            break
        lines.append(line)
    assert readme_example == textwrap.dedent("\n".join(lines)).strip()
