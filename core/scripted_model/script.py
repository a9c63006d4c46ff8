"""A script: ordered rules that turn a conversation into a canned model reply.

The first rule whose `when` holds answers; when none does, the default reply does.
Scripts are data (`Script.from_yaml`) so bots can ship them next to their code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from core.errors import InvalidInput
from core.scripted_model.conversation import Conversation
from core.scripted_model.template import Namespace, render, render_value

DEFAULT_REPLY = "I'm the offline demo model; I didn't understand that."
DEFAULT_MODELS = ("scripted",)


@dataclass(frozen=True)
class When:
    """Every condition that is set must hold; an empty `When` always holds."""

    user: re.Pattern[str] | None = None
    after_tool: str | None = None
    tool_result: re.Pattern[str] | None = None
    system: re.Pattern[str] | None = None
    no_tool_result_since_user: bool | None = None

    def match(self, conversation: Conversation) -> Namespace | None:
        """The template namespace when this holds, else None."""
        user_match = _search(self.user, conversation.last_user)
        result_match = _search(self.tool_result, conversation.last_tool_result)
        checks = (
            self.user is None or user_match is not None,
            self.tool_result is None or result_match is not None,
            self.after_tool is None or conversation.last_tool_name == self.after_tool,
            self.system is None or self.system.search(conversation.system) is not None,
            self.no_tool_result_since_user is None
            or self.no_tool_result_since_user == (not conversation.tool_result_since_user),
        )
        if not all(checks):
            return None
        return {
            "user_match": _groups(user_match),
            "result_match": _groups(result_match),
            "result": _decode(conversation.last_tool_result),
            "results": {name: _decode(text) for name, text in conversation.results_by_tool.items()},
            "last_user": conversation.last_user or "",
        }


@dataclass(frozen=True)
class ToolCallTemplate:
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScriptedCall:
    name: str
    arguments: str  # JSON text, as a model would produce it


@dataclass(frozen=True)
class Answer:
    content: str | None
    tool_calls: tuple[ScriptedCall, ...] = ()
    latency_ms: float = 0.0
    rule: str = ""  # the name of the rule that answered; "" for the default reply


@dataclass(frozen=True)
class Rule:
    when: When
    content: str | None = None
    tool_calls: tuple[ToolCallTemplate, ...] = ()
    latency_ms: float = 0.0
    name: str = ""

    def answer(self, namespace: Namespace) -> Answer:
        return Answer(
            content=None if self.content is None else render(self.content, namespace),
            tool_calls=tuple(
                ScriptedCall(call.name, json.dumps(render_value(dict(call.arguments), namespace)))
                for call in self.tool_calls
            ),
            latency_ms=self.latency_ms,
            rule=self.name,
        )


@dataclass(frozen=True)
class Script:
    rules: tuple[Rule, ...] = ()
    default: str = DEFAULT_REPLY
    models: tuple[str, ...] = DEFAULT_MODELS  # advertised by /v1/models; any name is accepted

    def respond(
        self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] = ()
    ) -> Answer:
        conversation = Conversation.from_request(messages, tools)
        for rule in self.rules:
            namespace = rule.when.match(conversation)
            if namespace is not None:
                return rule.answer(namespace)
        return Answer(content=self.default)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        try:
            spec = _ScriptSpec.model_validate(data)
        except ValidationError as exc:
            raise InvalidInput(f"invalid model script: {exc}") from exc
        return spec.to_script()

    @classmethod
    def from_yaml(cls, path: str | Path) -> Script:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, Mapping):
            raise InvalidInput(f"model script {path} must be a mapping with a 'rules' list")
        return cls.from_dict(data)


def _search(pattern: re.Pattern[str] | None, text: str | None) -> re.Match[str] | None:
    return None if pattern is None or text is None else pattern.search(text)


def _groups(match: re.Match[str] | None) -> dict[int | str, str]:
    if match is None:
        return {}
    groups: dict[int | str, str] = {0: match.group(0)}
    groups.update({index: value or "" for index, value in enumerate(match.groups(), start=1)})
    groups.update({name: value or "" for name, value in match.groupdict().items()})
    return groups


def _decode(result: str | None) -> Any:
    if result is None:
        return {}
    try:
        return json.loads(result)
    except ValueError:
        return result


# The YAML/dict boundary: validated here, then turned into the frozen dataclasses above.


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _WhenSpec(_Spec):
    user: str | None = None
    after_tool: str | None = None
    tool_result: str | None = None
    system: str | None = None
    no_tool_result_since_user: bool | None = None

    @field_validator("user", "tool_result", "system")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return pattern

    def to_when(self) -> When:
        def compiled(pattern: str | None, flags: int = 0) -> re.Pattern[str] | None:
            return None if pattern is None else re.compile(pattern, flags)

        return When(
            user=compiled(self.user, re.IGNORECASE),
            after_tool=self.after_tool,
            tool_result=compiled(self.tool_result),
            system=compiled(self.system),
            no_tool_result_since_user=self.no_tool_result_since_user,
        )


class _ToolCallSpec(_Spec):
    name: str
    arguments: dict[str, Any] = {}


class _ReplySpec(_Spec):
    content: str | None = None
    tool_calls: list[_ToolCallSpec] = []

    @model_validator(mode="after")
    def _says_something(self) -> _ReplySpec:
        if self.content is None and not self.tool_calls:
            raise ValueError("a reply needs content, tool_calls or both")
        return self


class _RuleSpec(_Spec):
    name: str = ""
    when: _WhenSpec = _WhenSpec()
    reply: _ReplySpec | str
    latency_ms: float = 0.0

    def to_rule(self) -> Rule:
        reply = _ReplySpec(content=self.reply) if isinstance(self.reply, str) else self.reply
        return Rule(
            when=self.when.to_when(),
            content=reply.content,
            tool_calls=tuple(ToolCallTemplate(c.name, c.arguments) for c in reply.tool_calls),
            latency_ms=self.latency_ms,
            name=self.name,
        )


class _ScriptSpec(_Spec):
    rules: list[_RuleSpec] = []
    default: str = DEFAULT_REPLY
    models: list[str] = list(DEFAULT_MODELS)

    def to_script(self) -> Script:
        return Script(
            rules=tuple(rule.to_rule() for rule in self.rules),
            default=self.default,
            models=tuple(self.models),
        )
