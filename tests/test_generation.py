"""Bake every variant the prompts allow and check what comes out.

The fast tests check the rendered files; the slow ones (`-m suite`) install each baked
project into a fresh virtual environment from its own pyproject.toml, the way its README
says, and run its checks and its whole test suite against real services.
"""

import ast
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from conftest import POSTGRES_ADDRESS, REDIS_ADDRESS, TEMPLATE_DIR, load_module, require_service

post_gen = load_module("hooks/post_gen_project.py")

COOKIECUTTER_JSON = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
VARIANT_KEYS = ["channel_layer", "persist_messages", "database"]


def choices(key):
    default = COOKIECUTTER_JSON[key]
    return [True, False] if isinstance(default, bool) else default


VARIANTS = [
    dict(zip(VARIANT_KEYS, values, strict=True))
    for values in itertools.product(*(choices(key) for key in VARIANT_KEYS))
]


def variant_id(variant):
    persistence = "persist" if variant["persist_messages"] else "no_persist"
    return f"{variant['channel_layer']}-{persistence}-{variant['database']}"


def slug_for(variant):
    # A slug per variant, so that variants baked in parallel get separate databases.
    return "chat_" + variant_id(variant).replace("-", "_")


HOSTILE_ANSWERS = {
    "project_name": (
        "Bob's \"Chat\" \\ <script>alert(1)</script> 서울 🎉\nimport os; os.system('x')"
    ),
    "project_slug": "hostile_chat",
    "description": 'A "quoted" \\ description\n"""; raise SystemExit #',
    "author_name": 'O\'Brien "Zoë" \\ 名前',
}

# The generated README's commands, which the suite tests run as written.
QUICKSTART_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'"
    " && .venv/bin/python manage.py migrate && .venv/bin/python manage.py runserver"
)
TEST_COMMAND = ".venv/bin/python -m pytest"

# Django template tags the chat templates use; anything else in {% %} is a leftover.
DJANGO_TAGS = {
    "block", "csrf_token", "else", "endblock", "endfor", "endif", "extends", "for", "if",
    "load", "static", "url",
}  # fmt: skip


def bake(cookies, **answers):
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    return result.project_path


def text_files(project):
    """Every rendered file but the binary ones (images), with its text."""
    for path in sorted(project.rglob("*")):
        if path.is_file() and path.suffix != ".png":
            yield path, path.read_text(encoding="utf-8")


def template_leftovers(project):
    problems = [
        f"{path.relative_to(project)}: template syntax in the path"
        for path in project.rglob("*")
        if "cookiecutter" in path.name or "{" in path.name
    ]
    for path, text in text_files(project):
        relative = path.relative_to(project).as_posix()
        if "cookiecutter" in text:
            problems.append(f"{relative}: mentions cookiecutter")
        if "/templates/" in f"/{relative}" and path.suffix == ".html":
            tags = set(re.findall(r"{%-?\s*(\w+)", text))
            if tags - DJANGO_TAGS or "{%-" in text or "-%}" in text or "{#" in text:
                problems.append(f"{relative}: template tags {sorted(tags - DJANGO_TAGS)}")
        elif "{%" in text or "{#" in text:
            problems.append(f"{relative}: Jinja syntax left")
    return problems


# -- Prompts and hooks -----------------------------------------------------------------


def test_template_code_passes_ruff():
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=TEMPLATE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_prompt_has_readable_text():
    prompts = COOKIECUTTER_JSON["__prompts__"]
    variables = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]

    assert set(prompts) == set(variables)


def test_no_input_bakes_the_default_variant(cookies):
    project = bake(cookies)

    assert project.name == "team_chat"
    settings = (project / "config/settings.py").read_text()
    assert "InMemoryChannelLayer" in settings
    assert "sqlite" in settings
    assert (project / "chat/models.py").exists()


def test_each_bake_gets_its_own_secret_key(cookies):
    keys = set()
    for _ in range(2):
        settings = (bake(cookies) / "config/settings.py").read_text()
        keys.add(re.search(r'"(django-insecure-[^"]+)"', settings).group(1))

    assert len(keys) == 2


@pytest.mark.parametrize(
    "slug", ["team-chat", "2chat", "Team_Chat", "class", "django", "channels", "test", "config"]
)
def test_bad_slug_is_refused_before_any_file_is_written(tmp_path, capfd, slug):
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={"project_slug": slug},
        )

    assert list(tmp_path.iterdir()) == []
    assert f"project_slug {slug!r}" in capfd.readouterr().err


