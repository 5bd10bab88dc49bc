"""Refuse answers that would render a broken project, before any file is written."""

import json
import keyword
import re
import sys

SLUG_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*$")

# Top-level modules the generated project imports or defines, and the standard library's
# `test` package (missing from sys.stdlib_module_names). A project directory with one of
# these names shadows the real module when Python runs from its parent directory.
SHADOWED_MODULES = frozenset(
    {
        # The project's own packages.
        "accounts",
        "api",
        "chat",
        "config",
        "ops",
        "pages",
        "rooms",
        "testing",
        # What it imports.
        "asgiref",
        "autobahn",
        "channels",
        "channels_redis",
        "daphne",
        "dj_database_url",
        "django",
        "environs",
        "psycopg",
        "pytest",
        "pytest_asyncio",
        "pytest_django",
        "redis",
        "test",
        "twisted",
        "websockets",
        "whitenoise",
    }
)


def slug_problem(slug):
    """Return why ``slug`` cannot name the project, or None when it can."""
    if not SLUG_PATTERN.match(slug):
        return (
            f"project_slug {slug!r} is not a valid Python module name: use lowercase ASCII "
            "letters, digits and underscores, starting with a letter or underscore."
        )
    if keyword.iskeyword(slug):
        return f"project_slug {slug!r} is a Python keyword."
    if slug in SHADOWED_MODULES or slug in sys.stdlib_module_names:
        return (
            f"project_slug {slug!r} would shadow the Python module of the same name, "
            "which the project imports. Choose another name."
        )
    return None


def main(slug):
    problem = slug_problem(slug)
    if problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    # tojson output always starts with a double quote, so the literal around it must use
    # single ones: the formatter must leave this line alone.
    main(json.loads(r'''{{ cookiecutter.project_slug | tojson }}'''))  # fmt: skip
