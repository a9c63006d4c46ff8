// The Alerts page: alerts raised by anomaly checks, what happened, where its card is posted, and
// Acknowledge / Silence 1 h / Investigate, as on Slack. The API (the core's alert desk) decides
// who may do what; a refusal is shown on the card. The page is offered to those who may act on
// alerts (an admin, or the owner of an anomaly check: they may silence as well as acknowledge),
// not to every member in the middle of their chat. An investigation is a run of the alert's bot
// in the session `alert-<id>`, opened in the chat like any conversation.
import { act, button, errorLine } from "./cards.js";
import { clear, h, when } from "./dom.js";

const POLL_MS = 5000;
const SILENCE_S = 3600;

export function investigationLink(alert) {
  const query = new URLSearchParams({ bot: alert.bot, session: `alert-${alert.id}` });
  if (alert.investigation_run_id) query.set("run", alert.investigation_run_id);
  return `#/chat?${query}`;
}

function statusLine(alert) {
  const parts = [alert.status[0].toUpperCase() + alert.status.slice(1)];
  if (alert.acked_by) {
    if (alert.status === "acknowledged") parts[0] += ` by ${alert.acked_by}`;
    else parts.push(`acknowledged by ${alert.acked_by}`);
  }
  if (alert.status === "silenced" && alert.silenced_until) {
    parts.push(`silenced by ${alert.silenced_by ?? "a silence on its check"} until ${when(alert.silenced_until)}`);
  }
  return parts.join(" · ");
}

function where(target) {
  const place = target.channel ? `#${target.channel}` : (target.user ?? "");
  return `${target.surface} ${place}`.trim();
}

// `onChanged(alert)` hears of every change made here, once the card shows it.
export function alertCard(api, alert, { onChanged = () => {} } = {}) {
  const card = h("article", { class: `card alert status-${alert.status}`, "data-alert": alert.id });
  const error = errorLine();
  const path = (action) => `/v1/alerts/${encodeURIComponent(alert.id)}/${action}`;
  const redraw = (changed) => {
    card.replaceWith(alertCard(api, changed, { onChanged }));
    onChanged(changed);
  };
  const change = (action, body) => act(card, error, async () => redraw(await api.post(path(action), body)));
  const investigate = () =>
    act(card, error, async () => {
      const { alert: started } = await api.post(path("investigate"));
      redraw(started);
      location.hash = investigationLink(started);
    });
  const about = [`${alert.metric} = ${alert.value}`, alert.detector, alert.notified ? `posted to ${where(alert.target)}` : `not posted: ${alert.target.surface} is not set up`];
  card.append(
    h("h3", {}, `Alert: ${alert.title}`),
    h("p", {}, alert.narration),
    h("p", { class: "meta" }, `${about.join(" · ")} · raised ${when(alert.created_at)}`),
    h("p", { class: "outcome" }, statusLine(alert)),
  );
  if (alert.investigation_run_id) {
    card.append(h("p", {}, "Investigation: ", h("a", { href: investigationLink(alert) }, "open it in the chat")));
  }
  const actions = h("div", { class: "actions" });
  if (alert.status !== "resolved") {
    if (!alert.acked_by) actions.append(button("Acknowledge", "approve", () => change("acknowledge")));
    if (!alert.investigation_run_id) actions.append(button("Investigate", "", investigate));
    if (alert.status !== "silenced") {
      actions.append(button("Silence 1 h", "deny", () => change("silence", { duration_s: SILENCE_S })));
    }
  }
  if (actions.children.length) card.append(actions);
  card.append(error);
  return card;
}

// Whether `me` (a member) owns an anomaly check or an alert of one: then the Alerts page is theirs too.
export async function mayActOnAlerts(api, me) {
  try {
    const [{ schedules }, { alerts }] = await Promise.all([
      api.get("/v1/schedules"),
      api.get("/v1/alerts", { status: "all", limit: 200 }),
    ]);
    return schedules.some((s) => s.kind === "anomaly" && s.owner_id === me.user_id)
      || alerts.some((a) => a.owner_id === me.user_id);
  } catch {
    return false;
  }
}

export class AlertsView {
  constructor(ctx) {
    this.api = ctx.api;
    this.list = document.getElementById("alerts-list");
    this.note = document.getElementById("alerts-note");
    this.status = document.getElementById("alerts-status");
    this.timer = null;
    this.shown = new Map(); // alert id → { updated: its updated_at on screen, item: its <li> }
    this.status.addEventListener("change", () => {
      this.shown = new Map();
      this.load();
    });
  }

  show() {
    if (this.timer !== null) return;
    this.load();
    this.timer = setInterval(() => this.load(), POLL_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  // Redraws only the cards of alerts that changed, so a card being used (or a refusal shown on
  // it) stays put; a change made on the card itself is already on screen.
  async load() {
    let alerts;
    try {
      ({ alerts } = await this.api.get("/v1/alerts", { status: this.status.value, limit: 200 }));
    } catch (error) {
      this.note.textContent = error.message;
      return;
    }
    const shown = new Map();
    for (const alert of alerts) {
      const kept = this.shown.get(alert.id);
      const newer = !kept || Date.parse(alert.updated_at) > Date.parse(kept.updated); // a slow poll is older
      shown.set(alert.id, newer ? this.entry(alert) : kept);
    }
    this.shown = shown;
    const items = [...shown.values()].map((e) => e.item);
    if (items.some((item, i) => this.list.children[i] !== item) || items.length !== this.list.children.length) {
      clear(this.list).append(...items);
    }
    const which = this.status.value === "all" ? "" : `${this.status.selectedOptions[0].textContent} `;
    this.note.textContent = items.length ? `${items.length} ${which}alert(s), newest first` : `No ${which}alerts.`;
  }

  entry(alert) {
    const entry = { updated: alert.updated_at, item: null };
    const onChanged = (changed) => {
      entry.updated = changed.updated_at;
    };
    entry.item = h("li", {}, alertCard(this.api, alert, { onChanged }));
    return entry;
  }
}
