"""One setting chooses the model for every bot, with per-bot overrides; nothing in code changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.bots import Bot, BotRegistry
from core.scripted_model import ScriptedModelServer
from core.settings import ModelSettings, Settings
from service.composition import build_service


def registry() -> BotRegistry:
    return BotRegistry([Bot("support", "help"), Bot("ops", "watch", fallback_models=("backup",))])


def test_the_default_model_applies_to_every_bot_and_overrides_win() -> None:
    bots = registry().with_models("gpt-4o-mini", {"ops": "llama3.1:8b"})
    assert bots.get("support").models == ("gpt-4o-mini",)
    assert bots.get("ops").models == ("llama3.1:8b", "backup")


def test_without_a_setting_the_declared_models_stay() -> None:
    assert registry().with_models(None, {}).get("support").model == Bot("x", "y").model


def test_an_override_for_an_unknown_bot_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="opps"):
        registry().with_models(None, {"opps": "m"})


def test_settings_read_the_model_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_MODEL__NAME", "qwen2.5")
    monkeypatch.setenv("SWITCHBOARD_MODEL__BOTS", '{"ops": "gpt-4o"}')
    model = Settings().model
    assert (model.name, model.bots) == ("qwen2.5", {"ops": "gpt-4o"})


async def test_the_service_sends_the_configured_model(tmp_path: Path) -> None:
    with ScriptedModelServer() as server:
        model = ModelSettings(base_url=server.base_url, name="my-model", bots={"ops": "ops-model"})
        svc = await build_service(Settings(database_url=f"sqlite:///{tmp_path}/s.db", model=model))
        try:
            assert svc.runtime.bots.get("support").model == "my-model"
            assert svc.runtime.bots.get("ops").model == "ops-model"
        finally:
            await svc.stop()


async def test_the_offline_demo_keeps_its_own_model(tmp_path: Path) -> None:
    svc = await build_service(
        Settings(database_url=f"sqlite:///{tmp_path}/s.db", model=ModelSettings(name="gpt-4o"))
    )
    try:
        assert svc.offline and svc.runtime.bots.get("support").model == "switchboard-demo"
    finally:
        await svc.stop()
