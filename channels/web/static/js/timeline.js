// A run's events as a timeline: every event, with the parts that matter for each kind shown
// plainly (model calls with tokens and cost, tool calls with arguments, results and durations,
// decisions with who and when) and the full payload one click away.
import { facts, h, jsonBlock, money, when } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

// A tool answered by a person (ask_user) records no duration of its own: say nothing then.
export function duration(ms) {
  return typeof ms === "number" && Number.isFinite(ms) ? `${Math.round(ms)} ms` : null;
}

function toolCalls(calls) {
  return (calls ?? []).map((c) => `${c.name}(${c.arguments})`).join("\n");
}

function details(event) {
  const p = event.payload;
  switch (event.type) {
    case "ModelCalled":
      return facts([["Models", (p.models ?? []).join(", ")], ["Step", p.step]]);
    case "ModelResponded":
      return facts([
        ["Model", p.model],
        ["Tokens", `${p.prompt_tokens} prompt + ${p.completion_tokens} completion`],
        ["Cost", money(p.cost_usd)],
        ["Latency", `${Math.round(p.latency_ms)} ms`],
        ["Content", p.content ? h("div", { class: "md" }, renderMarkdown(p.content)) : null],
        ["Tool calls", p.tool_calls?.length ? h("pre", { class: "json" }, toolCalls(p.tool_calls)) : null],
      ]);
    case "ToolCallProposed":
    case "ToolCallStarted":
      return facts([["Tool", p.tool], ["Attempt", p.attempt], ["Arguments", jsonBlock(p.args, "Arguments")]]);
    case "ToolCallSucceeded":
      return facts([["Tool", p.tool], ["Duration", duration(p.duration_ms)], ["Result", jsonBlock(p.result, "Result")]]);
    case "ToolCallFailed":
      return facts([
        ["Tool", p.tool], ["Error", p.error], ["Message", p.message], ["Duration", duration(p.duration_ms)],
      ]);
    case "ToolCallDenied":
      return facts([["Tool", p.tool], ["Decision", p.decision], ["Reason", p.reason]]);
    case "ApprovalRequested":
      return facts([
        ["Tool", p.tool], ["Tier", p.tier], ["Requested by", p.requester], ["Expires", when(p.expires_at)],
        ["Arguments", jsonBlock(p.args, "Arguments")],
      ]);
    case "ApprovalDecided":
      return facts([["Decision", p.decision], ["By", p.by], ["At", when(event.created_at)], ["Reason", p.reason]]);
    case "QuestionAsked":
      return facts([["Question", p.prompt], ["Options", (p.options ?? []).join(" · ")], ["Asked of", p.asked_of]]);
    case "QuestionAnswered":
      return facts([["Answer", p.answer], ["By", p.by], ["At", when(event.created_at)]]);
    case "RunCompleted":
      return h("div", { class: "md" }, renderMarkdown(p.answer ?? ""));
    case "RunFailed":
      return facts([["Code", p.code], ["Reason", p.reason]]);
    case "GuardrailApplied":
    case "GuardrailBlocked":
      return facts([
        ["Guard", p.guard], ["Stage", p.stage], ["Action", p.action],
        ["Findings", (p.findings ?? []).join(", ")], ["Reason", p.reason],
      ]);
    default:
      return null;
  }
}

export function eventItem(event) {
  return h(
    "li",
    { class: `event type-${event.type}`, "data-seq": event.seq },
    h("p", { class: "event-head" },
      h("span", { class: "seq" }, `#${event.seq}`), " ",
      h("strong", { class: "event-type" }, event.type), " ",
      h("time", { datetime: event.created_at }, when(event.created_at))),
    details(event),
    h("details", {}, h("summary", {}, "Payload"), jsonBlock(event.payload, `Payload of event ${event.seq}`)),
  );
}
