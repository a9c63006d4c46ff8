"""Run event types. Every state change appends one of these in the same transaction."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    RUN_CREATED = "RunCreated"
    RUN_STARTED = "RunStarted"
    MODEL_CALLED = "ModelCalled"
    MODEL_RESPONDED = "ModelResponded"
    TOOL_CALL_PROPOSED = "ToolCallProposed"
    TOOL_CALL_REJECTED = "ToolCallRejected"
    TOOL_CALL_STARTED = "ToolCallStarted"
    TOOL_CALL_SUCCEEDED = "ToolCallSucceeded"
    TOOL_CALL_FAILED = "ToolCallFailed"
    TOOL_CALL_REPLAYED = "ToolCallReplayed"
    TOOL_CALL_OUTCOME_UNKNOWN = "ToolCallOutcomeUnknown"
    CHECKPOINT_WRITTEN = "CheckpointWritten"
    RUN_COMPLETED = "RunCompleted"
    RUN_FAILED = "RunFailed"
    RUN_CANCELLED = "RunCancelled"
    RUN_RESUMED = "RunResumed"
    RUN_NEEDS_RECONCILIATION = "RunNeedsReconciliation"
    LEASE_RECOVERED = "LeaseRecovered"
    APPROVAL_REQUESTED = "ApprovalRequested"
    APPROVAL_DECIDED = "ApprovalDecided"
    TOOL_CALL_DENIED = "ToolCallDenied"
    QUESTION_ASKED = "QuestionAsked"
    QUESTION_ANSWERED = "QuestionAnswered"
    QUESTION_EXPIRED = "QuestionExpired"
    RUN_RECONCILED = "RunReconciled"
    GUARDRAIL_APPLIED = "GuardrailApplied"
    GUARDRAIL_BLOCKED = "GuardrailBlocked"
    CONTEXT_ASSEMBLED = "ContextAssembled"  # what the model was told about surface, user, time
