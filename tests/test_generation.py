"""Bake every variant the prompts allow and check what comes out.

The fast tests check the rendered files; the slow ones (`-m suite`) install each baked
project into a fresh virtual environment from its own pyproject.toml, the way its README
says, and run its checks and its whole test suite against real services.
"""

import ast
import contextlib
import itertools
import json
import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from readme_commands import on_port, server_kind, shell_blocks

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


# Django template tags the chat templates use; anything else in {% %} is a leftover.
DJANGO_TAGS = {
    "block", "blocktranslate", "csrf_token", "elif", "else", "endblock", "endblocktranslate",
    "endfor", "endif", "endwith", "extends", "for", "get_language_info_list", "if", "include",
    "load", "static", "translate", "url", "with",
}  # fmt: skip


def bake(cookies, **answers):
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    return result.project_path


def text_files(project):
    """Every rendered file but the binary ones (images, compiled translations), with its
    text."""
    for path in sorted(project.rglob("*")):
        if path.is_file() and path.suffix not in {".png", ".mo"}:
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
    assert (project / "rooms/models.py").exists()


def test_each_bake_gets_its_own_secret_key(cookies):
    keys = set()
    for _ in range(2):
        settings = (bake(cookies) / "config/settings.py").read_text()
        keys.add(re.search(r'"(django-insecure-[^"]+)"', settings).group(1))

    assert len(keys) == 2


@pytest.mark.parametrize(
    "slug",
    ["team-chat", "2chat", "Team_Chat", "class", "django", "channels", "test", "config", "rooms"],
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
    removed = [
        *(post_gen.NOT_SAVED_PATHS if variant["persist_messages"] else post_gen.PERSISTENCE_PATHS),
        *(post_gen.REDIS_PATHS if variant["channel_layer"] == "in_memory" else []),
    ]
    for relative in [*post_gen.PERSISTENCE_PATHS, *post_gen.NOT_SAVED_PATHS, *post_gen.REDIS_PATHS]:
        gone = any(relative == path or relative.startswith(f"{path}/") for path in removed)
        assert (project / relative).exists() is not gone, relative
    text = "\n".join(text for _, text in text_files(project))
    assert ("psycopg" in text) is (variant["database"] == "postgresql")
    assert ("rooms.models" in text) is variant["persist_messages"]
    backend = "rooms" if variant["persist_messages"] else "chat.unsaved"
    settings = (project / "config/settings.py").read_text(encoding="utf-8")
    assert f'CHAT_ROOMS_BACKEND = "{backend}"' in settings


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_chat_app_is_the_same_python_in_every_variant(cookies, variant):
    # The options choose whole directories and settings; no module branches on them.
    project = bake(cookies, **variant)
    # The variant that has every file but the stand-in for saved messages.
    reference = bake(cookies, **{**variant, "channel_layer": "redis", "persist_messages": True})
    packages = ["chat", "rooms", "api", "accounts", "pages", "ops", "testing", "bench"]

    for package in packages:
        for path in sorted((project / package).rglob("*.py")):
            relative = path.relative_to(project)
            if (reference / relative).exists():
                assert (reference / relative).read_bytes() == path.read_bytes(), relative
            else:
                assert relative.is_relative_to(*post_gen.NOT_SAVED_PATHS), relative


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_the_channel_layer_is_a_setting_with_the_chosen_default(cookies, variant):
    project = bake(cookies, **variant)
    settings = (project / "config/settings.py").read_text(encoding="utf-8")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))

    # Either layer is configured by REDIS_URL at run time; the option sets its default.
    assert "channels_redis.core.RedisChannelLayer" in settings
    assert "channels.layers.InMemoryChannelLayer" in settings
    default = '"redis://127.0.0.1:6379/0"' if variant["channel_layer"] == "redis" else '""'
    assert f'REDIS_URLS = env.names("REDIS_URL", {default})' in settings
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
    assert "server web:8000 " in (project / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    # The proxy waits for the servers' /readyz, and they have time to drain on SIGTERM.
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["stop_grace_period"] == "15s"
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


# What the template's own run sets that a user's shell would not: the project's settings
# and Python environment come from the project alone.
NOT_PASSED_TO_PROJECTS = re.compile(
    r"VIRTUAL_ENV|PYTHON(PATH|HOME)|PYTEST_.*|DJANGO_.*|CHAT_.*|REDIS_.*|DATABASE_URL"
    r"|CHANNEL_LAYER_PREFIX|UV_PROJECT_ENVIRONMENT"
)


def project_env(**extra):
    """The environment a user's shell would give the project (the machine's network and
    certificate settings included), with nothing of the template's own run in it."""
    env = {
        key: value for key, value in os.environ.items() if not NOT_PASSED_TO_PROJECTS.fullmatch(key)
    }
    # uv, which the README's commands use, is installed beside the template's own Python.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    # Each variant's environment is new. Compiled once by uv as it installs, in parallel,
    # its bytecode costs a fraction of what the suite's processes spend compiling the
    # modules they import, several of them at once.
    env["UV_COMPILE_BYTECODE"] = "1"
    return env | extra


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


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, timeout=30, follow_redirects=True):
    """Status and text of ``url`` (or a Request), asked again until a server answers."""
    opener = urllib.request.build_opener(*([] if follow_redirects else [NoRedirects]))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def create_database(name):
    """The database the README asks PostgreSQL users to create, made afresh."""
    server = ["-h", POSTGRES_ADDRESS[0], "-p", str(POSTGRES_ADDRESS[1]), "-U", "postgres"]
    subprocess.run(["dropdb", *server, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *server, name], check=True)


