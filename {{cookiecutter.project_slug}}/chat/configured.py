"""Modules a setting names, checked as they are imported: a name that cannot be imported,
or a module without what the core asks of it, stops the server at start-up with a message
that names the setting."""

from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def configured_module(setting, dotted, names):
    """The module ``dotted``, which the setting ``setting`` names, once it defines every
    one of ``names``."""
    try:
        module = import_module(dotted)
    except ImportError as exc:
        value = getattr(settings, setting)
        raise ImproperlyConfigured(
            f"{setting} = {value!r}: cannot import {dotted} ({exc})."
        ) from exc
    missing = [name for name in names if not hasattr(module, name)]
    if missing:
        raise ImproperlyConfigured(f"{setting}: {dotted} does not define {', '.join(missing)}.")
    return module
