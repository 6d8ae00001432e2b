"""docker/: the compose file, its .env.example and the image, checked without a Docker engine.

Every environment variable Partsite's code reads is found by walking its syntax tree, so
a new setting fails these tests until docker/.env.example lists it.
"""

import ast
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from partsite.celery import app

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
RUNTIME_PACKAGES = ["partsite", "parts", "files", "audit"]
PARTSITE_SERVICES = ["migrate", "web", "worker", "converter", "scheduler"]


# ---- What the code reads ----


def _is_os_environ(node):
    return isinstance(node, ast.Attribute) and node.attr == "environ" and getattr(node.value, "id", None) == "os"


def _is_env_get(call):
    """os.environ.get(...) or os.getenv(...)."""
    function = call.func
    return isinstance(function, ast.Attribute) and (
        (function.attr == "get" and _is_os_environ(function.value))
        or (function.attr == "getenv" and getattr(function.value, "id", None) == "os")
    )


def _constant(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _environment_reads(tree, path):
    """The names a module reads from os.environ; fails on a read it cannot name."""
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    # Helpers such as envbool(name, default) read the variable named by their first parameter.
    helpers = {}
    for function in (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)):
        parameters = [argument.arg for argument in function.args.args]
        for call in (node for node in ast.walk(function) if isinstance(node, ast.Call) and _is_env_get(node)):
            if call.args and isinstance(call.args[0], ast.Name) and call.args[0].id in parameters:
                helpers[function.name] = parameters.index(call.args[0].id)
    names, unnamed = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in helpers:
            names.add(_constant(node.args[helpers[node.func.id]]))
        if isinstance(node, ast.Call) and _is_env_get(node):
            if _constant(node.args[0]):
                names.add(_constant(node.args[0]))
            elif not any(getattr(ancestor, "name", None) in helpers for ancestor in _ancestors(node, parents)):
                unnamed.append(node)
        if _is_os_environ(node):
            parent = parents[node]
            if isinstance(parent, ast.Subscript):
                name = _constant(parent.slice)
            elif isinstance(parent, ast.Compare) and isinstance(parent.ops[0], ast.In):
                name = _constant(parent.left)
            elif isinstance(parent, ast.Attribute) and parent.attr in ("get", "setdefault"):
                continue  # a get is counted above; setdefault writes (DJANGO_SETTINGS_MODULE)
            elif isinstance(parent, ast.Dict) and None in parent.keys:
                continue  # {**os.environ, ...}: passed on whole to a child process
            else:
                name = None
            if name:
                names.add(name)
            else:
                unnamed.append(parent)
    assert not unnamed, f"{path}: environment reads without a literal name at lines {[n.lineno for n in unnamed]}"
    names.discard(None)
    return names


def _ancestors(node, parents):
    while node in parents:
        node = parents[node]
        yield node


def variables_read_by_partsite():
    names = set()
    for package in RUNTIME_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
                continue
            names |= _environment_reads(ast.parse(path.read_text(), str(path)), path)
    return names


# ---- What docker/ provides ----


def env_example():
    """Variables in .env.example: {name: value} for set ones, and the names shown commented out."""
    values, commented = {}, set()
    for line in (DOCKER / ".env.example").read_text().splitlines():
        if match := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line):
            values[match[1]] = match[2]
        elif match := re.match(r"#\s*([A-Z][A-Z0-9_]*)(=| \()", line):
            commented.add(match[1])
    return values, commented


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _env_files(service):
    return [entry["path"] if isinstance(entry, dict) else entry for entry in service.get("env_file", [])]


def _consumed_queues(service):
    command = service["command"]
    return set(command[command.index("--queues") + 1].split(","))


def test_the_settings_reader_finds_every_kind_of_read():
    tree = ast.parse(
        "import os\n"
        "def envint(name, default):\n    return int(os.environ.get(name, default))\n"
        "A = envint('VIA_HELPER', 1)\nB = os.environ.get('VIA_GET')\nC = os.getenv('VIA_GETENV')\n"
        "D = os.environ['VIA_INDEX'] if 'VIA_IN' in os.environ else None\n"
        "os.environ.setdefault('WRITTEN', 'x')\n"
    )

    assert _environment_reads(tree, "example") == {"VIA_HELPER", "VIA_GET", "VIA_GETENV", "VIA_INDEX", "VIA_IN"}
    with pytest.raises(AssertionError, match="without a literal name"):
        _environment_reads(ast.parse("import os\nname = 'X'\nos.environ[name]\n"), "example")


def test_the_reader_sees_the_settings_and_the_gunicorn_configuration():
    expected = {
        "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "AWS_STORAGE_BUCKET_NAME", "MAX_UPLOAD_MB",
        "SECURE_HSTS_SECONDS", "CONVERSION_PENDING_REQUEUE_MINUTES", "REDIS_KEY_PREFIX", "BIND", "WEB_WORKERS",
    }

    assert expected <= variables_read_by_partsite()


def test_env_example_lists_every_variable_partsite_reads():
    values, commented = env_example()

    missing = variables_read_by_partsite() - set(values) - commented
    assert not missing, f"add these to docker/.env.example: {sorted(missing)}"