def serve_and_check(block, project, env, kind):
    """Run a README block that ends by starting a server; check that it answers, as the
    README says it will, then stop it."""
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(
            ["bash", "-c", on_port(block, port)],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # runserver's autoreloader starts a child process
        )
        try:
            check_server(f"http://127.0.0.1:{port}", kind)
        except Exception:
            log.seek(0)
            print(f"--- `{block}` said:\n{log.read()[-8000:]}")
            raise
        finally:
            stop_process_group(server)


def stop_process_group(process):
    """Stop a server and every process it started. SIGTERM first; a machine busy with
    other suites can take a while to let them all exit, so SIGKILL only after a grace."""
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever outlived the grace
    process.wait(timeout=30)


def check_server(base, kind):
    if kind == "production":
        # Production settings: only its own host name, and HTTPS.
        request = urllib.request.Request(f"{base}/", headers={"Host": "chat.example.com"})
        status, _ = fetch(request, timeout=120, follow_redirects=False)
        assert status == 301
        return
    status, lobby = fetch(f"{base}/", timeout=120)
    assert status == 200
    assert 'name="room"' in lobby
    status, room = fetch(f"{base}/chat/%EC%84%9C%EC%9A%B8/")
    assert status == 200
    assert "서울" in room
    # The browser client: room.js, and the modules it imports.
    status, script = fetch(f"{base}/static/chat/room.js")
    assert status == 200
    assert 'from "./connection.js"' in script
    status, script = fetch(f"{base}/static/chat/connection.js")
    assert status == 200
    assert "new WebSocket" in script


# One variant is baked with hostile answers (quotes, markup, code, Korean, emoji) instead
# of the default ones, and must still pass every block and check of its README.
HOSTILE_VARIANT = {"channel_layer": "in_memory", "persist_messages": False, "database": "sqlite"}
# The variant that also follows the README's route without uv, and proves that a project
# baked in memory moves to Redis by configuration alone.
PIP_AND_SWITCH_VARIANT = VARIANTS[0]
assert PIP_AND_SWITCH_VARIANT["channel_layer"] == "in_memory"


