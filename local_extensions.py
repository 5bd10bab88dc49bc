"""Jinja filters for the template, loaded through ``_extensions`` in cookiecutter.json."""

import json

from jinja2.ext import Extension


def string_literal(value):
    """Quote ``value`` as a string literal valid in both Python and TOML.

    Answers such as the project name reach source files through this filter, so quotes,
    backslashes, newlines and code in them stay data. JSON escapes are a subset of both
    languages' escapes; TOML also wants DEL escaped.
    """
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


class StringLiteralExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["string_literal"] = string_literal
