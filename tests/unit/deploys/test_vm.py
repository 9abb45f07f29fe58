"""deploys/vm.py is what users run: two lines that import the host deploy and call it."""

from __future__ import annotations

import ast
from pathlib import Path

VM = Path(__file__).resolve().parents[3] / "deploys" / "vm.py"


def test_vm_deploy_only_imports_and_calls_provision_host() -> None:
    body = ast.parse(VM.read_text()).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    assert [ast.unparse(node) for node in body] == [
        "from pinacle.deploys.host import provision_host",
        "provision_host()",
    ]


def test_vm_deploy_is_a_few_lines() -> None:
    code = [line for line in VM.read_text().splitlines() if line.strip()]
    assert len(code) <= 4
