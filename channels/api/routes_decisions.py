"""The decision endpoints: approve or deny a tool call, answer a question, reconcile a side effect
whose outcome is unknown, and read the audit log. Each handler authenticates, translates HTTP
into one `Runtime` call, and renders the result; the desk in core decides who may do what.

A decision finds its item through the same scoped lookup as a read, before the desk sees it: what
a caller may not see (a colleague's approval, question or run) is a 404 whatever the verb, the
answer an unknown id gets, so ids cannot be probed by acting on them. What they may see but not
decide (their own admin-tier request, a user-tier call for an admin) is the desk's 403."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.api.auth import authenticate
from channels.api.body import read_json, validate_query
from channels.api.errors import json_response
from channels.api.routes_runs import full_run_view
from channels.api.schemas import (
    AnswerBody,
    ApprovalList,
    ApprovalsQuery,
    ApprovalView,
    AuditList,
    AuditParams,
    DecisionBody,
    ReconcileBody,
    approval_view,
    audit_entry_view,
    question_view,
)
from core.governance.desk import refusal
from core.records import Approval, AuditQuery, Principal
from core.runtime import Runtime


class DecisionEndpoints:
    def __init__(self, runtime: Runtime, *, max_body_bytes: int) -> None:
        self._runtime = runtime
        self._max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/v1/approvals", self.list_approvals, methods=["GET"], name="approvals"),
            Route("/v1/approvals/{approval_id}", self.approval, methods=["GET", "POST"], name="approval"),
            Route("/v1/questions/{question_id}", self.question, methods=["GET", "POST"], name="question"),
            Route("/v1/runs/{run_id}/reconcile", self.reconcile, methods=["POST"], name="reconcile_run"),
            Route("/v1/audit", self.audit, methods=["GET"], name="audit"),
        ]

    async def list_approvals(self, request: Request) -> Response:
        who = await self._who(request)
        query = validate_query(ApprovalsQuery, request.query_params)
        status = None if query.status == "all" else query.status
        found = await self._runtime.approvals(who, status=status, limit=query.limit)
        return json_response(ApprovalList(approvals=[self._approval(who, a) for a in found]))

    async def approval(self, request: Request) -> Response:
        who = await self._who(request)
        approval_id = request.path_params["approval_id"]
        if request.method == "GET":
            return json_response(self._approval(who, await self._runtime.approval(who, approval_id)))
        body = await read_json(request, DecisionBody, self._max_body_bytes)
        await self._runtime.approval(who, approval_id)
        decided = await self._runtime.decide(
            who, approval_id, approve=body.decision == "approve", reason=body.reason
        )
        return json_response(self._approval(who, decided))

    async def question(self, request: Request) -> Response:
        who = await self._who(request)
        question_id = request.path_params["question_id"]
        if request.method == "GET":
            return json_response(question_view(await self._runtime.question(who, question_id)))
        body = await read_json(request, AnswerBody, self._max_body_bytes)
        await self._runtime.question(who, question_id)
        return json_response(question_view(await self._runtime.answer(who, question_id, body.answer)))

    async def reconcile(self, request: Request) -> Response:
        who = await self._who(request)
        run_id = request.path_params["run_id"]
        body = await read_json(request, ReconcileBody, self._max_body_bytes)
        await self._runtime.run(who, run_id)
        run = await self._runtime.reconcile(who, run_id, body.decision, body.note)
        return json_response(await full_run_view(self._runtime, request, run))

    async def audit(self, request: Request) -> Response:
        who = await self._who(request)
        params = validate_query(AuditParams, request.query_params)
        query = AuditQuery(
            run_id=params.run_id,
            actor_user_id=params.user_id,
            tool=params.tool,
            since=params.since,
            until=params.until,
            limit=params.limit,
        )
        entries = await self._runtime.audit(who, query)
        if not entries and params.run_id is not None:
            await self._runtime.run(who, params.run_id)  # an unknown run is a 404, not an empty log
        return json_response(AuditList(entries=[audit_entry_view(e) for e in entries]))

    async def _who(self, request: Request) -> Principal:
        return await authenticate(request, self._runtime)

    def _approval(self, who: Principal, approval: Approval) -> ApprovalView:
        """`may_decide`: whether the caller may approve it now (deciding it later may still fail)."""
        open_ = approval.status == "pending" and approval.expires_at > self._runtime.now()
        return approval_view(approval, may_decide=open_ and refusal(who, approval, approve=True) is None)
