"""Guardrails: ordered plain functions around the model.

Input guards run before the model sees the user's words; output guards run before an answer
leaves. Each takes text and returns a `Verdict`: the text to use, whether to block (with a
reason fit for the user), and what it found (kinds only, never the matched text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    ALLOW = "allow"
    REDACT = "redact"
    BLOCK = "block"


@dataclass(frozen=True)
class Verdict:
    text: str
    blocked: str | None = None  # a user-facing reason, when the input must not reach the model
    findings: tuple[str, ...] = ()


Guard = Callable[[str], Verdict]


@dataclass(frozen=True)
class GuardReport:
    text: str
    blocked: str | None = None
    applied: list[dict[str, object]] = field(
        default_factory=list
    )  # {guard, action, findings} per guard that acted


def run_guards(guards: Sequence[Guard], text: str) -> GuardReport:
    applied: list[dict[str, object]] = []
    for guard in guards:
        verdict = guard(text)
        name = getattr(guard, "__name__", type(guard).__name__)
        if verdict.blocked:
            applied.append({"guard": name, "action": "block", "findings": list(verdict.findings)})
            return GuardReport(text, verdict.blocked, applied)
        if verdict.findings:
            action = "redact" if verdict.text != text else "allow"
            applied.append({"guard": name, "action": action, "findings": list(verdict.findings)})
        text = verdict.text
    return GuardReport(text, None, applied)


_INJECTION = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier)\s+(?:instructions|prompts|rules)",
        r"\bdisregard\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|system)\s+(?:instructions|prompt|rules)",
        r"\b(?:reveal|print|show|repeat)\s+(?:me\s+)?(?:your|the)\s+(?:system|hidden|initial)\s+(?:prompt|instructions)",
        r"\byou\s+are\s+now\s+(?:in\s+)?(?:developer|dan|jailbreak|unrestricted)\b",
        r"\b(?:developer|god|jailbreak)\s+mode\s+(?:on|enabled|activated)\b",
        r"<\s*/?\s*(?:system|im_start|im_end)\s*>",
    )
]


def prompt_injection(text: str) -> Verdict:
    """Blocks the well-known shapes of prompt injection."""
    if any(p.search(text) for p in _INJECTION):
        return Verdict(
            text,
            "This message looks like an attempt to override the assistant's instructions, "
            "so it was not processed.",
            ("prompt_injection",),
        )
    return Verdict(text)


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PII = {
    "email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    "phone": re.compile(r"(?<![\w+])\+?\d{1,3}[ .-]?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}\b"),
    "us_ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}\b"),
}


def _redact_cards(text: str, found: list[str]) -> str:
    def swap(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            found.append("card_number")
            return "[redacted card number]"
        return m.group()

    return _CARD.sub(swap, text)


def pii(action: Action = Action.REDACT) -> Guard:
    """Finds e-mail addresses, phone numbers, card numbers, SSNs and IBANs; blocks, redacts or allows."""

    def pii_guard(text: str) -> Verdict:
        found: list[str] = []
        redacted = _redact_cards(text, found)
        for kind, pattern in _PII.items():
            redacted, n = pattern.subn(f"[redacted {kind.replace('_', ' ')}]", redacted)
            found.extend([kind] * n)
        if not found:
            return Verdict(text)
        kinds = tuple(sorted(set(found)))
        if action is Action.BLOCK:
            return Verdict(
                text,
                "This message contains personal data (" + ", ".join(kinds) + "); please remove it "
                "and send it again.",
                kinds,
            )
        return Verdict(redacted if action is Action.REDACT else text, None, kinds)

    return pii_guard


_SECRETS = {
    "openai_key": re.compile(r"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{20,}\b"),
    "slack_token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "aws_access_key": re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    "google_api_key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),
    "private_key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    "connection_string": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@/]+@[^\s]+", re.IGNORECASE),
    "bearer_token": re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{20,}", re.IGNORECASE),
}


def redact_secrets(text: str) -> Verdict:
    """Redacts API keys, tokens, private keys, connection strings with passwords and card numbers."""
    found: list[str] = []
    redacted = text
    for kind, pattern in _SECRETS.items():
        redacted, n = pattern.subn(f"[redacted {kind.replace('_', ' ')}]", redacted)
        found.extend([kind] * n)
    redacted = _redact_cards(redacted, found)
    return Verdict(redacted, None, tuple(sorted(set(found))))


DEFAULT_INPUT_GUARDS: tuple[Guard, ...] = (prompt_injection, pii(Action.REDACT))
DEFAULT_OUTPUT_GUARDS: tuple[Guard, ...] = (redact_secrets,)
