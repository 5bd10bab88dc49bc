"""Fit the rendered project to the chosen options: drop unused files, set a secret key.

Reading ``main()`` tells every way the variants differ in their files.
"""

import json
import secrets
import shutil
from pathlib import Path

SECRET_KEY_PLACEHOLDER = "__SECRET_KEY__"
SECRET_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789!@#%^&*(-_=+)"

PERSISTENCE_FILES = [
    "chat/admin.py",
    "chat/api.py",
    "chat/api_tokens.py",
    "chat/management/commands/chat_token.py",
    "chat/member_urls.py",
    "chat/member_views.py",
    "chat/message_rights.py",
    "chat/migrations",
    "chat/models.py",
    "chat/static/chat/conversations.js",
    "chat/templates/chat/conversation_links.html",
    "chat/templates/chat/direct.html",
    "chat/templates/chat/invite.html",
    "chat/templates/chat/members.html",
    "chat/templates/chat/private.html",
    "chat/tests/test_api.py",
    "chat/tests/test_edits.py",
    "chat/tests/test_membership.py",
    "chat/tests/test_models.py",
    "chat/tests/test_redis_outage_members.py",
    "chat/tests/test_restart.py",
]
# Files with a stand-in of the same interface for projects that do not save messages: the
# stand-in takes the file's place.
PERSISTENCE_STAND_INS = {
    "chat/history.py": "chat/history_not_saved.py",
    "chat/membership.py": "chat/membership_public.py",
    "chat/tests/test_history.py": "chat/tests/test_history_not_saved.py",
}
REDIS_FILES = [
    ".dockerignore",
    "Dockerfile",
    "compose.yaml",
    "deploy/nginx.conf",
    "chat/tests/test_proxy.py",
    "chat/tests/test_redis_calls.py",
    "chat/tests/test_redis_outage.py",
    "chat/tests/test_redis_outage_members.py",
    "chat/tests/test_redis_shards.py",
    "chat/tests/test_sentinel.py",
    "chat/tests/test_two_processes.py",
]

# The benchmark's chart as measured with each channel layer; the project gets its own
# layer's as docs/benchmark.png, which its README shows.
BENCHMARK_CHARTS = {
    "in_memory": "docs/benchmark-in_memory.png",
    "redis": "docs/benchmark-redis.png",
}
BENCHMARK_CHART = "docs/benchmark.png"


def remove_paths(project_dir, relative_paths):
    # A file may be in two lists (one that needs both Redis and saved messages), and gone
    # already.
    for relative in relative_paths:
        path = project_dir / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def keep_persistence_files(project_dir, persist_messages):
    for relative, stand_in in PERSISTENCE_STAND_INS.items():
        if persist_messages:
            (project_dir / stand_in).unlink()
        else:
            (project_dir / stand_in).replace(project_dir / relative)


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
    if not options["persist_messages"]:
        remove_paths(project_dir, PERSISTENCE_FILES)
    keep_persistence_files(project_dir, options["persist_messages"])
    if options["channel_layer"] != "redis":
        remove_paths(project_dir, REDIS_FILES)
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
