"""The README and docs/ stay true: their links resolve, the environment variables they
list are exactly the ones the code reads (with the defaults the code has), and every
command, script and source file they name exists."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [README, *DOCS]
CONFIGURATION = ROOT / "docs" / "configuration.md"
README_MAX_LINES = 220

# Variables read by a library rather than by our code: the module that reads each.
READ_BY_LIBRARIES = {
    "GUNICORN_CMD_ARGS": "gunicorn.config",
    "AWS_ACCESS_KEY_ID": "storages.backends.s3",
    "AWS_SECRET_ACCESS_KEY": "storages.backends.s3",
    "ANTHROPIC_API_KEY": "anthropic._client",
    "ANTHROPIC_BASE_URL": "anthropic._client",
}
# Names in the scripts that are not configuration: bash's clock, and the mark bin/fuzz-api
# sets on itself when it runs again inside the project's own PostgreSQL.
NOT_CONFIGURATION = {"SECONDS", "FUZZ_SCRATCH"}

_PY_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\[|\benv_[a-z]+)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)
_SH_READ = re.compile(r"\$\{?([A-Z][A-Z0-9_]+)")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)
_TABLE_ROW = re.compile(
    r"^\|\s*`([A-Z][A-Z0-9_]+)`(?:,\s*`([A-Z][A-Z0-9_]+)`)?\s*\|([^|]*)\|", re.M
)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(heading) for heading in _HEADING.findall(_text(path))}


def _python_sources(*folders: str) -> list[Path]:
    return [
        path
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _scripts() -> list[Path]:
    return [path for path in sorted((ROOT / "bin").iterdir()) if path.is_file()] + [
        ROOT / ".ci" / "run"
    ]


def variables_read(paths: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        pattern = _PY_READ if path.suffix == ".py" else _SH_READ
        names |= set(pattern.findall(_text(path)))
    return names - NOT_CONFIGURATION


def documented_variables() -> dict[str, str]:
    """Each variable in configuration.md's tables, with its default column."""
    rows: dict[str, str] = {}
    for first, second, default in _TABLE_ROW.findall(_text(CONFIGURATION)):
        for name in filter(None, (first, second)):
            rows[name] = default.strip()
    return rows


def code_defaults() -> dict[str, str]:
    """The literal defaults config/ gives its variables: ``env_x("NAME", default)``,
    ``os.environ.get("NAME", default)`` and ``os.environ.get("NAME") or default``."""
    defaults: dict[str, str] = {}

    def literal(node: ast.expr):
        try:
            return eval(compile(ast.Expression(node), "<default>", "eval"), {"__builtins__": {}})
        except Exception:  # a name or a call: not a literal default
            return None

    def shown(value) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, list):
            return ",".join(value)
        return str(value)

    def reads_environment(call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Name):  # config.env's helpers (env_required's 2nd is a reason)
            return func.id.startswith("env_") and func.id != "env_required"
        return ast.unparse(func) in {"os.environ.get", "os.getenv"}

    def name_of(call: ast.Call) -> str | None:
        if reads_environment(call) and call.args and isinstance(call.args[0], ast.Constant):
            value = call.args[0].value
            if isinstance(value, str) and value.isupper():
                return value
        return None

    for path in (ROOT / "config").glob("*.py"):
        for node in ast.walk(ast.parse(_text(path))):
            if isinstance(node, ast.Call) and len(node.args) >= 2 and (name := name_of(node)):
                if (value := shown(literal(node.args[1]))) is not None:
                    defaults[name] = value
            elif (
                isinstance(node, ast.BoolOp)
                and isinstance(node.op, ast.Or)
                and isinstance(node.values[0], ast.Call)
                and (name := name_of(node.values[0]))
                and (value := shown(literal(node.values[1]))) is not None
            ):
                defaults.setdefault(name, value)
    return defaults


# Links ---------------------------------------------------------------------------------


def relative_links() -> list[tuple[Path, str]]:
    return sorted(
        {
            (document, target)
            for document in DOCUMENTS
            for target in _LINK.findall(_text(document))
            if not re.match(r"^[a-z]+:", target)
        }
    )


