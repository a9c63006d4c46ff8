// A run's live status, in words, from the latest event that says something about it.

const TERMINAL = { completed: "done", failed: "failed", cancelled: "cancelled" };
const BY_STATUS = {
  queued: "queued…",
  running: "thinking…",
  waiting_approval: "waiting for an approval",
  waiting_input: "waiting for an answer",
  needs_reconciliation: "waiting for an admin to reconcile a tool call",
  ...TERMINAL,
};

export function describeStatus(status) {
  return BY_STATUS[status] ?? status;
}

export function describeEvent(event) {
  const p = event.payload ?? {};
  switch (event.type) {
    case "RunCreated":
      return "queued…";
    case "RunStarted":
    case "RunResumed":
    case "ModelCalled":
    case "QuestionAnswered":
      return "thinking…";
    case "ToolCallProposed":
    case "ToolCallStarted":
      return p.tool === "ask_user" ? "asking you a question…" : `calling ${p.tool}…`;
    case "ToolCallSucceeded":
      return `${p.tool} done; thinking…`;
    case "ToolCallFailed":
      return `${p.tool} failed; thinking…`;
    case "ToolCallDenied":
      return `${p.tool} was not allowed; thinking…`;
    case "ApprovalRequested":
      return p.tier === "admin" ? "waiting for an admin's approval" : "waiting for your approval";
    case "ApprovalDecided":
      return p.decision === "approved" ? `approved by ${p.by}; continuing…` : `denied by ${p.by}`;
    case "QuestionAsked":
      return "waiting for your answer";
    case "GuardrailBlocked":
      return "blocked by a guardrail";
    case "RunNeedsReconciliation":
      return "waiting for an admin to reconcile a tool call";
    case "RunCompleted":
      return "done";
    case "RunFailed":
      return `failed: ${p.reason || p.code}`;
    case "RunCancelled":
      return "cancelled";
    default:
      return null;
  }
}
