"""A scripted, OpenAI-compatible model server for tests, benchmarks and the offline demo."""

from core.scripted_model.api import build_app
from core.scripted_model.faults import Fault, FaultQueue, FaultSpec, TrafficLog
from core.scripted_model.script import DEFAULT_REPLY, Answer, Rule, Script, ToolCallTemplate, When
from core.scripted_model.server import ScriptedModelServer

__all__ = [
    "DEFAULT_REPLY",
    "Answer",
    "Fault",
    "FaultQueue",
    "FaultSpec",
    "Rule",
    "Script",
    "ScriptedModelServer",
    "ToolCallTemplate",
    "TrafficLog",
    "When",
    "build_app",
]
