"""The scripted model server, shared by the scripted-model and model-gateway tests.

One server per test module (starting and stopping costs ~0.2 s); every test gets it reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from core.scripted_model import Script, ScriptedModelServer

TEST_SCRIPT_YAML = r"""
models: [scripted, scripted-backup]
rules:
  - name: weather lookup
    when: {user: 'weather in (?P<city>\w+)', no_tool_result_since_user: true}
    reply:
      content: Let me check.
      tool_calls:
        - name: get_weather
          arguments: {city: '{user_match[city]}', days: 1, note: 'asked: {last_user}'}
  - name: silent lookup
    when: {user: 'look up (\w+)', no_tool_result_since_user: true}
    reply:
      tool_calls: [{name: get_weather, arguments: {city: '{user_match[1]}'}}]
  - name: weather report
    when: {after_tool: get_weather, tool_result: '"temp_c"'}
    reply: 'It is {result[temp_c]} °C in {result[city]}.'
  - when: {system: pirate, user: '\bhi\b'}
    reply: Arr!
  - when: {user: 'hello|greetings'}
    reply: 'Hello there! You said: {last_user}'
  - when: {user: 'broken template'}
    reply: 'Value: {result[nope]}'
  - when: {user: 'slow please'}
    reply: Sorry for the wait.
    latency_ms: 150
"""

WEATHER_TOOL: Any = {  # Any: the SDK wants its TypedDicts, tests write plain dicts
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def scripted_model_script() -> Script:
    return Script.from_dict(yaml.safe_load(TEST_SCRIPT_YAML))


@pytest.fixture(scope="module")
def running_scripted_server(scripted_model_script: Script) -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(scripted_model_script) as server:
        yield server


@pytest.fixture
def scripted_server(running_scripted_server: ScriptedModelServer) -> Iterator[ScriptedModelServer]:
    running_scripted_server.reset()
    yield running_scripted_server
    running_scripted_server.reset()
