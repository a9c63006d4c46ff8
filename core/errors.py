"""The error tree. Every error Switchboard raises on purpose derives from `SwitchboardError`.

SwitchboardError
├── MisuseError              the caller asked for something invalid (maps to 4xx)
│   ├── NotFound             unknown id, or an id of another tenant (never says which)
│   ├── Unauthorized         missing or wrong credentials
│   ├── Forbidden            known caller, not allowed
│   ├── InvalidInput         malformed or oversized input
│   ├── Conflict             idempotency key reused with another body, illegal transition
│   │   └── IllegalTransition
│   ├── UnknownBot
│   └── Busy                 the cap on queued work is reached: retry later (429)
├── StoreError
│   ├── StoreUnavailable     the database cannot be reached (maps to 503)
│   └── StaleLease           a worker lost its lease; its writes are rejected
├── ModelError
│   └── ModelUnavailable     every model in the chain failed
└── ToolError
    ├── ToolArgumentsInvalid the model produced arguments the tool's schema rejects
    ├── ToolTimeout          the tool did not answer within its timeout
    ├── ToolUnavailable      the tool failed repeatedly; its breaker is open and it was not called
    └── IdempotencyConflict  same idempotency key, different arguments
"""

from __future__ import annotations


class SwitchboardError(Exception):
    """Root of every error Switchboard raises on purpose."""

    code = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class MisuseError(SwitchboardError):
    code = "bad_request"


class NotFound(MisuseError):
    code = "not_found"


class Unauthorized(MisuseError):
    code = "unauthorized"


class Forbidden(MisuseError):
    code = "forbidden"


class InvalidInput(MisuseError):
    code = "invalid_input"


class Conflict(MisuseError):
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class UnknownBot(MisuseError):
    code = "unknown_bot"


class Busy(MisuseError):
    code = "busy"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreError(SwitchboardError):
    code = "store_error"


class StoreUnavailable(StoreError):
    code = "store_unavailable"


class StaleLease(StoreError):
    code = "stale_lease"


class ModelError(SwitchboardError):
    code = "model_error"


class ModelUnavailable(ModelError):
    code = "model_unavailable"


class ToolError(SwitchboardError):
    code = "tool_error"


class ToolArgumentsInvalid(ToolError):
    code = "tool_arguments_invalid"


class ToolTimeout(ToolError):
    code = "tool_timeout"


class ToolUnavailable(ToolError):
    code = "tool_unavailable"


class IdempotencyConflict(ToolError):
    code = "idempotency_conflict"
