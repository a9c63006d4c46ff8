// The run inspector: runs filtered by status, bot and (for admins) user, and one run's timeline,
// live while the run is open, with its pending decision inline.
import { ApiError } from "./api.js";
import { approvalCard, questionCard } from "./cards.js";
import { clear, facts, h, money, when } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { follow } from "./stream.js";
import { eventItem } from "./timeline.js";
import { drawWaterfall } from "./waterfall.js";

const STATUSES = [
  "queued", "running", "waiting_approval", "waiting_input", "needs_reconciliation", "completed", "failed", "cancelled",
];
const RECONCILE = [["It happened", "done"], ["It did not happen", "not_done"], ["Run it again", "retry"]];
const $ = (id) => document.getElementById(id);

function options(select, values, all) {
  const current = select.value;
  clear(select).append(h("option", { value: "" }, all), ...values.map((v) => h("option", { value: v }, v)));
  select.value = values.includes(current) ? current : "";
}

export class RunsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.form = $("runs-filter");
    this.body = $("runs-body");
    this.note = $("runs-note");
    options($("runs-status"), STATUSES, "any status");
    options($("runs-bot"), ctx.bots.map((b) => b.name), "any bot");
    $("runs-user-field").hidden = !ctx.admin;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
    for (const select of this.form.querySelectorAll("select")) select.addEventListener("change", () => this.load());
  }

  show() {
    this.load();
  }

  hide() {}

  async load() {
    const query = { status: $("runs-status").value, bot: $("runs-bot").value, limit: 200 };
    try {
      const { runs } = await this.ctx.api.get("/v1/runs", query);
      if (this.ctx.admin) options($("runs-user"), [...new Set(runs.map((r) => r.user_id))].sort(), "any user");
      const user = $("runs-user").value;
      const shown = runs.filter((r) => !user || r.user_id === user);
      clear(this.body).append(...shown.map((run) => this.row(run)));
      this.note.textContent = `${shown.length} run${shown.length === 1 ? "" : "s"}`;
    } catch (error) {
      this.note.textContent = error.message;
    }
  }

  row(run) {
    return h(
      "tr",
      { "data-run": run.id },
      h("td", { "data-label": "Run", class: "id" }, h("a", { href: `#/runs/${run.id}` }, run.id)),
      h("td", { "data-label": "Bot" }, run.bot),
      h("td", { "data-label": "Status" }, h("span", { class: `badge status-${run.status}` }, run.status)),
      h("td", { "data-label": "User" }, run.user_id),
      h("td", { "data-label": "Created" }, when(run.created_at)),
      h("td", { class: "num", "data-label": "Tokens" }, String(run.usage.prompt_tokens + run.usage.completion_tokens)),
      h("td", { class: "num", "data-label": "Cost" }, money(run.usage.cost_usd)),
    );
  }
}

export class RunView {
  constructor(ctx) {
    this.ctx = ctx;
    this.controller = new AbortController();
    this.summary = $("run-summary");
    this.pending = $("run-pending");
    this.timeline = $("run-timeline");
    this.waterfall = $("run-waterfall");
    this.events = [];
    this.title = $("run-title");
    this.note = $("run-note");
  }

  show(params, runId) {
    this.hide();
    this.controller = new AbortController();
    this.load(runId, this.controller.signal);
  }

  hide() {
    this.controller.abort();
  }

  async load(runId, signal) {
    const api = this.ctx.api;
    this.title.textContent = `Run ${runId}`;
    [this.summary, this.pending, this.timeline, this.waterfall].forEach(clear);
    this.events = [];
    this.note.textContent = "loading…";
    try {
      const run = await api.get(`/v1/runs/${encodeURIComponent(runId)}`, undefined, signal);
      await this.draw(run, signal);
      const list = await api.get(run.links.events, undefined, signal);
      for (const event of list.events) this.append(event);
      this.drawSteps(run);
      this.note.textContent = `${list.events.length} events`;
      const last = list.events.at(-1)?.seq ?? 0;
      if (!["completed", "cancelled", "failed"].includes(list.status)) {
        this.note.textContent += " · live";
        follow(api, run, {
          after: last, signal,
          onEvent: (event) => this.onLive(event, run, signal),
          onTrouble: (problem) => problem && (this.note.textContent = problem),
        });
      }
    } catch (error) {
      if (!signal.aborted) this.note.textContent = error instanceof ApiError ? error.message : String(error);
    }
  }

  append(event) {
    if (this.timeline.querySelector(`[data-seq="${event.seq}"]`)) return;
    this.timeline.append(eventItem(event));
    this.events.push(event);
  }

  drawSteps(run) {
    drawWaterfall(this.waterfall, this.events, { start: run.created_at, now: Date.now() });
  }

  async onLive(event, run, signal) {
    this.append(event);
    this.drawSteps(run);
    this.note.textContent = `${this.timeline.children.length} events · live`;
    const fresh = await this.ctx.api.get(`/v1/runs/${encodeURIComponent(run.id)}`, undefined, signal).catch(() => null);
    if (fresh && !signal.aborted) await this.draw(fresh, signal);
  }

  async draw(run, signal) {
    const ticket = (this.drawn = (this.drawn ?? 0) + 1);
    const actions = h("div", { class: "actions" });
    if (!["completed", "cancelled"].includes(run.status)) {
      actions.append(this.action("Cancel run", `/v1/runs/${run.id}/cancel`, run, signal));
    }
    if (run.status === "failed") actions.append(this.action("Resume run", `/v1/runs/${run.id}/resume`, run, signal));
    if (run.status === "needs_reconciliation" && this.ctx.admin) {
      // A tool call's outcome is unknown: an admin says what became of it, and the run goes on.
      for (const [label, decision] of RECONCILE) {
        actions.append(this.action(label, `/v1/runs/${run.id}/reconcile`, run, signal, { decision }));
      }
    }
    clear(this.summary).append(
      facts([
        ["Status", h("span", { class: `badge status-${run.status}` }, run.status)],
        ["Bot", run.bot],
        ["User", run.user_id],
        ["Session", run.session_id],
        ["Created", when(run.created_at)],
        ["Updated", when(run.updated_at)],
        ["Tokens", `${run.usage.prompt_tokens} prompt + ${run.usage.completion_tokens} completion`],
        ["Cost", money(run.usage.cost_usd)],
        ["Answer", run.answer ? h("div", { class: "md" }, renderMarkdown(run.answer)) : null],
        ["Error", run.error ? `${run.error.code}: ${run.error.message}` : null],
      ]),
      actions,
    );
    clear(this.pending);
    if (!run.pending) return;
    const path = run.pending.kind === "approval" ? "/v1/approvals/" : "/v1/questions/";
    const view = await this.ctx.api.get(path + encodeURIComponent(run.pending.id), undefined, signal).catch(() => null);
    if (!view || signal.aborted || ticket !== this.drawn) return;
    const card = run.pending.kind === "approval" ? approvalCard(this.ctx.api, view) : questionCard(this.ctx.api, view);
    clear(this.pending).append(h("h3", {}, "Waiting for"), card);
  }

  action(label, path, run, signal, body) {
    return h("button", {
      type: "button",
      on: {
        click: async () => {
          try {
            await this.ctx.api.post(path, body);
            if (!signal.aborted) this.show(null, run.id);
          } catch (error) {
            this.note.textContent = error.message;
          }
        },
      },
    }, label);
  }
}
