"""Elicitation: the built-in tool with which the agent asks the user a structured question.

The engine never calls it: a call to `ask_user` parks the run in `waiting_input`, and the answer
comes back to the agent as this tool's result.
"""

from __future__ import annotations

from typing import Any

from core.steps import ASK_USER
from core.tools import RiskLevel, tool

MIN_OPTIONS, MAX_OPTIONS = 2, 10


@tool(name=ASK_USER, risk=RiskLevel.READ)
def ask_user(question: str, options: list[str], allow_free_text: bool = False) -> dict[str, Any]:
    """Ask the user a question with 2 to 10 options and wait for the answer.

    Args:
        question: The question, short and specific.
        options: The answers to offer, 2 to 10 of them.
        allow_free_text: Whether the user may answer in their own words instead.
    """
    raise RuntimeError("ask_user is answered by a person, never executed")  # pragma: no cover


def option_problem(args: dict[str, Any]) -> str | None:
    options = [str(o).strip() for o in args.get("options", [])]
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        return f"ask_user needs {MIN_OPTIONS} to {MAX_OPTIONS} options, got {len(options)}"
    if len(set(o.lower() for o in options)) != len(options) or not all(options):
        return "ask_user options must be distinct and non-empty"
    return None
