"""Declaring a tool: `@tool` turns a typed function into a `ToolSpec` the model can call."""

from __future__ import annotations

import inspect
import random
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, create_model

from core.tiers import RiskLevel

if TYPE_CHECKING:
    from core.ports import Schedules

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what the OpenAI API accepts as a function name
_ARGS_HEADER = re.compile(r"^(\s*)(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
# Values under these keys are data or name->schema maps, so a "title" inside them is not pydantic noise.
_LITERAL_KEYS = frozenset({"default", "const", "enum", "examples"})
_NAMED_SCHEMA_KEYS = frozenset({"properties", "$defs", "definitions", "patternProperties"})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 1
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoff_s and max_backoff_s must not be negative")

    def delay_s(self, failed_attempts: int) -> float:
        """Seconds to wait after `failed_attempts` failures: exponential backoff with full jitter."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** (failed_attempts - 1))
        return random.uniform(0, ceiling)


@dataclass(frozen=True)
class ToolContext:
    tenant_id: str
    user_id: str
    run_id: str
    idempotency_key: str
    # The run's bot and surface, for tools that act where the conversation is.
    bot: str = ""
    surface: str = ""
    # Narrow, typed dependencies (core/ports.py), never the whole store; None where a tool is
    # called outside a worker (tests, scripts). Always used as the run's requester.
    schedules: Schedules | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any] = field(compare=False)
    risk: RiskLevel
    timeout_s: float
    retry: RetryPolicy
    idempotent: bool
    fn: Callable[..., Any]
    # Validates arguments; its fields carry the function's parameter names as aliases.
    arguments_model: type[BaseModel] = field(repr=False, compare=False)
    context_param: str | None = None

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@overload
def tool(fn: Callable[..., Any], /) -> ToolSpec: ...


@overload
def tool(
    *,
    name: str | None = None,
    risk: RiskLevel = RiskLevel.READ,
    timeout_s: float = 30.0,
    retry: RetryPolicy = RetryPolicy(),
    idempotent: bool = False,
) -> Callable[[Callable[..., Any]], ToolSpec]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    risk: RiskLevel = RiskLevel.READ,
    timeout_s: float = 30.0,
    retry: RetryPolicy = RetryPolicy(),
    idempotent: bool = False,
) -> ToolSpec | Callable[[Callable[..., Any]], ToolSpec]:
    """Declare a tool; usable bare (`@tool`) or with options (`@tool(risk=RiskLevel.HIGH)`)."""

    def declare(f: Callable[..., Any]) -> ToolSpec:
        return _build_spec(f, name, RiskLevel(risk), timeout_s, retry, idempotent)

    return declare if fn is None else declare(fn)


def _build_spec(
    fn: Callable[..., Any],
    name: str | None,
    risk: RiskLevel,
    timeout_s: float,
    retry: RetryPolicy,
    idempotent: bool,
) -> ToolSpec:
    tool_name = name or str(getattr(fn, "__name__", ""))
    if not _NAME.match(tool_name):
        raise ValueError(f"tool name {tool_name!r} must match {_NAME.pattern}")
    if timeout_s <= 0:
        raise ValueError(f"tool {tool_name}: timeout_s must be positive, got {timeout_s}")
    summary, param_docs = _parse_docstring(fn.__doc__)
    try:
        model, context_param = _arguments_model(tool_name, fn, param_docs)
        parameters = _strip_titles(model.model_json_schema())
    except PydanticUserError as exc:
        raise TypeError(f"tool {tool_name}: unsupported parameter type: {exc.message}") from exc
    return ToolSpec(
        name=tool_name,
        description=summary,
        parameters=parameters,
        risk=risk,
        timeout_s=timeout_s,
        retry=retry,
        idempotent=idempotent,
        fn=fn,
        arguments_model=model,
        context_param=context_param,
    )


def _arguments_model(
    tool_name: str, fn: Callable[..., Any], param_docs: dict[str, str]
) -> tuple[type[BaseModel], str | None]:
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError) as exc:
        raise TypeError(f"tool {tool_name}: cannot resolve its type annotations: {exc}") from exc
    fields: dict[str, Any] = {}
    context_param: str | None = None
    for param in inspect.signature(fn).parameters.values():
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(f"tool {tool_name}: parameter {param.name!r} must be passable by keyword")
        if param.name not in hints:
            raise TypeError(f"tool {tool_name}: parameter {param.name!r} needs a type annotation")
        hint = hints[param.name]
        if hint is ToolContext:
            context_param = param.name
            continue
        default = ... if param.default is param.empty else param.default
        # Internal field names plus aliases: a parameter may be called `json` or `schema`
        # without shadowing BaseModel's attributes.
        info = Field(default, alias=param.name, description=param_docs.get(param.name))
        fields[f"arg_{param.name}"] = (hint, info)
    model = create_model(f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    return model, context_param


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The first paragraph, and the per-parameter descriptions of a Google-style `Args:` section."""
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _ARGS_HEADER.match(line):
            break
        summary.append(line.strip())
    return " ".join(summary), _parse_args_section(lines)


def _parse_args_section(lines: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    header_indent: int | None = None
    entry_indent: int | None = None
    current: str | None = None
    for line in lines:
        if header_indent is None:
            if header := _ARGS_HEADER.match(line):
                header_indent = len(header.group(1))
            continue
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= header_indent:
            break
        if entry_indent is None:
            entry_indent = indent
        entry = _ARG_LINE.match(line.strip()) if indent == entry_indent else None
        if entry:
            current = entry.group(1)
            docs[current] = entry.group(2).strip()
        elif current is not None:
            docs[current] = f"{docs[current]} {line.strip()}".strip()
    return {name: text for name, text in docs.items() if text}


def _strip_titles(node: Any) -> Any:
    """Drop pydantic's generated "title" keys; they are noise to a model reading the schema."""
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    clean: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _LITERAL_KEYS:
            clean[key] = value
        elif key in _NAMED_SCHEMA_KEYS and isinstance(value, dict):
            clean[key] = {name: _strip_titles(schema) for name, schema in value.items()}
        else:
            clean[key] = _strip_titles(value)
    return clean
