"""A Python client generated from the schema the API serves, with openapi-python-client
(into a temporary folder, at test time), and a way to call its operations that records
which ones a test called."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

PACKAGE = "enrichment_api_client"


def schema() -> dict:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw))


def schema_operations() -> set[str]:
    return {op["operationId"] for methods in schema()["paths"].values() for op in methods.values()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """``generated("models")``: a module of the client package generated from the schema."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(schema()))
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            "openapi.json",
            "--output-path",
            PACKAGE,
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        cwd=folder,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Operations:
    """The generated operations of one tag, each called with the test's client:
    ``Operations(generated, client, "conversations", called).get_enrichment_status(id)``
    is the generated ``sync_detailed``; ``called`` collects the operation ids called."""

    def __init__(self, generated, client, tag: str, called: set[str]) -> None:
        self.generated, self.client, self.tag, self.called = generated, client, tag, called

    def __getattr__(self, name: str):
        module = self.generated(f"api.{self.tag}.{name}")

        def call(*args, **kwargs):
            self.called.add(name)
            return module.sync_detailed(*args, client=self.client, **kwargs)

        return call
