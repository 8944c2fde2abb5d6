"""Django's deployment checklist passes with the README's production environment."""

import os
import secrets
import subprocess
import sys

from tests.servers import OWN_PREFIXES, ROOT


def readme_production_environment() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("A production environment", 1)[1].split("```sh\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


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


def test_the_readme_production_environment_passes_check_deploy():
    env = readme_production_environment()
    assert "DJANGO_SECRET_KEY" in env
    assert env["FILE_STORAGE"] == "s3"
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)  # what the README tells to paste

    result = check_deploy(env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_plain_http_mode_fails_the_checklist_on_hsts_redirect_and_cookies():
    env = {**readme_production_environment(), "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}

    result = check_deploy({**env, "DJANGO_HTTPS": "false"})

    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_the_readme_placeholder_secret_key_fails_the_checklist_and_says_why():
    env = readme_production_environment()
    assert env["DJANGO_SECRET_KEY"].startswith("paste-the-output-of")

    result = check_deploy(env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is still the README's placeholder" in result.stderr
