"""Settings come from the environment; a production environment passes `check --deploy`."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT = (
    "from django.conf import settings as s; import json; print(json.dumps({'debug': s.DEBUG, "
    "'db': s.DATABASES['default']['ENGINE'], 'cache': s.CACHES['default']['BACKEND'], "
    "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'hosts': s.ALLOWED_HOSTS, 'secure': s.SESSION_COOKIE_SECURE}))"
)

# Variables of the surrounding environment (CI's database, a developer's KEK) that would leak into
# the subprocess and change what these tests observe.
DEPLOYMENT_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "LUMOAUTH_BASE_URL",
    "LUMOAUTH_KEY_ENCRYPTION_KEY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def run(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in DEPLOYMENT_VARIABLES}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def settings_under(env: dict) -> dict:
    result = run(env, "shell", "-c", PRINT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_defaults(tmp_path):
    values = settings_under({"LUMOAUTH_VAR_DIR": str(tmp_path)})
    assert values["debug"] is False
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["cache"].endswith("LocMemCache")
    assert values["eager"] is True  # no Redis: Celery runs tasks in-process
    assert (tmp_path / "secret_key").exists()


def test_production_environment(tmp_path):
    values = settings_under(
        {
            "LUMOAUTH_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://u:p@db.internal:5432/lumo",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "LUMOAUTH_BASE_URL": "https://id.example.com",
            "SECRET_KEY": "x" * 60,
        }
    )
    assert values["db"] == "django.db.backends.postgresql"
    assert values["cache"].endswith("RedisCache")
    assert values["eager"] is False
    assert values["hosts"] == ["id.example.com"]
    assert values["secure"] is True


PRODUCTION = {
    "LUMOAUTH_BASE_URL": "https://id.example.com",
    "SECRET_KEY": "k3y-" + "Zq9!x" * 12,
    "ALLOWED_HOSTS": "id.example.com",
    "LUMOAUTH_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(bytes(range(32))).decode(),
}


def test_check_deploy_passes_in_production(tmp_path):
    result = run({"LUMOAUTH_VAR_DIR": str(tmp_path), **PRODUCTION}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_warns_without_a_key_encryption_key(tmp_path):
    env = {"LUMOAUTH_VAR_DIR": str(tmp_path), **PRODUCTION}
    del env["LUMOAUTH_KEY_ENCRYPTION_KEY"]  # private keys would be encrypted under a SECRET_KEY derivative
    result = run(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "lumoauth.W001" in result.stdout + result.stderr


def test_check_refuses_a_malformed_key_encryption_key(tmp_path):
    result = run({"LUMOAUTH_VAR_DIR": str(tmp_path), "LUMOAUTH_KEY_ENCRYPTION_KEY": "too-short"}, "check")
    assert result.returncode != 0
    assert "lumoauth.E001" in result.stdout + result.stderr


def test_check_deploy_fails_with_debug_on(tmp_path):
    result = run(
        {
            "LUMOAUTH_VAR_DIR": str(tmp_path),
            "LUMOAUTH_BASE_URL": "https://id.example.com",
            "SECRET_KEY": "k3y-" + "Zq9!x" * 12,
            "DEBUG": "1",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode != 0
