"""A bot whose offline model says back whatever it was told: model output a test fully controls,
e.g. markup that a surface must render inert."""

from __future__ import annotations

from pathlib import Path

from core.bots import Bot

bot = Bot(
    name="echo",
    description="Says back what it is told (a test bot).",
    instructions="ECHO-BOT: repeat the user's message exactly.",
    model="echo-model",
    demo_script=Path(__file__).parent / "echo_script.yaml",
    elicitation=False,
)
