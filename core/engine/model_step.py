"""A model step: one chat completion, turned into tool proposals or the final answer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypedDict

from core.bots import Bot
from core.engine.context import ContextAssembler
from core.engine.guarding import guard_input, guard_output, redact_history
from core.engine.outcomes import failed, tool_error
from core.engine.state import AgentState, PendingCall, StepContext
from core.errors import ModelError, ToolArgumentsInvalid
from core.events import EventType
from core.lifecycle import RunStatus
from core.model.port import DeltaSink, ModelClient, ModelReply, ModelRequest, ToolCall
from core.records import NewEvent, Run
from core.steps import AuditNote, StepOutcome
from core.tools.arguments import parse_arguments
from core.tools.knowledge import cited
from core.tools.registry import ToolRegistry


class _Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class ModelStep:
    def __init__(self, model: ModelClient, max_steps: int, context: ContextAssembler | None = None) -> None:
        self._model = model
        self._max_steps = max_steps
        self._context = context

    async def run(
        self,
        run: Run,
        bot: Bot,
        tools: ToolRegistry,
        state: AgentState,
        ctx: StepContext,
        on_delta: DeltaSink | None = None,
    ) -> StepOutcome:
        if state.model_steps >= self._max_steps:
            return failed(
                state, "step_limit", f"the agent made {state.model_steps} model calls without finishing"
            )
        guarded = guard_input(bot, state, ctx)
        if isinstance(guarded, StepOutcome):
            return guarded
        state, guard_events, guard_audit = guarded
        state, context_events = await self._with_context(run, state)
        guard_events = [*guard_events, *context_events]
        request = ModelRequest(
            models=bot.models,
            messages=[
                {"role": "system", "content": bot.instructions},
                *redact_history(bot, ctx.history),
                *state.messages,
            ],
            tools=tools.openai_schemas(),
            tenant_id=run.tenant_id,
        )
        called = NewEvent(EventType.MODEL_CALLED, {"step": ctx.step, "models": list(bot.models)})
        try:
            reply = await self._model.complete(request, on_delta)
        except ModelError as exc:
            return failed(state, exc.code, exc.message, events=[*guard_events, called])
        usage: _Usage = {
            "prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens,
            "cost_usd": reply.cost_usd,
        }
        # Output guards run on every text the model produced: events are served to clients too.
        content, out_events, out_audit = guard_output(bot, reply.content or "", ctx)
        reply = replace(reply, content=content if reply.content is not None else None)
        events = [*guard_events, called, _responded(ctx.step, reply)]
        state = replace(state, model_steps=state.model_steps + 1)
        if not reply.tool_calls:
            answer = content
            return StepOutcome(
                status=RunStatus.COMPLETED,
                state=state.with_messages({"role": "assistant", "content": answer}).to_json(),
                events=[*events, *out_events, NewEvent(EventType.RUN_COMPLETED, _completed(state, answer))],
                answer=answer,
                audit=guard_audit + out_audit,
                **usage,
            )
        state, proposals = _propose(run, tools, state, reply, ctx.step)
        audit = (
            guard_audit
            + out_audit
            + [
                AuditNote(
                    "tool.proposed",
                    e.payload["tool"],
                    run.user_id,
                    {"key": e.payload["key"], "args": e.payload["args"]},
                )
                for e in proposals
                if e.type == EventType.TOOL_CALL_PROPOSED
            ]
        )
        return StepOutcome(
            status=RunStatus.RUNNING,
            state=state.to_json(),
            events=events + out_events + proposals,
            audit=audit,
            **usage,
        )

    async def _with_context(self, run: Run, state: AgentState) -> tuple[AgentState, list[NewEvent]]:
        """The run's context, assembled on its first model call and kept in its messages (first,
        as a system message), so later calls and a rerun after a crash reuse the same words."""
        if self._context is None or (state.messages and state.messages[0].get("role") == "system"):
            return state, []
        assembled = await self._context.assemble(run)
        state = replace(state, messages=(assembled.message(), *state.messages))
        return state, [NewEvent(EventType.CONTEXT_ASSEMBLED, assembled.payload())]


def _responded(step: int, reply: ModelReply) -> NewEvent:
    return NewEvent(
        EventType.MODEL_RESPONDED,
        {
            "step": step,
            "model": reply.model,
            "content": reply.content,
            "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in reply.tool_calls],
            "prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens,
            "cost_usd": reply.cost_usd,
            "latency_ms": round(reply.latency_ms, 2),
            "attempts": reply.attempts,
            "failures": list(reply.failures),
        },
    )


def _propose(
    run: Run, tools: ToolRegistry, state: AgentState, reply: ModelReply, step: int
) -> tuple[AgentState, list[NewEvent]]:
    """Valid calls become pending; invalid ones are answered at once with a structured error
    the agent can read and correct."""
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ],
    }
    errors: list[dict[str, Any]] = []
    pending: list[PendingCall] = []
    events: list[NewEvent] = []
    for index, call in enumerate(reply.tool_calls):
        key = f"{run.id}:{step}:{index}"
        problem = _check(tools, call)
        if isinstance(problem, tuple):
            code, message = problem
            errors.append(tool_error(call.id, code, message))
            events.append(
                NewEvent(
                    EventType.TOOL_CALL_REJECTED,
                    {"key": key, "tool": call.name, "code": code, "reason": message},
                )
            )
            continue
        pending.append(PendingCall(key=key, call_id=call.id, name=call.name, args=problem))
        events.append(
            NewEvent(EventType.TOOL_CALL_PROPOSED, {"key": key, "tool": call.name, "args": problem})
        )
    state = replace(state, messages=(*state.messages, assistant, *errors), pending=(*state.pending, *pending))
    return state, events


def _check(tools: ToolRegistry, call: ToolCall) -> dict[str, Any] | tuple[str, str]:
    spec = tools.get(call.name)
    if spec is None:
        known = ", ".join(s.name for s in tools) or "none"
        return "unknown_tool", f"there is no tool named {call.name!r}; available tools: {known}"
    try:
        return parse_arguments(spec, call.arguments)
    except ToolArgumentsInvalid as exc:
        return exc.code, exc.message


def _completed(state: AgentState, answer: str) -> dict[str, Any]:
    """`RunCompleted`'s payload: the answer, and the knowledge passages it cites, so every surface
    renders its sources (channels/story/citations.py)."""
    sources = cited(state.messages, answer)
    return {"answer": answer, "citations": sources} if sources else {"answer": answer}
