"""Django's deployment checklist passes with the production environments the docs give:
docs/deploy.md's (object storage, behind a proxy) and the README's first start."""

import os
import secrets
import subprocess
import sys

from tests.servers import OWN_PREFIXES, ROOT


def documented_environment(document: str, introduction: str) -> dict[str, str]:
    """The first ``sh`` block after ``introduction`` in ``document``, as variables."""
    text = (ROOT / document).read_text()
    block = text.split(introduction, 1)[1].split("```sh\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def deploy_environment() -> dict[str, str]:
    return documented_environment("docs/deploy.md", "A production environment")


def readme_environment() -> dict[str, str]:
    return documented_environment("README.md", "environment such as this one")


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_documented_production_environment_passes_check_deploy():
    env = deploy_environment()
    assert "DJANGO_SECRET_KEY" in env
    assert env["FILE_STORAGE"] == "s3"
    assert env["SITE_URL"].startswith("https://")
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)  # what the docs tell to paste

    result = check_deploy(env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_the_readme_first_start_environment_passes_check_deploy():
    env = readme_environment()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "SITE_URL"} <= env.keys()
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)

    result = check_deploy(env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_plain_http_mode_fails_the_checklist_on_hsts_redirect_and_cookies():
    env = {**deploy_environment(), "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}

    result = check_deploy({**env, "DJANGO_HTTPS": "false"})

    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_the_readme_placeholder_secret_key_fails_the_checklist_and_says_why():
    env = deploy_environment()
    assert env["DJANGO_SECRET_KEY"].startswith("paste-the-output-of")

    result = check_deploy(env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is still the README's placeholder" in result.stderr
