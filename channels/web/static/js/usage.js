// The Usage page: tokens and cost of the caller's runs (the tenant's for an admin), by bot, by day
// and (for an admin) by user, summed from the runs API's per-run usage over the latest runs.
import { clear, facts, h, money } from "./dom.js";

const $ = (id) => document.getElementById(id);
const LATEST = 200; // the runs API's page: the sums say how many runs they cover

function tally(runs, keyOf) {
  const rows = new Map();
  for (const run of runs) {
    const key = keyOf(run);
    const row = rows.get(key) ?? { key, runs: 0, tokens: 0, cost: 0 };
    row.runs += 1;
    row.tokens += run.usage.prompt_tokens + run.usage.completion_tokens;
    row.cost += run.usage.cost_usd;
    rows.set(key, row);
  }
  return [...rows.values()];
}

function row(label, r) {
  return h(
    "tr",
    {},
    h("td", { "data-label": label }, r.key),
    h("td", { class: "num", "data-label": "Runs" }, String(r.runs)),
    h("td", { class: "num", "data-label": "Tokens" }, String(r.tokens)),
    h("td", { class: "num", "data-label": "Cost" }, money(r.cost)),
  );
}

export class UsageView {
  constructor(ctx) {
    this.ctx = ctx;
    this.note = $("usage-note");
  }

  show() {
    this.load();
  }

  hide() {}

  async load() {
    try {
      const { runs } = await this.ctx.api.get("/v1/runs", { limit: LATEST });
      const [all] = tally(runs, () => "all");
      const whose = this.ctx.admin ? "the tenant's" : "your";
      const more = runs.length === LATEST ? ` (the latest ${LATEST})` : "";
      this.note.textContent = `From ${whose} ${runs.length} run${runs.length === 1 ? "" : "s"}${more}.`;
      clear($("usage-totals")).append(
        facts([
          ["Runs", String(all?.runs ?? 0)],
          ["Tokens", String(all?.tokens ?? 0)],
          ["Cost", money(all?.cost ?? 0)],
        ]),
      );
      const byCost = (a, b) => b.cost - a.cost || b.tokens - a.tokens;
      clear($("usage-bots")).append(...tally(runs, (r) => r.bot).sort(byCost).map((r) => row("Bot", r)));
      const days = tally(runs, (r) => r.created_at.slice(0, 10)).sort((a, b) => b.key.localeCompare(a.key));
      clear($("usage-days")).append(...days.map((r) => row("Day", r)));
      $("usage-users-part").hidden = !this.ctx.admin;
      if (this.ctx.admin) {
        clear($("usage-users")).append(...tally(runs, (r) => r.user_id).sort(byCost).map((r) => row("User", r)));
      }
    } catch (error) {
      this.note.textContent = error.message;
    }
  }
}
