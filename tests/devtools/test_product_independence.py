"""The product apps never depend on the development tools."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append(node.module)
    return modules


@pytest.mark.parametrize("app", ["enrichment", "batches"])
def test_product_app_imports_nothing_from_devtools(app):
    sources = sorted((ROOT / app).rglob("*.py"))

    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources
        for module in imported_modules(path)
        if module == "devtools" or module.startswith("devtools.")
    ]

    assert len(sources) > 10
    assert offenders == []
