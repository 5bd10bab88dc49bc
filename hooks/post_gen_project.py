"""Fit the rendered project to the chosen options: drop unused files, set a secret key.

Reading ``main()`` tells every way the variants differ in their files.
"""

import json
import secrets
import shutil
from pathlib import Path

SECRET_KEY_PLACEHOLDER = "__SECRET_KEY__"
SECRET_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789!@#%^&*(-_=+)"

# What saving messages brings: the app that owns rooms, messages and memberships, the
# HTTP API over them, their references, and the benchmark of what their requests cost as
# the history grows. Without it the core keeps nothing (CHAT_ROOMS_BACKEND).
PERSISTENCE_PATHS = ["rooms", "api", "docs/rooms.md", "docs/api.md", "bench/scale.py"]
# The core's stand-in for the rooms app: no history, every room public.
NOT_SAVED_PATHS = ["chat/unsaved"]
# What only a Redis project runs: the deploy files for several server processes, and the
# tests of Redis itself and of servers sharing it.
REDIS_PATHS = [
    ".dockerignore",
    "Dockerfile",
    "compose.yaml",
    "deploy/nginx.conf",
    "chat/tests/redis",
    "ops/tests/test_proxy.py",
    "rooms/tests/test_redis_outage_members.py",
]

# The benchmark's chart as measured with each channel layer; the project gets its own
# layer's as docs/benchmark.png, which its README shows.
BENCHMARK_CHARTS = {
    "in_memory": "docs/benchmark-in_memory.png",
    "redis": "docs/benchmark-redis.png",
}
BENCHMARK_CHART = "docs/benchmark.png"


def remove_paths(project_dir, relative_paths):
    # A path may be in two lists (a Redis test of the rooms app), and gone already.
    for relative in relative_paths:
        path = project_dir / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def keep_benchmark_chart(project_dir, channel_layer):
    for layer, relative in BENCHMARK_CHARTS.items():
        chart = project_dir / relative
        if layer == channel_layer:
            chart.rename(project_dir / BENCHMARK_CHART)
        else:
            chart.unlink()


def generate_secret_key():
    # Same alphabet and length as django.core.management.utils.get_random_secret_key; the
    # prefix makes `manage.py check --deploy` warn if this development key reaches production.
    return "django-insecure-" + "".join(secrets.choice(SECRET_KEY_CHARS) for _ in range(50))


def set_secret_key(settings_file, secret_key):
    text = settings_file.read_text(encoding="utf-8")
    settings_file.write_text(text.replace(SECRET_KEY_PLACEHOLDER, secret_key), encoding="utf-8")


LAYER_NAMES = {"in_memory": "in-memory channel layer", "redis": "Redis channel layer"}
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def next_steps(project_dir, options):
    """What was made and the command that starts it, for the person who just baked it."""
    slug = project_dir.name
    saved = "messages saved" if options["persist_messages"] else "messages not saved"
    needs = []
    if options["channel_layer"] == "redis":
        needs.append("Redis on 127.0.0.1:6379 (or set REDIS_URL)")
    if options["database"] == "postgresql":
        needs.append(f"PostgreSQL on 127.0.0.1:5432 with a database `createdb -U postgres {slug}`")
    lines = [
        f"Created {slug}/: a Django Channels chat, {LAYER_NAMES[options['channel_layer']]}, "
        f"{saved}, {DATABASE_NAMES[options['database']]}.",
    ]
    if needs:
        lines.append("It needs " + " and ".join(needs) + ".")
    lines += [
        "Start it (http://127.0.0.1:8000/):",
        f"    cd {slug} && uv run manage.py migrate && uv run manage.py runserver",
        "or, without uv:",
        f"    cd {slug} && python3 -m venv .venv && .venv/bin/pip install -e . "
        "&& .venv/bin/python manage.py migrate && .venv/bin/python manage.py runserver",
        f"{slug}/README.md has the tests, the settings, the protocol and production.",
    ]
    return "\n".join(lines)


def main(project_dir, options):
    if options["persist_messages"]:
        remove_paths(project_dir, NOT_SAVED_PATHS)
    else:
        remove_paths(project_dir, PERSISTENCE_PATHS)
    if options["channel_layer"] != "redis":
        remove_paths(project_dir, REDIS_PATHS)
    keep_benchmark_chart(project_dir, options["channel_layer"])
    set_secret_key(project_dir / "config" / "settings.py", generate_secret_key())
    print(next_steps(project_dir, options))


if __name__ == "__main__":
    # Single-quoted literals around tojson output, which may start with a double quote:
    # the formatter must leave these lines alone.
    persist = json.loads(r'''{{ cookiecutter.persist_messages | tojson }}''')  # fmt: skip
    layer = json.loads(r'''{{ cookiecutter.channel_layer | tojson }}''')  # fmt: skip
    database = json.loads(r'''{{ cookiecutter.database | tojson }}''')  # fmt: skip
    main(Path.cwd(), {"persist_messages": persist, "channel_layer": layer, "database": database})
