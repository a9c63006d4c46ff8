// Decision cards: an approval (tool, arguments, tier, who decides; Approve / Deny with a reason
// for those who may decide) and a question (options as buttons for the person asked). The API
// decides who may act; a card only offers what the API says the caller may do.
import { ApiError } from "./api.js";
import { facts, h, jsonBlock, when } from "./dom.js";

let serial = 0;

export function errorLine() {
  return h("p", { class: "error", role: "alert" });
}

// Disables the card's buttons while `work` runs; a refusal is shown on the card and they come back.
export async function act(card, error, work) {
  for (const button of card.querySelectorAll("button")) button.disabled = true;
  error.textContent = "";
  try {
    await work();
  } catch (problem) {
    error.textContent = problem instanceof ApiError ? problem.message : String(problem);
    for (const button of card.querySelectorAll("button")) button.disabled = false;
  }
}

export function button(label, kind, onClick) {
  return h("button", { type: "button", class: kind, on: { click: onClick } }, label);
}

function whoDecides(approval) {
  return approval.tier === "admin"
    ? "an admin other than the requester"
    : `the requester (${approval.requester_id})`;
}

function outcome(approval) {
  if (approval.status === "pending") {
    return approval.may_decide ? "Your decision is needed." : `Waiting for ${whoDecides(approval)}.`;
  }
  const by = approval.decided_by ? ` by ${approval.decided_by}` : "";
  const at = approval.decided_at ? ` at ${when(approval.decided_at)}` : "";
  const reason = approval.reason ? ` — “${approval.reason}”` : "";
  return `${approval.status[0].toUpperCase()}${approval.status.slice(1)}${by}${at}${reason}`;
}

// `approval` is an ApprovalView (or an ApprovalRequested payload shaped like one).
export function approvalCard(api, approval, { onDecided = () => {} } = {}) {
  const card = h("article", { class: `card approval status-${approval.status}`, "data-approval": approval.id });
  const error = errorLine();
  const decide = (decision, reason) =>
    act(card, error, async () => {
      const decided = await api.post(`/v1/approvals/${encodeURIComponent(approval.id)}`, { decision, reason });
      card.replaceWith(approvalCard(api, decided, { onDecided }));
      onDecided(decided);
    });
  card.append(
    h("h3", {}, `Approval: ${approval.tool}`),
    facts([
      ["Tier", `${approval.tier} — decided by ${whoDecides(approval)}`],
      ["Requested by", approval.requester_id],
      ["Expires", when(approval.expires_at)],
      ["Run", approval.run_id ? h("a", { href: `#/runs/${approval.run_id}` }, approval.run_id) : null],
    ]),
    jsonBlock(approval.args, `Arguments of ${approval.tool}`),
    h("p", { class: "outcome" }, outcome(approval)),
  );
  if (approval.status === "pending" && approval.may_decide) {
    const id = `reason-${(serial += 1)}`;
    const reason = h("input", { id, type: "text", maxlength: 2000, autocomplete: "off" });
    card.append(
      h(
        "div",
        { class: "actions" },
        button("Approve", "approve", () => decide("approve", reason.value || null)),
        h("label", { for: id }, "Reason (told to the agent if you deny)"),
        reason,
        button("Deny", "deny", () => decide("deny", reason.value || null)),
      ),
    );
  }
  card.append(error);
  return card;
}

// `question` is a QuestionView (or a QuestionAsked payload shaped like one).
export function questionCard(api, question, { canAnswer = false, onAnswered = () => {} } = {}) {
  const card = h("article", { class: `card question status-${question.status}`, "data-question": question.id });
  const error = errorLine();
  const answer = (text) =>
    act(card, error, async () => {
      const answered = await api.post(`/v1/questions/${encodeURIComponent(question.id)}`, { answer: text });
      card.replaceWith(questionCard(api, answered, { canAnswer, onAnswered }));
      onAnswered(answered);
    });
  card.append(h("h3", {}, "Question"), h("p", { class: "prompt" }, question.prompt));
  if (question.status === "pending" && canAnswer) {
    const options = h("div", { class: "actions options", role: "group", "aria-label": "Answers" });
    for (const option of question.options ?? []) {
      options.append(button(option, "option", () => answer(option)));
    }
    card.append(options);
    if (question.allow_free_text) card.append(freeText(answer));
  } else if (question.status === "pending") {
    card.append(h("p", { class: "outcome" }, `Waiting for ${question.asked_of} to answer.`));
  } else {
    const by = question.answered_by ? ` by ${question.answered_by}` : "";
    const text = question.status === "answered" ? `Answered “${question.answer}”${by}` : `Question ${question.status}`;
    card.append(h("p", { class: "outcome" }, text));
  }
  card.append(error);
  return card;
}

function freeText(answer) {
  const id = `answer-${(serial += 1)}`;
  const input = h("input", { id, type: "text", maxlength: 2000, autocomplete: "off" });
  return h(
    "form",
    { class: "actions", on: { submit: (e) => (e.preventDefault(), input.value.trim() && answer(input.value.trim())) } },
    h("label", { for: id }, "Your own answer"),
    input,
    h("button", { type: "submit" }, "Send answer"),
  );
}

// Card inputs from the events that announce them, until the API's own view has been read.
export function approvalFromEvent(p, runId) {
  return {
    id: p.approval_id, run_id: runId, tool: p.tool, args: p.args, tier: p.tier, requester_id: p.requester,
    status: "pending", expires_at: p.expires_at, may_decide: false,
  };
}

export function questionFromEvent(p, runId) {
  return {
    id: p.question_id, run_id: runId, prompt: p.prompt, options: p.options, allow_free_text: p.allow_free_text,
    asked_of: p.asked_of, status: "pending", expires_at: p.expires_at,
  };
}
