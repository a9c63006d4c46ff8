// Decisions and the audit log: approvals (pending ones first; an admin decides here) and, for
// admins, the tenant's audit log. The API scopes both to what the key may see.
import { approvalCard } from "./cards.js";
import { clear, h, jsonBlock, when } from "./dom.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 3000;

export class ApprovalsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.list = $("approvals-list");
    this.note = $("approvals-note");
    this.status = $("approvals-status");
    this.timer = null;
    this.drawn = "";
    this.status.addEventListener("change", () => this.load(true));
    $("approvals-refresh").addEventListener("click", () => this.load(true));
  }

  show() {
    this.load(true);
    this.timer = setInterval(() => this.load(false), POLL_MS);
  }

  hide() {
    clearInterval(this.timer);
  }

  decided(approval) {
    this.note.textContent = `${approval.tool} for ${approval.requester_id}: ${approval.status}.`;
  }

  // Redraws only when something changed, so a reason being typed is not wiped by a poll.
  async load(force) {
    try {
      const { approvals } = await this.ctx.api.get("/v1/approvals", { status: this.status.value });
      const signature = approvals.map((a) => `${a.id}:${a.status}:${a.may_decide}`).join(",");
      if (!force && signature === this.drawn) return;
      this.drawn = signature;
      clear(this.list).append(
        ...approvals.map((a) => h("li", {}, approvalCard(this.ctx.api, a, { onDecided: (d) => this.decided(d) }))),
      );
      const shown = this.status.value === "all" ? "" : `${this.status.value} `;
      this.note.textContent = approvals.length ? `${approvals.length} ${shown}approval(s)` : `No ${shown}approvals.`;
    } catch (error) {
      this.note.textContent = error.message;
    }
  }
}

export class AuditView {
  constructor(ctx) {
    this.ctx = ctx;
    this.form = $("audit-filter");
    this.body = $("audit-body");
    this.note = $("audit-note");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
  }

  show() {
    this.load();
  }

  hide() {}

  async load() {
    const query = {
      run_id: $("audit-run").value.trim(),
      user_id: $("audit-user").value.trim(),
      tool: $("audit-tool").value.trim(),
      limit: 500,
    };
    try {
      const { entries } = await this.ctx.api.get("/v1/audit", query);
      const newest = [...entries].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
      clear(this.body).append(...newest.map((e) => this.row(e)));
      this.note.textContent = `${entries.length} entries, newest first`;
    } catch (error) {
      this.note.textContent = error.message;
    }
  }

  row(entry) {
    return h(
      "tr",
      {},
      h("td", { "data-label": "When" }, when(entry.created_at)),
      h("td", { "data-label": "Actor" }, entry.actor_user_id ?? "—"),
      h("td", { "data-label": "Action" }, entry.action),
      h("td", { "data-label": "Tool" }, entry.tool ?? ""),
      h("td", { "data-label": "Run", class: "id" }, entry.run_id ? h("a", { href: `#/runs/${entry.run_id}` }, entry.run_id) : ""),
      h("td", { "data-label": "Detail" }, h("details", {}, h("summary", {}, "Detail"), jsonBlock(entry.detail, "Detail"))),
    );
  }
}