def test_the_documents_have_relative_links_to_check():
    links = relative_links()
    assert len(links) >= 20
    assert {document for document, _ in links} >= {README, CONFIGURATION}


@pytest.mark.parametrize(
    ("document", "target"), relative_links(), ids=lambda value: getattr(value, "name", value)
)
def test_every_relative_link_resolves(document, target):
    path_part, _, anchor = target.partition("#")
    destination = (document.parent / path_part).resolve() if path_part else document
    assert destination.exists(), f"{_name(document)} links to {target}, which does not exist"
    if anchor:
        assert destination.suffix == ".md", f"{_name(document)}: an anchor into {target}"
        assert anchor in _anchors(destination), (
            f"{_name(document)} links to {target}: {_name(destination)} has no heading "
            f"#{anchor} (it has {sorted(_anchors(destination))})"
        )


def test_the_readme_links_every_document_in_docs():
    linked = {target.partition("#")[0] for target in _LINK.findall(_text(README))}
    assert {f"docs/{path.name}" for path in DOCS} <= linked


def test_the_readme_is_short():
    lines = len(_text(README).splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"


# Environment variables -----------------------------------------------------------------


def test_every_variable_the_configuration_reads_is_documented():
    read = variables_read(_python_sources("config") + _scripts())
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "WORKER_STALLED_SECONDS", "BIND"} <= read
    missing = read - documented_variables().keys()
    assert not missing, f"read by config/ or bin/ but not in docs/configuration.md: {missing}"


def test_every_documented_variable_is_read_by_the_code():
    read = variables_read(
        _python_sources("config", "core", "conversations", "intake", "enrichment")
        + _python_sources("training", "devtools", "tests")
        + _scripts()
    )
    unread = set()
    for name in documented_variables().keys() - read:
        module = READ_BY_LIBRARIES.get(name)
        spec = importlib.util.find_spec(module) if module else None
        if spec is None or name not in Path(spec.origin).read_text(encoding="utf-8"):
            unread.add(name)
    assert not unread, f"in docs/configuration.md but read by nothing: {unread}"


def test_documented_defaults_are_the_code_defaults():
    documented = documented_variables()
    defaults = code_defaults()
    assert len(defaults) >= 30
    wrong = {}
    for name, value in defaults.items():
        shown = re.findall(r"`([^`]*)`", documented.get(name, ""))
        if not shown or shown[0] != value:
            wrong[name] = (value, documented.get(name))
    assert not wrong, f"default in the code vs in docs/configuration.md: {wrong}"


# Commands, scripts and files named ------------------------------------------------------


def _named(pattern: str) -> set[tuple[str, str]]:
    return {
        (_name(document), match)
        for document in DOCUMENTS
        for match in re.findall(pattern, _text(document))
    }


def test_every_management_command_named_exists():
    named = _named(r"manage\.py\s+([a-z][a-z0-9_]*)")
    assert len(named) >= 10
    commands = get_commands()
    unknown = {(document, name) for document, name in named if name not in commands}
    assert not unknown, f"no such management command: {unknown}"


def test_every_script_named_exists():
    named = _named(r"(?<![\w./])(bin/[A-Za-z0-9_-]+|\.ci/run)")
    assert {name for _, name in named} >= {"bin/demo", "bin/test", "bin/serve", "bin/worker"}
    missing = {(document, name) for document, name in named if not (ROOT / name).is_file()}
    assert not missing, f"no such script: {missing}"


def test_every_source_file_named_exists():
    """A path like `core/api/errors.py`, or one relative to its app (`pipeline/run.py`)."""
    named = _named(r"`([\w./-]+/[\w.-]+\.py)`")
    assert len(named) >= 15
    sources = {_name(path) for path in ROOT.rglob("*.py") if ".venv" not in path.parts}
    missing = {
        (document, name)
        for document, name in named
        if not any(source == name or source.endswith("/" + name) for source in sources)
    }
    assert not missing, f"no such file: {missing}"
