"""What a model reply cost: USD per million tokens, defaults merged with settings overrides."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from core.model.port import Usage
from core.settings import Price

_DATED_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Rate:
    prompt: float  # USD per million prompt tokens
    completion: float  # USD per million completion tokens


FREE = Rate(0.0, 0.0)

# Public list prices when this was written; deployments override them in `ModelSettings.prices`.
DEFAULT_RATES: Mapping[str, Rate] = MappingProxyType(
    {
        "gpt-4o": Rate(2.50, 10.00),
        "gpt-4o-mini": Rate(0.15, 0.60),
        "gpt-4.1": Rate(2.00, 8.00),
        "gpt-4.1-mini": Rate(0.40, 1.60),
        "gpt-4.1-nano": Rate(0.10, 0.40),
        "o3-mini": Rate(1.10, 4.40),
        "scripted": FREE,
        "demo": FREE,
    }
)


class PriceTable:
    def __init__(self, rates: Mapping[str, Rate] = DEFAULT_RATES) -> None:
        self._rates = dict(rates)

    @classmethod
    def with_overrides(cls, prices: Mapping[str, Price]) -> PriceTable:
        overrides = {name: Rate(price.prompt, price.completion) for name, price in prices.items()}
        return cls({**DEFAULT_RATES, **overrides})

    def rate(self, model: str) -> Rate | None:
        """The exact name first, then the name without a dated-snapshot suffix (`gpt-4o-2024-08-06`)."""
        exact = self._rates.get(model)
        return exact if exact is not None else self._rates.get(_DATED_SNAPSHOT.sub("", model))

    def cost_usd(self, model: str, usage: Usage) -> float:
        rate = self.rate(model) or FREE
        return (usage.prompt_tokens * rate.prompt + usage.completion_tokens * rate.completion) / 1_000_000