def test_every_partsite_process_gets_the_env_file_and_only_variables_partsite_reads(compose):
    read = variables_read_by_partsite()
    for name in PARTSITE_SERVICES:
        service = compose["services"][name]
        assert _env_files(service) == [".env"], name
        unknown = set(service.get("environment", {})) - read
        assert not unknown, f"{name} sets variables Partsite never reads: {sorted(unknown)}"


def test_compose_wires_the_services_partsite_needs(compose):
    environment = compose["services"]["web"]["environment"]

    assert "@db:5432/" in environment["DATABASE_URL"]
    assert environment["CELERY_BROKER_URL"].endswith("redis://redis:6379/0}")
    assert environment["CACHE_URL"].endswith("redis://redis:6379/1}")
    assert environment["AWS_S3_ENDPOINT_URL"].endswith("http://minio:9000}")
    assert environment["CLAMAV_ADDRESS"].endswith("tcp://clamav:3310}")


def test_every_variable_compose_interpolates_is_in_env_example(compose):
    values, commented = env_example()
    text = (DOCKER / "compose.yaml").read_text()
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    required = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*):\?", text))

    assert interpolated - set(values) - commented == set()
    # A required variable has a line to fill in, not a commented-out example.
    assert required <= set(values)
    assert {"SECRET_KEY", "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD"} <= required


def test_the_stack_has_web_workers_a_scheduler_and_the_four_services(compose):
    assert set(compose["services"]) == {*PARTSITE_SERVICES, "db", "redis", "minio", "createbuckets", "clamav"}
    assert compose["services"]["web"]["command"][0] == "gunicorn"
    assert compose["services"]["scheduler"]["command"][:4] == ["celery", "--app", "partsite", "beat"]


def test_long_running_services_have_health_checks(compose):
    for name in ["web", "worker", "converter", "scheduler", "db", "redis", "minio", "clamav"]:
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
    assert "/health/" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def test_data_lives_in_named_volumes(compose):
    mounts = {
        "db": "/var/lib/postgresql/data", "redis": "/data", "minio": "/data", "scheduler": "/data",
        "clamav": "/var/lib/clamav",
    }
    for name, path in mounts.items():
        volume, _, target = compose["services"][name]["volumes"][0].partition(":")
        assert target == path, name
        assert volume in compose["volumes"], name
    # Web and worker processes keep nothing on local disk worth a volume.
    for name in ["web", "worker", "converter"]:
        assert "volumes" not in compose["services"][name], name


def test_the_bucket_is_created_on_first_start_before_partsite_starts(compose):
    createbuckets = compose["services"]["createbuckets"]
    script = createbuckets["command"][0]

    assert createbuckets["depends_on"]["minio"]["condition"] == "service_healthy"
    assert 'mc mb --ignore-existing "local/$$AWS_STORAGE_BUCKET_NAME"' in script
    assert "mc admin user add local" in script
    for name in PARTSITE_SERVICES:
        needs = compose["services"][name]["depends_on"]
        assert needs["createbuckets"]["condition"] == "service_completed_successfully", name
        assert needs["db"]["condition"] == needs["redis"]["condition"] == "service_healthy", name


def test_migrations_run_once_before_web_and_workers(compose):
    assert compose["services"]["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name in ["web", "worker", "converter"]:
        assert compose["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_conversions_have_a_worker_of_their_own_and_every_queue_a_consumer(compose):
    converter, worker = compose["services"]["converter"], compose["services"]["worker"]

    assert _consumed_queues(converter) == {"conversions"}
    assert "conversions" not in _consumed_queues(worker)
    assert _consumed_queues(converter) | _consumed_queues(worker) == set(app.amqp.queues)


def test_the_image_is_slim_runs_as_a_plain_user_and_checks_its_health():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)

    assert stages == ["python:3.11-slim", "python:3.11-slim"]
    assert users and users[-1] not in ("root", "0")
    assert "pip install -r /tmp/requirements.txt" in dockerfile
    assert "COPY requirements/base.txt" in dockerfile
    assert "manage.py collectstatic" in dockerfile
    assert re.search(r"^HEALTHCHECK .*/health/", dockerfile, re.MULTILINE | re.DOTALL)
    assert 'CMD ["gunicorn", "partsite.wsgi", "--config", "python:partsite.gunicorn"]' in dockerfile


def test_the_image_leaves_out_local_environments_data_and_secrets():
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert {".venv", ".env", "docker/.env", "data", ".git"} <= set(ignored)


# ---- manage.py check --deploy ----


def _check_deploy(tmp_path, **overrides):
    values, _ = env_example()
    environment = {
        "PATH": os.environ["PATH"],
        **{name: value for name, value in values.items() if value},
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PARTSITE_DATA_DIR": str(tmp_path),
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_the_production_settings_of_env_example_pass_check_deploy(tmp_path):
    result = _check_deploy(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_with_debug_on(tmp_path):
    result = _check_deploy(tmp_path, DEBUG="true")

    assert result.returncode != 0
    assert "security.W018" in result.stderr


def test_check_deploy_fails_on_the_embedded_defaults_that_make_run_uses(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={"PATH": os.environ["PATH"], "PARTSITE_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )

    assert result.returncode != 0
    for warning in ["W004", "W008", "W012", "W016"]:  # HSTS, HTTPS redirect, secure cookies
        assert f"security.{warning}" in result.stderr
