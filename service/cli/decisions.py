"""The CLI's decision commands: list approvals, approve or deny, answer a question, reconcile,
and read the audit log. A decision resumes its run, so these commands start the workers and
report where the run got to."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from core.governance.desk import refusal
from core.records import Approval, AuditQuery, Principal, Question, Run
from service.cli.commands import exit_code, outcome_json, outcome_text, principal, service, waiting_for
from service.cli.render import approval_json, approval_text, audit_json, audit_text, dumps, question_json
from service.composition import Service


def instant(text: str) -> float:
    """An argparse type: ISO-8601 (UTC when it names no zone) or epoch seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither an ISO-8601 time nor epoch seconds") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def count(text: str) -> int:
    """An argparse type: a positive whole number."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def may_decide(svc: Service, who: Principal, approval: Approval) -> bool:
    """Whether `who` may approve it now (as the REST API's `may_decide`)."""
    open_ = approval.status == "pending" and approval.expires_at > svc.store.clock.now()
    return open_ and refusal(who, approval, approve=True) is None


async def approvals(args: argparse.Namespace) -> int:
    async with service() as svc:
        who = await principal(svc)
        found = await svc.runtime.approvals(who, status=None if args.all else "pending")
        marks = [may_decide(svc, who, a) for a in found]
    if args.json:
        print(dumps([approval_json(a, may_decide=m) for a, m in zip(found, marks, strict=True)]))
    elif not found:
        print("no approvals" if args.all else "no approvals are waiting")
    else:
        print("\n".join(approval_text(a, may_decide=m) for a, m in zip(found, marks, strict=True)))
    return 0


async def approve(args: argparse.Namespace) -> int:
    return await _decide(args, approve=True, reason=None)


async def deny(args: argparse.Namespace) -> int:
    return await _decide(args, approve=False, reason=args.reason)


async def _decide(args: argparse.Namespace, *, approve: bool, reason: str | None) -> int:
    async with service(start=True) as svc:
        who = await principal(svc)
        approval = await svc.runtime.decide(who, args.approval_id, approve=approve, reason=reason)
        run, waiting = await _follow(svc, who, approval.run_id, args.timeout)
    decided = {"approval": approval_json(approval, may_decide=False)}
    return _report(args, decided, f"{approval.status} {approval.id}: {approval.tool}", run, waiting)


async def answer(args: argparse.Namespace) -> int:
    async with service(start=True) as svc:
        who = await principal(svc)
        question = await svc.runtime.answer(who, args.question_id, " ".join(args.option))
        run, waiting = await _follow(svc, who, question.run_id, args.timeout)
    head = f"answered {question.id}: {question.answer}"
    return _report(args, {"question": question_json(question)}, head, run, waiting)


async def reconcile(args: argparse.Namespace) -> int:
    async with service(start=True) as svc:
        who = await principal(svc)
        reconciled = await svc.runtime.reconcile(who, args.run_id, args.choice, args.note)
        run, waiting = await _follow(svc, who, reconciled.id, args.timeout)
    return _report(args, {}, f"reconciled {run.id}: {args.choice}", run, waiting)


async def _follow(
    svc: Service, who: Principal, run_id: str, timeout: float
) -> tuple[Run, Approval | Question | None]:
    """Wait, briefly, while the resumed run works; then find what it waits for, if anything."""
    run = await svc.runtime.wait(who, run_id, timeout)
    return run, await waiting_for(svc.store, run)


def _report(
    args: argparse.Namespace,
    decided: dict[str, Any],
    head: str,
    run: Run,
    waiting: Approval | Question | None,
) -> int:
    if args.json:
        print(dumps({**decided, "run": outcome_json(run, waiting)}))
    else:
        print(f"{head}\n{outcome_text(run, waiting)}")
    return exit_code(run.status)


async def audit(args: argparse.Namespace) -> int:
    query = AuditQuery(
        run_id=args.run,
        actor_user_id=args.user,
        tool=args.tool,
        since=args.since,
        until=args.until,
        limit=args.limit,
    )
    async with service() as svc:
        entries = await svc.runtime.audit(await principal(svc), query)
    if args.json:
        print(dumps([audit_json(e) for e in entries]))
    else:
        print(audit_text(entries) or "no audit entries")
    return 0
