"""Unit tests of the hooks and the Jinja filter, imported as plain modules."""

import ast
import re
import tomllib

import pytest

from conftest import load_module

pre_gen = load_module("hooks/pre_gen_project.py")
post_gen = load_module("hooks/post_gen_project.py")
extensions = load_module("local_extensions.py")

HOSTILE_STRINGS = [
    'He said "hi"',
    "it's",
    "'''",
    '"""',
    "back\\slash\\",
    "two\nlines\r\n",
    "tab\tand\x00nul\x07bell\x7fdel",
    "서울 café 🎉 👨‍👩‍👧",
    '"; import os; os.system("echo pwned") #',
    "\\u0041 \\x41 \\N{BULLET}",
    "\u2028\u2029",
]


@pytest.mark.parametrize("slug", ["team_chat", "chat2", "_private", "a"])
def test_valid_slugs_pass(slug):
    assert pre_gen.slug_problem(slug) is None


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("team-chat", "not a valid Python module name"),
        ("Team_Chat", "not a valid Python module name"),
        ("2chat", "not a valid Python module name"),
        ("team chat", "not a valid Python module name"),
        ("", "not a valid Python module name"),
        ("café", "not a valid Python module name"),
        ("class", "keyword"),
        ("django", "shadow"),
        ("channels", "shadow"),
        ("daphne", "shadow"),
        ("config", "shadow"),
        ("chat", "shadow"),
        ("test", "shadow"),
        ("json", "shadow"),
    ],
)
def test_invalid_slugs_are_explained(slug, reason):
    assert reason in pre_gen.slug_problem(slug)


def test_pre_gen_main_exits_with_the_reason(capsys):
    with pytest.raises(SystemExit) as excinfo:
        pre_gen.main("django")

    assert excinfo.value.code == 1
    assert "shadow" in capsys.readouterr().err


def test_secret_keys_are_random_and_marked_insecure():
    keys = {post_gen.generate_secret_key() for _ in range(20)}

    assert len(keys) == 20
    for key in keys:
        assert re.fullmatch(r"django-insecure-[a-z0-9!@#%^&*(\-_=+)]{50}", key)


def test_set_secret_key_replaces_the_placeholder(tmp_path):
    settings_file = tmp_path / "settings.py"
    settings_file.write_text('SECRET_KEY = "__SECRET_KEY__"\n')

    post_gen.set_secret_key(settings_file, "k3y")

    assert settings_file.read_text() == 'SECRET_KEY = "k3y"\n'


ALL_PATHS = [*post_gen.PERSISTENCE_PATHS, *post_gen.NOT_SAVED_PATHS, *post_gen.REDIS_PATHS]


def make_project_tree(root):
    """A skeleton holding every path the post-gen hook may remove, and one it must keep."""
    for relative in [*ALL_PATHS, "chat/consumers.py"]:
        path = root / relative
        if not path.suffix and not path.name.startswith("."):
            path = path / "__init__.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    (root / "config").mkdir()
    (root / "config/settings.py").write_text('SECRET_KEY = "__SECRET_KEY__"\n')
    (root / "docs").mkdir(exist_ok=True)
    for layer, relative in post_gen.BENCHMARK_CHARTS.items():
        (root / relative).write_text(layer)


@pytest.mark.parametrize(
    ("options", "removed"),
    [
        (
            {"persist_messages": True, "channel_layer": "redis", "database": "sqlite"},
            post_gen.NOT_SAVED_PATHS,
        ),
        (
            {"persist_messages": False, "channel_layer": "redis", "database": "sqlite"},
            post_gen.PERSISTENCE_PATHS,
        ),
        (
            {"persist_messages": True, "channel_layer": "in_memory", "database": "sqlite"},
            [*post_gen.NOT_SAVED_PATHS, *post_gen.REDIS_PATHS],
        ),
        (
            {"persist_messages": False, "channel_layer": "in_memory", "database": "sqlite"},
            [*post_gen.PERSISTENCE_PATHS, *post_gen.REDIS_PATHS],
        ),
    ],
)
def test_post_gen_removes_only_what_the_options_do_not_use(tmp_path, options, removed):
    make_project_tree(tmp_path)

    post_gen.main(tmp_path, options)

    for relative in ALL_PATHS:
        inside_removed = any(
            relative == gone or relative.startswith(f"{gone}/") for gone in removed
        )
        assert (tmp_path / relative).exists() is not inside_removed, relative
    assert (tmp_path / "chat/consumers.py").exists()
    assert "__SECRET_KEY__" not in (tmp_path / "config/settings.py").read_text()
    charts = [path.name for path in (tmp_path / "docs").iterdir() if path.suffix == ".png"]
    assert charts == ["benchmark.png"]
    assert (tmp_path / post_gen.BENCHMARK_CHART).read_text() == options["channel_layer"]


@pytest.mark.parametrize("value", HOSTILE_STRINGS)
def test_string_literal_is_valid_python_and_toml(value):
    literal = extensions.string_literal(value)

    assert ast.literal_eval(literal) == value
    assert tomllib.loads(f"key = {literal}")["key"] == value


@pytest.mark.parametrize(
    ("options", "needs"),
    [
        ({"persist_messages": True, "channel_layer": "in_memory", "database": "sqlite"}, []),
        (
            {"persist_messages": False, "channel_layer": "redis", "database": "postgresql"},
            ["Redis", "createdb -U postgres chat"],
        ),
    ],
)
def test_post_gen_says_what_was_made_and_how_to_start_it(tmp_path, options, needs):
    text = post_gen.next_steps(tmp_path / "chat", options)

    assert text.startswith("Created chat/")
    assert "cd chat && uv run manage.py migrate && uv run manage.py runserver" in text
    assert ".venv/bin/pip install -e ." in text
    for need in needs:
        assert need in text
    assert ("It needs" in text) is bool(needs)
