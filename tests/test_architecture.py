"""The structure the README promises, checked on the source: which app may import which,
no import circles, and no module too big to read."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ["config", "enrichment", "batches", "training", "devtools"]
# What each app may import from the others (the dependency direction of the README).
ALLOWED = {
    "enrichment": set(),
    "batches": {"enrichment"},
    "training": {"enrichment", "batches"},
    "devtools": {"enrichment", "batches", "training"},
    "config": {"enrichment", "batches", "training"},
}
MAX_LINES = 420  # "about 400"


def sources(app: str) -> list[Path]:
    return sorted(p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[str]:
    """Absolute names of what ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, node.module] if node.module else base)
            modules.append(name)
            modules.extend(f"{name}.{alias.name}" for alias in node.names)
    return modules


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_the_apps_below_it(app):
    others = set(APPS) - {app}

    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources(app)
        for module in imported_modules(path)
        if module.split(".")[0] in others - ALLOWED[app]
    ]

    assert len(sources(app)) >= 3
    assert offenders == []


def test_enrichment_never_reaches_batches_by_name_either():
    pattern = re.compile(r"""get_model\(\s*["']batches|batch_items__|["']admin:conversations_""")

    offenders = [
        str(path.relative_to(ROOT))
        for path in sources("enrichment")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]

    assert offenders == []


def test_no_import_circles():
    graph: dict[str, set[str]] = {}
    for app in APPS:
        for path in sources(app):
            graph[module_name(path)] = set()
    for app in APPS:
        for path in sources(app):
            for module in imported_modules(path):
                if module in graph and module != module_name(path):
                    graph[module_name(path)].add(module)
    # A package's __init__ that only re-exports its own modules is no circle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(f"{m}.")}

    circles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])

    assert len(graph) > 40
    assert circles == []


def test_no_module_is_too_long_to_read():
    long = {
        str(path.relative_to(ROOT)): lines
        for app in APPS
        for path in sources(app)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }

    assert long == {}
