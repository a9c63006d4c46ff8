// The chat: pick a bot and a session key, send messages, watch each run live; the tenant's live
// alerts are shown above it. What is on screen is redrawn from the API: the address holds only
// the bot, the session key and the latest run.
import { AlertsPanel } from "./alerts.js";
import { ApiError } from "./api.js";
import { clear, h } from "./dom.js";
import { Turn } from "./turn.js";

const SHOWN_TURNS = 20;

export function randomKey(prefix = "web") {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class ChatView {
  constructor(ctx) {
    this.ctx = ctx;
    this.api = ctx.api;
    this.controller = new AbortController();
    this.sessionId = null; // the server's id of the conversation on screen
    this.runId = null; // the latest run in it
    this.loaded = null;
    this.turns = [];
    this.alerts = new AlertsPanel(ctx);
    const $ = (id) => document.getElementById(id);
    Object.assign(this, {
      bot: $("chat-bot"), about: $("chat-bot-about"), session: $("chat-session"), log: $("chat-log"),
      status: $("chat-status"), form: $("chat-form"), message: $("chat-message"), send: $("chat-send"),
    });
    clear(this.bot).append(...ctx.bots.map((b) => h("option", { value: b.name }, b.name)));
    this.bot.addEventListener("change", () => {
      this.describeBot(); // the session goes on: its next message goes to this bot
      this.remember(this.runId);
    });
    this.session.addEventListener("change", () => this.navigate());
    $("chat-new").addEventListener("click", () => {
      this.session.value = randomKey();
      this.navigate();
      this.message.focus();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.message.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
  }

  show(params) {
    this.alerts.show();
    if (!params.get("session") && this.loaded !== null) {
      this.remember(this.runId); // back from another view: the conversation as it was
      return;
    }
    const bot = params.get("bot") ?? this.bot.value ?? "";
    this.bot.value = this.ctx.bots.some((b) => b.name === bot) ? bot : (this.ctx.bots[0]?.name ?? "");
    this.session.value = params.get("session") || this.session.value || randomKey();
    this.describeBot();
    this.runId = params.get("run");
    const wanted = `${this.session.value}|${this.runId ?? ""}`;
    this.remember(this.runId);
    if (wanted === this.loaded) return;
    this.loaded = wanted;
    this.reset();
    if (this.runId) this.loadConversation(this.runId);
  }

  describeBot() {
    const about = this.ctx.bots.find((b) => b.name === this.bot.value);
    this.about.textContent = about ? `${about.description} Tools: ${about.tools.join(", ") || "none"}.` : "";
  }

  hide() {
    this.alerts.hide(); // streams go on in the background, so coming back shows the latest
  }

  // The address reflects the form (and so survives a reload), without a navigation of its own.
  remember(run) {
    const query = new URLSearchParams({ bot: this.bot.value, session: this.session.value });
    if (run) query.set("run", run);
    history.replaceState(null, "", `#/chat?${query}`);
  }

  navigate() {
    const query = new URLSearchParams({ bot: this.bot.value, session: this.session.value });
    history.pushState(null, "", `#/chat?${query}`);
    this.show(query);
  }

  reset() {
    this.controller.abort();
    this.controller = new AbortController();
    this.sessionId = null;
    this.turns = [];
    clear(this.log);
    this.setStatus("Say something to start.");
  }

  setStatus(text, follow = false) {
    this.status.textContent = text;
    if (follow && !this.status.closest("[hidden]")) this.status.scrollIntoView({ block: "nearest" });
  }

  addTurn(run) {
    const turn = new Turn(this.api, run, {
      signal: this.controller.signal,
      onStatus: (t, text) => t === this.turns.at(-1) && this.setStatus(text, true),
    });
    this.turns.push(turn);
    this.log.append(turn.el);
    return turn;
  }

  async loadConversation(runId) {
    const signal = this.controller.signal;
    try {
      const anchor = await this.api.get(`/v1/runs/${encodeURIComponent(runId)}`, undefined, signal);
      const { runs } = await this.api.get("/v1/runs", { limit: 200 }, signal);
      const session = runs.filter((r) => r.session_id === anchor.session_id && r.id !== anchor.id);
      const ordered = [...session, anchor].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
      if (signal.aborted) return;
      this.sessionId = anchor.session_id;
      await Promise.all(ordered.slice(-SHOWN_TURNS).map((run) => this.addTurn(run).load()));
    } catch (error) {
      if (!signal.aborted) this.setStatus(error instanceof ApiError ? error.message : `Could not load: ${error.message}`);
    }
  }

  async submit() {
    const text = this.message.value.trim();
    if (!text || this.send.disabled) return;
    this.send.disabled = true;
    this.setStatus("sending…");
    try {
      const body = { bot: this.bot.value, message: text, session: this.session.value };
      const run = await this.api.post("/v1/runs", body, { "Idempotency-Key": randomKey("msg") });
      this.message.value = "";
      this.runId = run.id;
      this.remember(run.id);
      this.loaded = `${this.session.value}|${run.id}`;
      if (run.session_id !== this.sessionId) {
        this.reset(); // another conversation: draw it whole, this message included
        await this.loadConversation(run.id);
      } else {
        const turn = this.addTurn(run);
        turn.setMessage(text);
        turn.follow();
      }
    } catch (error) {
      this.setStatus(`Not sent: ${error.message}`);
    } finally {
      this.send.disabled = false;
      this.message.focus();
    }
  }
}