def weight(variant):
    """How long a variant's checks take, roughly, that the slowest start first (conftest):
    saved messages, PostgreSQL and Redis each add tests, and the default variant follows
    two more routes."""
    return (
        2 * variant["persist_messages"]
        + (variant["database"] == "postgresql")
        + (variant["channel_layer"] == "redis")
        + 2 * (variant == PIP_AND_SWITCH_VARIANT)
    )


SUITE_CASES = [
    pytest.param(
        variant,
        HOSTILE_ANSWERS if variant == HOSTILE_VARIANT else {},
        id=variant_id(variant) + ("-hostile-answers" if variant == HOSTILE_VARIANT else ""),
        marks=pytest.mark.weight(weight(variant)),
    )
    for variant in VARIANTS
]
# Browser tests, each run a test of its own beside the rest of its variant's checks: the
# README's block for the default variant; and, in the variant with every service, the
# tests of saved messages, private rooms and unread counts, whose events cross Redis and
# whose rows are PostgreSQL's. The client is the same file in every variant.
BROWSER_CASES = [
    pytest.param(
        {"channel_layer": "in_memory", "persist_messages": True, "database": "sqlite"},
        "",
        id="in_memory-persist-sqlite",
        marks=pytest.mark.weight(3),
    ),
    pytest.param(
        {"channel_layer": "redis", "persist_messages": True, "database": "postgresql"},
        "rooms",
        id="redis-persist-postgresql-rooms",
        marks=pytest.mark.weight(2),
    ),
]
# Variants whose load check runs: each channel layer, saving messages or not, and each
# database, once; and the two of them that save messages, one per layer, run the benchmark
# too. The others run the same scripts on the same code.
SOAK_VARIANTS = [
    {"channel_layer": "in_memory", "persist_messages": True, "database": "sqlite"},
    {"channel_layer": "in_memory", "persist_messages": False, "database": "postgresql"},
    {"channel_layer": "redis", "persist_messages": True, "database": "postgresql"},
    {"channel_layer": "redis", "persist_messages": False, "database": "sqlite"},
]
BENCHMARK_VARIANTS = [SOAK_VARIANTS[0], SOAK_VARIANTS[2]]
# Screenshots the browser tests take, kept as CI artifacts.
ARTIFACTS_DIR = TEMPLATE_DIR / "artifacts"

# The README's blocks, each recognised by its first line.
QUICK_START = "uv run manage.py migrate && uv run manage.py runserver"
PIP_QUICK_START = "python3 -m venv .venv && .venv/bin/pip install -e ."
TESTS = "uv run --extra dev pytest"
BROWSER_TESTS = "uv run --extra dev pytest -m browser"
SOAK = "uv run --extra dev bench/soak.py"
BENCHMARK = "uv run --extra dev bench/benchmark.py"
SCALE = "uv run --extra dev bench/scale.py"
REDIS_SWITCH = "REDIS_URL=redis://127.0.0.1:6379/0 uv run --extra redis manage.py runserver"
PRODUCTION = "export DJANGO_DEBUG=false"
COMPOSE = "DJANGO_SECRET_KEY=... docker compose up --build"
# In the order the suite runs them: set up first, the servers of production last.
BLOCK_ORDER = [
    PIP_QUICK_START,
    QUICK_START,
    TESTS,
    BROWSER_TESTS,
    SOAK,
    BENCHMARK,
    SCALE,
    REDIS_SWITCH,
    PRODUCTION,
    COMPOSE,
]


