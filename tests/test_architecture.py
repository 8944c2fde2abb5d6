"""The structure docs/architecture.md describes, checked on the source: which app may import which,
no import circles, and no module too big to read."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = [
    "core",
    "conversations",
    "enrichment",
    "intake",
    "training",
    "generation",
    "review",
    "devtools",
    "config",
]
# What each app may import from the others: core is for everyone, conversations holds the
# data, enrichment works on it, intake, training and review stand on both, and
# generation on intake (its results go through the intake code) (docs/architecture.md).
ALLOWED = {
    "core": set(),
    "conversations": {"core"},
    "enrichment": {"core", "conversations"},
    "intake": {"core", "conversations", "enrichment"},
    "training": {"core", "conversations", "enrichment"},
    "generation": {"core", "conversations", "enrichment", "intake"},
    "review": {"core", "conversations", "enrichment"},
    "devtools": {
        "core",
        "conversations",
        "enrichment",
        "intake",
        "training",
        "generation",
        "review",
    },
    "config": {
        "core",
        "conversations",
        "enrichment",
        "intake",
        "training",
        "generation",
        "review",
        "devtools",
    },
}
# Inside an app, three layers: its models; what it does (services, the engine's modules);
# and how people and programs reach it (pages, API, admin, commands). A layer imports only
# the layers below it, of its own app and of the apps below.
FRONT = {"api", "views", "admin", "forms", "serializers", "management", "templatetags", "urls"}
MAX_LINES = 400


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


def layer(module: str) -> int:
    """0 for models, 2 for the ways in, 1 for everything else."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] == "models":
        return 0
    if len(parts) > 1 and (parts[1] in FRONT or parts[1].endswith("_views")):
        return 2
    return 1


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_inside_an_app_a_layer_imports_only_the_layers_below_it(app):
    ours = set(APPS)

    def upwards(source: str, target: str) -> bool:
        if target.split(".")[0] not in ours or target.startswith(f"{source}."):
            return False  # not ours, or a package's __init__ re-exporting its modules
        if target.split(".")[0] == app:
            return layer(target) > layer(source)
        # Another app's models and services are for everyone; its ways in are not.
        return layer(target) == 2 and layer(source) < 2

    offenders = [
        f"{module_name(path)} -> {module}"
        for path in sources(app)
        for module in imported_modules(path)
        if app != "config" and upwards(module_name(path), module)
    ]

    assert offenders == []


def test_the_lower_apps_never_reach_up_by_name_either():
    """Nor through strings: a model by its app label, a relation across, an admin URL."""
    pattern = re.compile(
        r"""get_model\(\s*["'](intake|training|generation)"""
        r"""|apps\.get_model\(["'](intake|training|generation)"""
        r"""|["']admin:(intake|training|generation)_"""
    )
    lower = ["core", "conversations", "enrichment"]

    offenders = [
        str(path.relative_to(ROOT))
        for app in lower
        for path in sources(app)
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


def test_an_api_is_an_api_package_in_every_app():
    # One place to look for an app's API: its api/ package (never a module beside it).
    assert [app for app in APPS if (ROOT / app / "api.py").exists()] == []
