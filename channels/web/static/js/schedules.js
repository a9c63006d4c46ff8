// The Schedules page: the caller's schedules (all of the tenant's for an admin), when each fires,
// where it posts and whether it is on; Pause and Resume call the schedule routes, which decide
// who may (a refusal is shown on the card).
import { act, button, errorLine } from "./cards.js";
import { clear, facts, h, jsonBlock, when } from "./dom.js";

const $ = (id) => document.getElementById(id);

function timing(s) {
  if (s.cron) return `cron “${s.cron}” (${s.timezone})`;
  const every = s.interval_s % 3600 === 0 ? `${s.interval_s / 3600} h` : s.interval_s % 60 === 0 ? `${s.interval_s / 60} min` : `${s.interval_s} s`;
  return `every ${every}`;
}

function where(target) {
  const place = target.channel ? `#${target.channel}` : (target.user ?? target.conversation ?? "");
  return `${target.surface ?? ""} ${place}`.trim();
}

export function scheduleCard(api, schedule, onChanged) {
  const card = h("article", { class: `card schedule ${schedule.enabled ? "status-on" : "status-off"}`, "data-schedule": schedule.id });
  const error = errorLine();
  const toggle = (action) =>
    act(card, error, async () => {
      const changed = await api.post(`/v1/schedules/${encodeURIComponent(schedule.id)}/${action}`);
      card.replaceWith(scheduleCard(api, changed, onChanged));
      onChanged(changed);
    });
  const state = schedule.enabled ? "On" : `Paused${schedule.disabled_reason ? ` — ${schedule.disabled_reason}` : ""}`;
  card.append(
    h("h3", {}, schedule.name),
    facts([
      ["Bot", schedule.bot],
      ["Kind", schedule.kind],
      ["When", timing(schedule)],
      ["Posts to", where(schedule.target)],
      ["Owner", schedule.owner_id],
      ["Created", when(schedule.created_at)],
      ["Prompt", schedule.prompt],
    ]),
    h("details", {}, h("summary", {}, "Parameters"), jsonBlock(schedule.params, `Parameters of ${schedule.name}`)),
    h("p", { class: "outcome" }, state),
    h("div", { class: "actions" }, schedule.enabled
      ? button("Pause", "deny", () => toggle("pause"))
      : button("Resume", "approve", () => toggle("resume"))),
    error,
  );
  return card;
}

export class SchedulesView {
  constructor(ctx) {
    this.api = ctx.api;
    this.list = $("schedules-list");
    this.note = $("schedules-note");
  }

  show() {
    this.load();
  }

  hide() {}

  async load() {
    try {
      const { schedules } = await this.api.get("/v1/schedules");
      const changed = (s) => (this.note.textContent = `${s.name}: ${s.enabled ? "resumed" : "paused"}.`);
      clear(this.list).append(...schedules.map((s) => h("li", {}, scheduleCard(this.api, s, changed))));
      this.note.textContent = schedules.length ? `${schedules.length} schedule(s)` : "No schedules yet.";
    } catch (error) {
      this.note.textContent = error.message;
    }
  }
}