class BlockTimings:
    """Seconds each README block of one variant took, and the CPU seconds of the processes
    it ran, written beside the screenshots (artifacts/timings-<variant>.txt): where the
    template suite's time goes. Servers that outlive the shell that started them are not
    counted; the suite's workers share the machine, so a block's seconds depend on what
    ran beside it, its CPU seconds much less."""

    def __init__(self, name):
        self.name = name
        self.seconds = {}

    @contextlib.contextmanager
    def block(self, what):
        started, cpu_before = time.monotonic(), children_cpu_seconds()
        try:
            yield
        finally:
            self.seconds[what] = (
                time.monotonic() - started,
                children_cpu_seconds() - cpu_before,
            )

    def write(self, directory):
        directory.mkdir(exist_ok=True)
        lines = [
            f"{seconds:7.1f} s {cpu:7.1f} s cpu  {what}"
            for what, (seconds, cpu) in self.seconds.items()
        ]
        total, total_cpu = (sum(column) for column in zip(*self.seconds.values(), strict=True))
        lines.append(f"{total:7.1f} s {total_cpu:7.1f} s cpu  {self.name}, in all")
        (directory / f"timings-{self.name}.txt").write_text("\n".join(lines) + "\n")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check_switch_to_redis(project, env):
    """With the `redis` extra and REDIS_URL, as the README says, the project's chat core
    runs on Redis: its room, presence and consumer tests, then two real server processes
    sharing a room."""
    on_redis = "uv run --extra dev --extra redis"
    core_tests = "chat/tests/test_local_rooms.py chat/tests/test_presence.py"
    result = run(f"{on_redis} pytest {core_tests} chat/tests/test_consumers.py", project, env=env)
    assert re.search(r"\d+ passed", result.stdout)
    switch_check = shlex.quote(str(TEMPLATE_DIR / "tests" / "switch_to_redis.py"))
    check = run(f"{on_redis} {switch_check}", project, env=env)
    assert "two processes share a room" in check.stdout


def bake_to_follow(cookies, variant, answers):
    """The variant baked with ``answers``, its services checked and its database made;
    and its shell blocks, each by the first line it starts with."""
    if variant["channel_layer"] == "redis":
        require_service("Redis", REDIS_ADDRESS)
    if variant["database"] == "postgresql":
        require_service("PostgreSQL", POSTGRES_ADDRESS)
    project = bake(cookies, **variant, **answers)
    # The README and the references beside it: every shell block a reader may paste.
    readme = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [project / "README.md", *sorted((project / "docs").glob("*.md"))]
    )
    blocks = {}
    for block in shell_blocks(readme):
        first = max((start for start in BLOCK_ORDER if block.startswith(start)), key=len)
        blocks[first] = block
    assert len(blocks) == len(shell_blocks(readme)), "two blocks start alike"
    if variant["database"] == "postgresql":
        create_database(answers["project_slug"])
    return project, blocks


@pytest.mark.suite
@pytest.mark.parametrize(("variant", "tests"), BROWSER_CASES)
def test_variant_passes_its_browser_tests(cookies, variant, tests):
    """The README's browser tests (or those under ``tests``), in a project of their own;
    their screenshots, in English and Korean, on a desktop and a phone, land in
    artifacts/."""
    slug = slug_for(variant) + "_browser"
    project, blocks = bake_to_follow(cookies, variant, {"project_slug": slug})
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    screenshot = ARTIFACTS_DIR / f"room-{variant_id(variant)}.png"
    env = project_env(CHANNEL_LAYER_PREFIX=slug, CHAT_SCREENSHOT=str(screenshot))
    timings = BlockTimings(f"{variant_id(variant)}-browser")

    with timings.block(BROWSER_TESTS):
        result = run(["bash", "-c", f"{blocks[BROWSER_TESTS]} {tests}"], project, env=env)
    check_output(BROWSER_TESTS, result, project)
    shots = ["-edit", "-edit-ko-phone", "-members-ko", "-direct"] if tests else ["", "-ko-phone"]
    for kind in shots:
        assert screenshot.with_name(f"{screenshot.stem}{kind}.png").stat().st_size > 0
    timings.write(ARTIFACTS_DIR)


