"""The sandbox stands alone: it imports none of the product's packages."""
from __future__ import annotations

import ast
from pathlib import Path

import sandbox

FORBIDDEN = {"connector", "rules", "mappings", "jobs"}


def test_no_sandbox_module_imports_connector_rules_mappings_or_jobs():
    offenders = []
    for path in Path(sandbox.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
