"""The stateless step worker: advance a run by its steps, then hand it back to the queue.

1. take the run's lease (a conditional UPDATE; a second worker gets nothing and drops the job)
2. load the latest checkpoint
3. do one unit of work: one model call or one tool call
4. commit events, checkpoint and step in one transaction, fenced by the lease
5. while the run goes on running, that commit keeps the lease (the design's "release or extend")
   and reads the next step's inputs, and 3–4 repeat, up to `steps_per_lease` steps; then the
   lease is given back and the next step is enqueued, only after that commit

Keeping the lease saves, per step, a lease transaction and the re-read of the checkpoint just
written: a run of three steps costs four transactions instead of six (and, on Celery, one
delivery instead of three). A crash between steps is recovered exactly as before, from the last
commit, once the kept lease expires.

A stopping worker (its task cancelled: Ctrl-C, SIGTERM, a queue's `stop()`) gives the lease of the
step in hand back before it goes, so the sweeper of this or another process retries the step at
once instead of after the lease. Nothing the step did is lost or done twice: its model call is
simply asked again, and a tool call it had started is in the idempotency ledger.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core import metrics
from core.bots import BotRegistry
from core.engine.context import ContextAssembler
from core.engine.failpoints import Failpoints
from core.engine.gate import Gate, GateOptions
from core.engine.model_step import ModelStep
from core.engine.notifier import RunNotifier
from core.engine.outcomes import failed
from core.engine.state import AgentState, StepContext
from core.engine.tool_step import ToolStep
from core.errors import StaleLease, StoreUnavailable, UnknownBot
from core.ids import new_id
from core.lifecycle import ACTIVE
from core.model.port import Message, ModelClient
from core.ports import WorkerStore
from core.records import ChatMessage
from core.resilience.breaker import BreakerOptions
from core.resilience.tools import GuardedTools
from core.schedules import ScheduleBook
from core.steps import Committed, Lease, StepInputs, StepOutcome

log = logging.getLogger(__name__)

Enqueue = Callable[[str], Awaitable[None]]
_GIVE_BACK_S = 5.0  # how long a stopping worker waits for the store to take its lease back


@dataclass(frozen=True)
class WorkerOptions:
    lease_s: float = 30.0
    max_attempts: int = 5  # lease takeovers without progress before a run is dead-lettered
    history_messages: int = 20
    max_steps: int = 40
    steps_per_lease: int = 8  # steps of one run taken in a row before it queues again behind others
    gate: GateOptions = GateOptions()
    tool_breaker: BreakerOptions = BreakerOptions()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"


class StepWorker:
    def __init__(
        self,
        store: WorkerStore,
        bots: BotRegistry,
        model: ModelClient,
        options: WorkerOptions,
        *,
        failpoints: Failpoints | None = None,
        notifier: RunNotifier | None = None,
        name: str | None = None,
        context: ContextAssembler | None = None,
    ) -> None:
        self._store = store
        self._bots = bots
        self._options = options
        self._failpoints = failpoints or Failpoints()
        self._notifier = notifier or RunNotifier()
        self._model_step = ModelStep(model, options.max_steps, context)
        self._tool_step = ToolStep(
            store.steps,
            Gate(store.clock, options.gate),
            self._failpoints,
            GuardedTools(options.tool_breaker),
            ScheduleBook(store),  # the schedule tools' narrow port (core/ports.py)
        )
        self.name = name or worker_name()

    async def advance(self, run_id: str, enqueue: Enqueue) -> Committed | None:
        """The run's next steps, under one lease. Returns the last commit, or None when there was
        nothing to do or a step did not commit."""
        opts = self._options
        started = time.perf_counter()
        acquired = await self._store.steps.acquire(
            run_id, self.name, opts.lease_s, opts.max_attempts, opts.history_messages
        )
        if acquired.next_in_session:
            await enqueue(acquired.next_in_session)
        if acquired.lease is None or acquired.inputs is None:
            if acquired.refusal is not None and acquired.refusal.value == "dead_lettered":
                self._notifier.notify(run_id)
            metrics.STEP_SECONDS.labels("skipped").observe(time.perf_counter() - started)
            return None
        lease = acquired.lease
        heartbeat = asyncio.create_task(self._heartbeat(lease))  # a kept lease keeps its fence
        try:
            committed = await self._steps(lease, acquired.inputs, started)
        except _StepFailed as failure:
            metrics.STEP_SECONDS.labels("error").observe(time.perf_counter() - failure.started)
            await self._dropped(failure)
            return None
        finally:
            heartbeat.cancel()
        if committed.run.status in ACTIVE:
            await enqueue(run_id)
        for other in (committed.next_in_session, *committed.woken):
            if other:
                await enqueue(other)
        return committed

    async def _steps(self, lease: Lease, inputs: StepInputs, started: float) -> Committed:
        """Steps while the run goes on running, each committed; the last commit gives the lease back."""
        for left in range(max(1, self._options.steps_per_lease), 0, -1):
            keep_s = self._options.lease_s if left > 1 else None
            try:
                outcome, committed = await self._step_and_commit(lease, inputs, keep_s)
            except asyncio.CancelledError:
                await self._give_back(lease)
                raise
            except Exception as exc:
                raise _StepFailed(lease, exc, started) from exc
            metrics.STEP_SECONDS.labels("committed").observe(time.perf_counter() - started)
            self._notifier.notify(lease.run.id)
            if committed.kept is None:
                return committed
            lease, started = committed.kept, time.perf_counter()
            inputs = StepInputs(outcome.state, None, inputs.history, committed.call)
        raise AssertionError("the last step under a lease gives it back")  # pragma: no cover

    async def _step_and_commit(
        self, lease: Lease, inputs: StepInputs, keep_s: float | None
    ) -> tuple[StepOutcome, Committed]:
        self._failpoints.hit("step_start")
        outcome = await self._step(lease, inputs)
        self._failpoints.hit("before_commit")
        committed = await self._store.steps.commit(lease, outcome, keep_s)
        self._failpoints.hit("after_commit")
        return outcome, committed

    async def _give_back(self, lease: Lease) -> None:
        """Let the lease lapse now, shielded from a second cancellation and bounded in time: the
        worker is stopping. Should it fail, the lease simply runs out as after a crash."""
        run_id = lease.run.id
        try:
            await asyncio.wait_for(asyncio.shield(self._store.steps.abandon(lease)), _GIVE_BACK_S)
        except (StoreUnavailable, TimeoutError, asyncio.CancelledError):
            log.warning("stopping: could not give the lease back; it will expire", extra={"run_id": run_id})
        else:
            log.info("stopping: gave the lease back mid-step", extra={"run_id": run_id})

    async def _dropped(self, failure: _StepFailed) -> None:
        run_id = failure.lease.run.id
        if isinstance(failure.error, StaleLease):
            log.warning("lost the lease before commit; dropping the step", extra={"run_id": run_id})
        elif isinstance(failure.error, StoreUnavailable):
            log.warning("store unavailable during a step; the sweeper will retry", extra={"run_id": run_id})
        else:
            log.error(
                "step crashed; releasing the lease for a retry",
                exc_info=failure.error,
                extra={"run_id": run_id},
            )
            await self._store.steps.abandon(failure.lease)

    async def _step(self, lease: Lease, inputs: StepInputs) -> StepOutcome:
        run = lease.run
        state = _state(inputs)
        ctx = StepContext(step=run.step + 1)
        try:
            bot = self._bots.get(run.bot)
        except UnknownBot as exc:
            return failed(state, exc.code, exc.message)
        tools = self._bots.tools(run.bot)
        if state.pending:
            assert inputs.call is not None, "the store reads the gate's inputs for every tool step"
            return await self._tool_step.run(
                lease, bot, tools.get(state.pending[0].name), inputs.call, state, ctx
            )
        history = [_message(m) for m in inputs.history]
        # The model's text streams to this process's readers of the run, if any (core/engine/notifier.py).
        on_delta = self._notifier.sink(run.id, ctx.step)
        step_ctx = StepContext(step=ctx.step, history=history)
        return await self._model_step.run(run, bot, tools, state, step_ctx, on_delta)

    async def _heartbeat(self, lease: Lease) -> None:
        interval = self._options.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self._store.steps.heartbeat(lease, self._options.lease_s):
                    log.warning(
                        "lease lost; the step's writes will be rejected", extra={"run_id": lease.run.id}
                    )
                    return
            except StoreUnavailable:
                log.warning("heartbeat failed: store unavailable", extra={"run_id": lease.run.id})


class _StepFailed(Exception):
    """A step that did not commit, with the lease it held."""

    def __init__(self, lease: Lease, error: Exception, started: float) -> None:
        super().__init__(str(error))
        self.lease, self.error, self.started = lease, error, started


def _state(inputs: StepInputs) -> AgentState:
    if inputs.checkpoint is not None:
        return AgentState.from_json(inputs.checkpoint)
    assert inputs.opening is not None, "a run without a checkpoint has its opening message"
    return AgentState(messages=(_message(inputs.opening),))


def _message(m: ChatMessage) -> Message:
    return _user_message(m.content, m.user_id) if m.role == "user" else {"role": m.role, "content": m.content}


def _user_message(content: str, user_id: str | None) -> Message:
    """Several people may talk in one thread: the model sees who said what."""
    message: Message = {"role": "user", "content": content}
    if user_id:
        message["name"] = user_id
    return message
