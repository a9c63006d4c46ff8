// A run's steps as a waterfall: each model call, tool call and wait for a person as a bar on the
// run's clock, from the event that opened it to the one that closed it. Events carry the time of
// the commit that wrote them, and a step often writes its opening and closing events in one
// commit, so a model call or a tool call takes its duration from what its event measured (the
// model's latency, the tool's duration); a wait, from its two events. A step still open (the run
// is live) runs to now.
import { clear, h } from "./dom.js";

const OPENS = {
  RunCreated: (p) => ({ key: "queue", kind: "queue", label: "queued" }),
  RunResumed: (p, e) => ({ key: `queue-${e.seq}`, kind: "queue", label: "queued again" }),
  ModelCalled: (p) => ({ key: "model", kind: "model", label: `model call (step ${p.step})` }),
  ToolCallStarted: (p) => (p.tool === "ask_user" ? null : { key: `tool-${p.key}`, kind: "tool", label: p.tool }),
  ApprovalRequested: (p) => ({ key: `approval-${p.approval_id}`, kind: "wait", label: `approval of ${p.tool} (${p.tier})` }),
  QuestionAsked: (p) => ({ key: `question-${p.question_id}`, kind: "wait", label: `question for ${p.asked_of}` }),
};
const CLOSES = {
  RunStarted: () => "queue",
  ModelResponded: () => "model",
  ToolCallSucceeded: (p) => `tool-${p.key}`,
  ToolCallFailed: (p) => `tool-${p.key}`,
  ApprovalDecided: (p) => `approval-${p.approval_id}`,
  QuestionAnswered: (p) => `question-${p.question_id}`,
};
const ENDS = new Set(["RunCompleted", "RunFailed", "RunCancelled"]);

// [{ label, kind, start, end, ms, open }] in the order the steps began; times in epoch ms.
export function steps(events, now = Date.now()) {
  const done = [];
  const open = new Map();
  let ended = null;
  for (const event of events) {
    const at = Date.parse(event.created_at);
    const p = event.payload ?? {};
    const close = CLOSES[event.type]?.(p);
    const key = close === "queue" ? [...open.keys()].filter((k) => k.startsWith("queue")).at(-1) : close;
    if (key && open.has(key)) {
      const step = open.get(key);
      open.delete(key);
      const work = typeof p.latency_ms === "number" ? p.latency_ms : typeof p.duration_ms === "number" ? p.duration_ms : null;
      done.push({ ...step, end: Math.max(at, step.start + (work ?? 0)), ms: work ?? at - step.start, open: false });
    }
    const opened = OPENS[event.type]?.(p, event);
    if (opened) open.set(opened.key, { ...opened, start: at });
    if (ENDS.has(event.type)) ended = at;
  }
  for (const step of open.values()) {
    const end = ended ?? now; // a run that ended left it unfinished; a live one is still in it
    done.push({ ...step, end, ms: end - step.start, open: ended === null });
  }
  return done.sort((a, b) => a.start - b.start);
}

function format(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function drawWaterfall(list, events, { start, now }) {
  const found = steps(events, now);
  clear(list);
  if (!found.length) return;
  const zero = Math.min(Date.parse(start), ...found.map((s) => s.start));
  const span = Math.max(1, ...found.map((s) => s.end - zero));
  for (const step of found) {
    const bar = h("span", { class: `wf-bar kind-${step.kind}${step.open ? " open" : ""}` });
    // Set through the CSSOM: the page's content security policy allows no style attributes.
    bar.style.left = `${((step.start - zero) / span) * 100}%`;
    bar.style.width = `${Math.max(((step.end - step.start) / span) * 100, 0.4)}%`;
    const took = step.open ? `${format(step.ms)} so far` : format(step.ms);
    const title = `from ${format(step.start - zero)} after the run was created`;
    list.append(
      h(
        "li",
        { class: `wf-row kind-${step.kind}`, "data-kind": step.kind, title },
        h("span", { class: "wf-label" }, step.label),
        h("span", { class: "wf-track", "aria-hidden": "true" }, bar),
        h("span", { class: "wf-ms" }, took),
      ),
    );
  }
}