@pytest.mark.suite
@pytest.mark.parametrize(("variant", "answers"), SUITE_CASES)
def test_variant_follows_its_readme_and_passes_its_own_suite(cookies, variant, answers):
    """Every shell block of the generated README and docs/, run as pasted (but for the
    port of a server), with the checks a block's output allows, and the project's own
    checks."""
    answers = {"project_slug": slug_for(variant), **answers}
    project, blocks = bake_to_follow(cookies, variant, answers)
    env = project_env(CHANNEL_LAYER_PREFIX=answers["project_slug"])
    ran, not_run = [], {}
    timings = BlockTimings(variant_id(variant))

    for first in BLOCK_ORDER:
        block = blocks.get(first)
        if block is None:
            continue
        if first == PIP_QUICK_START and variant != PIP_AND_SWITCH_VARIANT:
            not_run[first] = "the same commands, run for the default variant"
            continue
        if first == BROWSER_TESTS:
            not_run[first] = "test_variant_passes_its_browser_tests runs it"
            continue
        if first == SOAK and variant not in SOAK_VARIANTS:
            not_run[first] = "run for one variant of each layer, saving or not, and database"
            continue
        if first in (BENCHMARK, SCALE) and variant not in BENCHMARK_VARIANTS:
            not_run[first] = "run for one variant of each layer, with saved messages"
            continue
        if first == COMPOSE:
            # compose.yaml is checked by test_compose_runs_the_tested_topology, and the
            # project's own test_proxy.py runs deploy/nginx.conf in a real nginx.
            not_run[first] = "needs a Docker engine, which this machine does not have"
            continue
        if first == REDIS_SWITCH:
            require_service("Redis", REDIS_ADDRESS)
        kind = server_kind(block)
        with timings.block(first):
            if kind:
                serve_and_check(block, project, env, kind)
            else:
                result = run(["bash", "-c", block], project, env=env)
                check_output(first, result, project)
        ran.append(first)
        if first == REDIS_SWITCH and variant == PIP_AND_SWITCH_VARIANT:
            with timings.block("the core's tests and two servers on Redis"):
                check_switch_to_redis(project, env | {"REDIS_URL": "redis://127.0.0.1:6379/0"})

    assert set(ran) | set(not_run) == set(blocks)
    if variant["channel_layer"] == "redis":
        # The project's tests delete the keys of their own prefix when they end.
        server = ["-h", REDIS_ADDRESS[0], "-p", str(REDIS_ADDRESS[1])]
        pattern = f"{answers['project_slug']}-test-*"
        left = subprocess.run(
            ["redis-cli", *server, "--scan", "--pattern", pattern],
            capture_output=True,
            text=True,
            check=True,
        )
        assert left.stdout.split() == []
    with timings.block("ruff, checks, migrations, usage"):
        for command in (
            "uv run --extra dev ruff check .",
            "uv run --extra dev ruff format --check .",
            "uv run manage.py check --fail-level WARNING",
            "uv run manage.py makemigrations --check --dry-run",
        ):
            run(command, project, env=env)
        for script in ("bench/soak.py", "bench/benchmark.py"):
            usage = run(f"uv run --extra dev {script} --help", project, env=env).stdout
            assert len(usage.splitlines()) < 40, usage[:2000]
    timings.write(ARTIFACTS_DIR)


def check_output(first, result, project):
    """What a README block's own output must show."""
    if first in (TESTS, BROWSER_TESTS):
        assert re.search(r"\d+ passed", result.stdout)
        assert "skipped" not in result.stdout.splitlines()[-1]
    if first == SCALE:
        # A row per request, with its time and queries at each size; the script itself
        # exits 1 if the queries differ between the sizes.
        rows = re.findall(r"^(.+?)\s+[\d.]+ ms\s+(\d+)\s+[\d.]+ ms\s+(\d+)", result.stdout, re.M)
        assert len(rows) >= 9, result.stdout
        assert all(small == large for _, small, large in rows), result.stdout
    if first == BENCHMARK:
        results = json.loads((project / "bench" / "output" / "results.json").read_text())
        assert {result["target"] for result in results} == {"chat", "tutorial", "ceiling"}
        assert all(result["deliveries"] > 0 for result in results)
        # The tutorial is only a yardstick; the benchmark checks the chat and the ceiling.
        assert all(result["lost"] == 0 for result in results if result["target"] != "tutorial")
