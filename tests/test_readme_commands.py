"""Unit tests of the README block reader the suite runs the generated README with."""

from readme_commands import on_port, server_kind, shell_blocks

README = """Intro.

```bash
uv run manage.py migrate && uv run manage.py runserver
```

Text.

```bash
export A=1
uv run python -m config.serve -b 127.0.0.1 -p 8000 config.asgi:application
```

```bash
uv run --extra dev pytest
```

```json
{"not": "shell"}
```
"""


def test_blocks_are_the_bash_ones_in_order():
    assert shell_blocks(README) == [
        "uv run manage.py migrate && uv run manage.py runserver",
        "export A=1\nuv run python -m config.serve -b 127.0.0.1 -p 8000 config.asgi:application",
        "uv run --extra dev pytest",
    ]


def test_servers_are_recognised_and_moved_to_another_port():
    development, production, tests = shell_blocks(README)

    assert [server_kind(block) for block in (development, production, tests)] == [
        "development",
        "production",
        None,
    ]
    assert on_port(development, 1234).endswith("manage.py runserver 127.0.0.1:1234")
    assert "-p 1234 config.asgi:application" in on_port(production, 1234)
