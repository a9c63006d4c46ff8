"""The ops bot's schedule tools: the built-in ones (create, list, pause, resume, delete)."""

from core.tools.builtin.schedules import SCHEDULE_TOOLS

__all__ = ["SCHEDULE_TOOLS"]
