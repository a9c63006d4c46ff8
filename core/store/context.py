"""The context store: one object that holds the database and its per-concept stores."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from core.clock import Clock, SystemClock
from core.outbound import Renderers
from core.store.admission import AdmissionStore
from core.store.audit import AuditStore
from core.store.conversations import ConversationStore
from core.store.database import Database
from core.store.decisions import DecisionStore
from core.store.demo_metrics import DemoMetrics
from core.store.directory import Directory
from core.store.outbox import OutboxStore
from core.store.policies import PolicyStore
from core.store.runs import RunStore
from core.store.schedules import ScheduleStore
from core.store.steps import StepStore


@dataclass(frozen=True)
class ContextStore:
    db: Database
    clock: Clock
    directory: Directory
    runs: RunStore
    steps: StepStore
    outbox: OutboxStore
    audit: AuditStore
    decisions: DecisionStore
    policies: PolicyStore
    schedules: ScheduleStore
    admission: AdmissionStore
    conversations: ConversationStore
    demo_metrics: DemoMetrics

    @classmethod
    def open(cls, url: str, clock: Clock | None = None, renderers: Renderers | None = None) -> ContextStore:
        """`renderers` turn run events into outbox items per surface, inside the same transaction."""
        clock = clock or SystemClock()
        db = Database(url)
        return cls(
            db=db,
            clock=clock,
            directory=Directory(db, clock),
            runs=RunStore(db, clock, renderers),
            steps=StepStore(db, clock, renderers),
            outbox=OutboxStore(db, clock),
            audit=AuditStore(db, clock),
            decisions=DecisionStore(db, clock, renderers),
            policies=PolicyStore(db, clock),
            schedules=ScheduleStore(db, clock),
            admission=AdmissionStore(db),
            conversations=ConversationStore(db, clock),
            demo_metrics=DemoMetrics(db),
        )

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for migrations and tests that look at rows directly."""
        return self.db.engine

    async def close(self) -> None:
        await self.db.close()
