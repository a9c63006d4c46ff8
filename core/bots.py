"""Bot declarations and the registry that loads them from import paths named in settings."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.errors import UnknownBot
from core.governance.ask import ask_user
from core.governance.guardrails import DEFAULT_INPUT_GUARDS, DEFAULT_OUTPUT_GUARDS, Guard
from core.tiers import Tier, check_bot_tier
from core.tools.registry import ToolRegistry
from core.tools.spec import ToolSpec

DEMO_MODEL = "switchboard-demo"  # the offline demo model's name; a real endpoint needs its own


@dataclass(frozen=True)
class Bot:
    name: str
    instructions: str
    model: str = DEMO_MODEL
    fallback_models: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    description: str = ""
    demo_script: Path | None = None  # the scripted model's rules for the offline demo
    tool_tiers: Mapping[str, Tier] = field(default_factory=dict)  # raise a tool's approval tier
    input_guards: tuple[Guard, ...] = DEFAULT_INPUT_GUARDS
    output_guards: tuple[Guard, ...] = DEFAULT_OUTPUT_GUARDS
    elicitation: bool = True  # offer the built-in ask_user tool
    # What a scheduled digest of this bot is given besides its prompt: names of the scheduler's
    # digest sources, e.g. ("activity", "alerts").
    digest_context: tuple[str, ...] = ()

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model, *self.fallback_models)

    def tool_registry(self) -> ToolRegistry:
        specs = {s.name: s for s in self.tools}
        for name, tier in self.tool_tiers.items():
            if name not in specs:
                raise ValueError(f"bot {self.name} sets a tier for {name!r}, which is not one of its tools")
            check_bot_tier(specs[name].risk, name, tier)
        return ToolRegistry((*self.tools, ask_user) if self.elicitation else self.tools)


class BotRegistry:
    def __init__(self, bots: Iterable[Bot]) -> None:
        self._bots: dict[str, Bot] = {}
        self._tools: dict[str, ToolRegistry] = {}
        for bot in bots:
            if bot.name in self._bots:
                raise ValueError(f"two bots are named {bot.name!r}")
            self._bots[bot.name] = bot
            self._tools[bot.name] = bot.tool_registry()

    @classmethod
    def load(cls, paths: Iterable[str]) -> BotRegistry:
        """Each path is "package.module:attribute" naming a `Bot`."""
        bots = []
        for path in paths:
            module_name, _, attr = path.partition(":")
            bot = getattr(importlib.import_module(module_name), attr or "bot")
            if not isinstance(bot, Bot):
                raise TypeError(f"{path} is not a Bot")
            bots.append(bot)
        return cls(bots)

    def with_models(self, default: str | None, per_bot: Mapping[str, str]) -> BotRegistry:
        """The same bots answering on the models chosen in settings: `per_bot` wins over `default`,
        which wins over what a bot declares. Fallback models stay as declared."""
        unknown = sorted(set(per_bot) - set(self._bots))
        if unknown:
            raise ValueError(
                f"a model is set for {', '.join(map(repr, unknown))}, which is not a bot; "
                f"known: {', '.join(sorted(self._bots))}"
            )
        chosen = []
        for bot in self:
            model = per_bot.get(bot.name, default)
            chosen.append(replace(bot, model=model) if model else bot)
        return BotRegistry(chosen)

    def get(self, name: str) -> Bot:
        try:
            return self._bots[name]
        except KeyError:
            raise UnknownBot(f"no bot named {name!r}; known: {', '.join(sorted(self._bots))}") from None

    def tools(self, name: str) -> ToolRegistry:
        self.get(name)
        return self._tools[name]

    def __iter__(self) -> Iterator[Bot]:
        return iter(self._bots.values())

    def __contains__(self, name: object) -> bool:
        return name in self._bots