# -- Every variant, rendered -------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_variant_renders_without_leftovers_or_unused_files(cookies, variant):
    project = bake(cookies, **variant)

    assert template_leftovers(project) == []
    for relative in post_gen.PERSISTENCE_FILES:
        assert (project / relative).exists() is variant["persist_messages"], relative
    for relative in post_gen.REDIS_FILES:
        assert (project / relative).exists() is (variant["channel_layer"] == "redis"), relative
    for relative, stand_in in post_gen.PERSISTENCE_STAND_INS.items():
        assert (project / relative).exists() and not (project / stand_in).exists()
    text = "\n".join(text for _, text in text_files(project))
    assert ("psycopg" in text) is (variant["database"] == "postgresql")
    assert ("chat.models" in text) is variant["persist_messages"]
    history = (project / "chat/history.py").read_text(encoding="utf-8")
    assert f"KEEPS_HISTORY = {variant['persist_messages']}" in history


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_chat_app_is_the_same_python_in_every_variant(cookies, variant):
    # The options choose files and defaults; the chat app's code does not branch on them.
    project = bake(cookies, **variant)
    reference = bake(cookies, **VARIANTS[0])

    for path in sorted((reference / "chat").rglob("*.py")):
        relative = path.relative_to(reference)
        if relative.as_posix() in [*post_gen.PERSISTENCE_FILES, *post_gen.PERSISTENCE_STAND_INS]:
            continue
        if any(relative.is_relative_to(removed) for removed in post_gen.PERSISTENCE_FILES):
            continue
        if (project / relative).exists():
            assert (project / relative).read_bytes() == path.read_bytes(), relative


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_the_channel_layer_is_a_setting_with_the_chosen_default(cookies, variant):
    project = bake(cookies, **variant)
    settings = (project / "config/settings.py").read_text(encoding="utf-8")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))

    # Either layer is configured by REDIS_URL at run time; the option sets its default.
    assert "channels_redis.core.RedisChannelLayer" in settings
    assert "channels.layers.InMemoryChannelLayer" in settings
    default = '"redis://127.0.0.1:6379/0"' if variant["channel_layer"] == "redis" else '""'
    assert f'REDIS_URL = os.environ.get("REDIS_URL", {default})' in settings
    extra = pyproject["project"]["optional-dependencies"]["redis"]
    assert any(requirement.startswith("channels-redis") for requirement in extra)
    on_redis = f"{project.name}[redis]" in pyproject["project"]["dependencies"]
    assert on_redis is (variant["channel_layer"] == "redis")


