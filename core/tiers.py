"""Risk levels and approval tiers, the governance vocabulary at the bottom of `core`: a tool
declares its risk; its tier is derived from it, raised (never lowered) by the bot and by the
tenant's policy rules."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RiskLevel(StrEnum):
    READ = "read"
    WRITE = "write"
    EXTERNAL = "external_side_effect"
    HIGH = "high_risk"

    @property
    def rank(self) -> int:
        return list(RiskLevel).index(self)

    # str's own ordering would compare the values alphabetically ("high_risk" < "read").
    def __lt__(self, other: object) -> bool:
        return self.rank < other.rank if isinstance(other, RiskLevel) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= other.rank if isinstance(other, RiskLevel) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > other.rank if isinstance(other, RiskLevel) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= other.rank if isinstance(other, RiskLevel) else NotImplemented


class Tier(StrEnum):
    AUTO = "auto"  # runs without asking
    USER = "user"  # the requesting user approves
    ADMIN = "admin"  # an admin other than the requester approves

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Tier.AUTO: 0, Tier.USER: 1, Tier.ADMIN: 2}

FLOOR: Mapping[RiskLevel, Tier] = {
    RiskLevel.READ: Tier.AUTO,
    RiskLevel.WRITE: Tier.USER,
    RiskLevel.EXTERNAL: Tier.USER,
    RiskLevel.HIGH: Tier.ADMIN,
}

_OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def highest(tiers: Iterable[Tier]) -> Tier:
    return max(tiers, key=lambda t: t.rank, default=Tier.AUTO)


@dataclass(frozen=True)
class PolicyRule:
    """A tenant's rule: `tool` needs at least `tier` when `arg op value` holds (always, without a condition)."""

    tool: str
    tier: Tier
    condition: Mapping[str, Any] = field(default_factory=dict)  # {"arg": "amount", "op": ">", "value": 100}

    def applies(self, tool: str, args: Mapping[str, Any]) -> bool:
        if tool != self.tool:
            return False
        if not self.condition:
            return True
        value = args.get(self.condition["arg"])
        if value is None:
            return True  # the argument was left out: the rule cannot be shown not to apply
        try:
            return bool(_OPS[self.condition["op"]](value, self.condition["value"]))
        except TypeError:
            return True  # a comparison that makes no sense for these arguments: stay on the safe side


def validate_condition(condition: Mapping[str, Any]) -> None:
    if not condition:
        return
    if set(condition) != {"arg", "op", "value"} or condition["op"] not in _OPS:
        raise ValueError(f"a condition is {{arg, op, value}} with op one of {', '.join(_OPS)}")


def required_tier(
    risk: RiskLevel,
    tool: str,
    args: Mapping[str, Any],
    *,
    bot_tier: Tier | None = None,
    rules: Iterable[PolicyRule] = (),
) -> Tier:
    return highest([FLOOR[risk], bot_tier or Tier.AUTO, *(r.tier for r in rules if r.applies(tool, args))])


def check_bot_tier(risk: RiskLevel, tool: str, tier: Tier) -> None:
    """A bot may raise a tool's tier, never lower it below the tool's floor."""
    if tier.rank < FLOOR[risk].rank:
        raise ValueError(
            f"{tool} is {risk.value}: its approval tier cannot be lowered to {tier.value} "
            f"(floor {FLOOR[risk].value})"
        )
