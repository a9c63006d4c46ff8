"""Tools: typed Python functions the agent may call, each with a risk level."""

from core.tiers import RiskLevel
from core.tools.arguments import args_hash, canonical_json, parse_arguments
from core.tools.invoke import ToolRetryable, invoke_tool
from core.tools.registry import ToolRegistry
from core.tools.spec import RetryPolicy, ToolContext, ToolSpec, tool

__all__ = [
    "RetryPolicy",
    "RiskLevel",
    "ToolContext",
    "ToolRegistry",
    "ToolRetryable",
    "ToolSpec",
    "args_hash",
    "canonical_json",
    "invoke_tool",
    "parse_arguments",
    "tool",
]