@pytest.mark.parametrize(
    "variant", [v for v in VARIANTS if v["channel_layer"] == "redis"], ids=variant_id
)
def test_compose_runs_the_tested_topology(cookies, variant):
    project = bake(cookies, **variant)
    compose = yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]

    assert services["web"]["deploy"]["replicas"] >= 2
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["proxy"]["volumes"]
    assert "server web:8000;" in (project / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert ("db" in services) is (variant["database"] == "postgresql")
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    # The server command the generated tests and benchmarks start (config/serve.py).
    assert '"-m", "config.serve", "--proxy-headers"' in dockerfile
    assert "config.asgi:application" in dockerfile


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_variant_passes_ruff(cookies, variant):
    project = bake(cookies, **variant)

    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_hostile_answers_stay_data(cookies):
    project = bake(cookies, **HOSTILE_ANSWERS)

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == HOSTILE_ANSWERS["description"]
    assert pyproject["project"]["authors"] == [{"name": HOSTILE_ANSWERS["author_name"]}]
    settings = ast.parse((project / "config/settings.py").read_text(encoding="utf-8"))
    site_name = next(
        node.value
        for node in settings.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "SITE_NAME"
    )
    assert ast.literal_eval(site_name) == HOSTILE_ANSWERS["project_name"]


# -- Every variant, installed and run -----------------------------------------------------


def project_env(**extra):
    """The environment a user's shell would give the project: nothing of ours leaks in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CI", "PIP_CONSTRAINT")
    return {key: os.environ[key] for key in keep if key in os.environ} | extra


def run(command, project, env=None, timeout=900):
    result = subprocess.run(
        command,
        shell=isinstance(command, str),
        check=False,
        cwd=project,
        env=env or project_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"`{command}` exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-8000:]}\n--- stderr\n{result.stderr[-8000:]}"
    )
    return result


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def create_database(project, name):
    script = (
        "import sys, psycopg\n"
        "from psycopg import sql\n"
        "with psycopg.connect('postgres://postgres@127.0.0.1:5432/postgres', autocommit=True)"
        " as connection:\n"
        "    for statement in ('DROP DATABASE IF EXISTS {} WITH (FORCE)', 'CREATE DATABASE {}'):\n"
        "        connection.execute(sql.SQL(statement).format(sql.Identifier(sys.argv[1])))\n"
    )
    run([".venv/bin/python", "-c", script, name], project)


def check_server_answers(project):
    """Start the development server as the quick start does, and load the pages."""
    port = free_port()
    server = subprocess.Popen(
        [".venv/bin/python", "manage.py", "runserver", f"127.0.0.1:{port}"],
        cwd=project,
        env=project_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # runserver's autoreloader starts a child process
    )
    try:
        base = f"http://127.0.0.1:{port}"
        status, lobby = fetch(f"{base}/")
        assert status == 200
        assert 'name="room"' in lobby
        status, room = fetch(f"{base}/chat/%EC%84%9C%EC%9A%B8/")
        assert status == 200
        assert "서울" in room
        status, script = fetch(f"{base}/static/chat/room.js")
        assert status == 200
        assert "new WebSocket" in script
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


SUITE_CASES = [pytest.param(variant, {}, id=variant_id(variant)) for variant in VARIANTS] + [
    pytest.param(VARIANTS[0], HOSTILE_ANSWERS, id="hostile-answers")
]
# Variants whose browser tests run too: the default and the one with every service.
BROWSER_VARIANTS = [
    {"channel_layer": "in_memory", "persist_messages": True, "database": "sqlite"},
    {"channel_layer": "redis", "persist_messages": True, "database": "postgresql"},
]
BROWSER_TEST_COMMAND = ".venv/bin/python -m pytest -m browser"
BENCHMARK_COMMAND = ".venv/bin/python bench/benchmark.py"
# Screenshots the browser tests take, kept as CI artifacts.
ARTIFACTS_DIR = TEMPLATE_DIR / "artifacts"


# The variant that proves a project baked in memory moves to Redis by configuration alone.
SWITCH_VARIANT = VARIANTS[0]
assert SWITCH_VARIANT["channel_layer"] == "in_memory"


def check_switch_to_redis(project, slug):
    """Install the `redis` extra the README names, set REDIS_URL, and the project's chat
    core runs on Redis: its room, presence and outage tests, then two real server
    processes sharing a room."""
    require_service("Redis", REDIS_ADDRESS)
    run(".venv/bin/pip install -e '.[redis]'", project)
    env = project_env(
        REDIS_URL=f"redis://{REDIS_ADDRESS[0]}:{REDIS_ADDRESS[1]}/0",
        CHANNEL_LAYER_PREFIX=f"{slug}-switch",
    )
    core_tests = (
        "chat/tests/test_local_rooms.py chat/tests/test_presence.py chat/tests/test_consumers.py"
    )
    result = run(f"{TEST_COMMAND} {core_tests}", project, env=env)
    assert re.search(r"\d+ passed", result.stdout)
    check = run(
        [".venv/bin/python", str(TEMPLATE_DIR / "tests" / "switch_to_redis.py")], project, env=env
    )
    assert "two processes share a room" in check.stdout


@pytest.mark.suite
@pytest.mark.parametrize(("variant", "answers"), SUITE_CASES)
def test_variant_installs_and_passes_its_own_suite(cookies, variant, answers):
    if variant["channel_layer"] == "redis":
        require_service("Redis", REDIS_ADDRESS)
    if variant["database"] == "postgresql":
        require_service("PostgreSQL", POSTGRES_ADDRESS)
    answers = {"project_slug": slug_for(variant), **answers}
    project = bake(cookies, **variant, **answers)
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert QUICKSTART_COMMAND in readme
    assert TEST_COMMAND in readme
    assert BROWSER_TEST_COMMAND in readme
    assert BENCHMARK_COMMAND in readme

    # The quick start, step by step, with the server on a free port instead of 8000.
    run(f"{sys.executable} -m venv .venv", project)
    run(".venv/bin/pip install -e '.[dev]'", project)
    if variant["database"] == "postgresql":
        create_database(project, answers["project_slug"])
    run(".venv/bin/python manage.py migrate", project)
    check_server_answers(project)
    run(".venv/bin/python bench/soak.py --sockets 20 --seconds 3", project)
    run(f"{BENCHMARK_COMMAND} --clients 10 --seconds 1", project)
    results = json.loads((project / "bench" / "output" / "results.json").read_text())
    assert {result["target"] for result in results} == {"chat", "tutorial", "ceiling"}
    assert all(result["deliveries"] > 0 for result in results)
    # The tutorial is only a yardstick; the benchmark checks the chat and the ceiling.
    assert all(result["lost"] == 0 for result in results if result["target"] != "tutorial")

    run(".venv/bin/ruff check .", project)
    run(".venv/bin/ruff format --check .", project)
    run(".venv/bin/python manage.py check --fail-level WARNING", project)
    run(".venv/bin/python manage.py makemigrations --check --dry-run", project)
    run(".venv/bin/python manage.py collectstatic --noinput", project)
    result = run(TEST_COMMAND, project)
    assert re.search(r"\d+ passed", result.stdout)
    assert "skipped" not in result.stdout.splitlines()[-1]

    if variant == SWITCH_VARIANT and "project_name" not in answers:
        check_switch_to_redis(project, answers["project_slug"])

    if variant in BROWSER_VARIANTS and not answers.get("project_name"):
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        screenshot = ARTIFACTS_DIR / f"room-{variant_id(variant)}.png"
        result = run(
            BROWSER_TEST_COMMAND, project, env=project_env(CHAT_SCREENSHOT=str(screenshot))
        )
        assert re.search(r"\d+ passed", result.stdout)
        assert "skipped" not in result.stdout.splitlines()[-1]
        assert screenshot.stat().st_size > 0
        assert screenshot.with_name(f"{screenshot.stem}-phone.png").stat().st_size > 0
