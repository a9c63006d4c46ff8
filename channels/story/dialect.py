"""How one surface writes the story's words: its markup's escaping, emphasis, dates and people,
and the icon it shows for each state. The sentences themselves live in the story's modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Icon(StrEnum):
    WORKING = "working"
    TOOL = "tool"  # a tool whose name reads as a phrase ("Looking up order…")
    TOOL_UNKNOWN = "tool_unknown"  # any other tool ("Running `frobnicate`…")
    LOCK = "lock"  # waiting for an approval
    QUESTION = "question"  # waiting for an answer
    CONTINUING = "continuing"  # approved, the run goes on
    DONE = "done"
    FAILED = "failed"
    STOP = "stop"  # cancelled, denied
    WARNING = "warning"
    EXPIRED = "expired"
    ANSWERED = "answered"


EMOJI = {  # what Discord and Teams show; Slack writes its own :shortcodes:
    Icon.WORKING: "⏳",
    Icon.TOOL: "🔍",
    Icon.TOOL_UNKNOWN: "🔍",
    Icon.LOCK: "🔒",
    Icon.QUESTION: "❓",
    Icon.CONTINUING: "▶️",
    Icon.DONE: "✅",
    Icon.FAILED: "❌",
    Icon.STOP: "🚫",
    Icon.WARNING: "⚠️",
    Icon.EXPIRED: "⌛",
    Icon.ANSWERED: "💬",
}


@dataclass(frozen=True)
class Dialect:
    icons: Mapping[Icon, str]
    escape: Callable[[str], str]  # text from outside (a model, a person) made inert in this markup
    strong: str  # the bold marker: "*" in Slack's mrkdwn, "**" in Markdown
    date: Callable[[float], str]  # an instant each reader sees in their own time zone
    person: Callable[[str | None], str]  # a product user, as the sink later names them
    code: Callable[[str], str]  # a name shown as code ("`refund`")
    error_code: Callable[[str], str]  # a failure's code inside a sentence
    admins: str = "an admin"  # who decides an admin-tier approval
    expired_at: str = " at"  # "Expired at <date>"; "" where the date reads on its own
    your_approval: str = "Waiting for approval from you"  # the requester's own approval

    def icon(self, icon: Icon, words: str) -> str:
        return f"{self.icons[icon]} {words}"

    def bold(self, text: str) -> str:
        return f"{self.strong}{text}{self.strong}"
