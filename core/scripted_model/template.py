"""Reply templates: `str.format` syntax over a small namespace, with item access only.

Attribute access (`{x.__class__}`) is refused so a template cannot walk into Python
internals, and a missing key yields a visible marker instead of an exception: a
scripted server must keep answering while a script is being written.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

_FIELD = re.compile(r"(?P<name>\w+)(?P<keys>(?:\[[^\[\]]+\])*)")
_KEY = re.compile(r"\[([^\[\]]+)\]")
_WHOLE_FIELD = re.compile(r"\{(?P<field>\w+(?:\[[^\[\]{}]+\])*)\}")

Namespace = Mapping[str, Any]


class TemplateError(LookupError):
    pass


class _ItemOnlyFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        return resolve(field_name, kwargs), field_name


_FORMATTER = _ItemOnlyFormatter()


def render(template: str, namespace: Namespace) -> str:
    try:
        return _FORMATTER.vformat(template, (), namespace)
    except (LookupError, ValueError, TypeError) as exc:
        return f"[template error: {_describe(exc)}] {template}"


def render_value(template: Any, namespace: Namespace) -> Any:
    """Render strings inside nested argument data.

    A string that is exactly one field (`"{result[id]}"`) keeps the type of the value it
    names, so numeric ids and lists reach tool schemas unchanged.
    """
    if isinstance(template, str):
        whole = _WHOLE_FIELD.fullmatch(template)
        if whole is None:
            return render(template, namespace)
        try:
            return resolve(whole["field"], namespace)
        except LookupError as exc:
            return f"[template error: {_describe(exc)}] {template}"
    if isinstance(template, Mapping):
        return {key: render_value(value, namespace) for key, value in template.items()}
    if isinstance(template, list):
        return [render_value(item, namespace) for item in template]
    return template


def resolve(field_name: str, namespace: Namespace) -> Any:
    match = _FIELD.fullmatch(field_name)
    if match is None:
        raise TemplateError(f"only name[key] fields are allowed, not {field_name!r}")
    if match["name"] not in namespace:
        raise TemplateError(f"unknown name {match['name']!r}")
    value = namespace[match["name"]]
    for key in _KEY.findall(match["keys"]):
        value = _item(value, key)
    return value


def _item(container: Any, key: str) -> Any:
    if isinstance(container, Mapping):
        if key in container:
            return container[key]
        if key.isdigit() and int(key) in container:
            return container[int(key)]
        raise TemplateError(f"no key {key!r}")
    if isinstance(container, Sequence) and not isinstance(container, str) and key.lstrip("-").isdigit():
        try:
            return container[int(key)]
        except IndexError:
            raise TemplateError(f"no index {key}") from None
    raise TemplateError(f"cannot look up {key!r} in a {type(container).__name__}")


def _describe(exc: Exception) -> str:
    return str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
