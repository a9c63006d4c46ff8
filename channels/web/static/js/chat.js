// The chat: the user's conversations (listed from `/v1/sessions`, newest first, resumable), one
// conversation's turns, each run watched live. What is on screen is redrawn from the API: the
// address holds only the bot, the conversation's key and its latest run, so a reload or signing
// in again shows it as it was.
import { ApiError } from "./api.js";
import { clear, h, when } from "./dom.js";
import { Turn } from "./turn.js";

const SHOWN_TURNS = 20;
const SESSIONS_PAGE = 20;

export function randomKey(prefix = "web") {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class ChatView {
  constructor(ctx) {
    this.ctx = ctx;
    this.api = ctx.api;
    this.controller = new AbortController();
    this.key = null; // the conversation's key, as POST /v1/runs takes it
    this.sessionId = null; // the server's id of the conversation on screen
    this.runId = null; // the latest run in it
    this.loaded = null;
    this.turns = [];
    this.cursor = null;
    const $ = (id) => document.getElementById(id);
    Object.assign(this, {
      bot: $("chat-bot"), about: $("chat-bot-about"), log: $("chat-log"), elsewhere: $("chat-elsewhere"),
      status: $("chat-status"), form: $("chat-form"), message: $("chat-message"), send: $("chat-send"),
      history: $("chat-history"), sessions: $("chat-sessions"), more: $("chat-more"), sessionsNote: $("chat-sessions-note"),
    });
    // A phone shows the conversation first; its list is one tap away.
    const narrow = window.matchMedia("(max-width: 800px)");
    this.history.open = !narrow.matches;
    narrow.addEventListener("change", () => (this.history.open = !narrow.matches));
    clear(this.bot).append(...ctx.bots.map((b) => h("option", { value: b.name }, b.name)));
    this.bot.addEventListener("change", () => {
      this.describeBot(); // the conversation goes on: its next message goes to this bot
      this.remember(this.runId);
    });
    $("chat-new").addEventListener("click", () => {
      this.open({ bot: this.bot.value, session: randomKey() });
      this.message.focus();
    });
    this.more.addEventListener("click", () => this.loadSessions(true));
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
    this.loadSessions(false);
    if (!params.get("session") && this.loaded !== null) {
      this.remember(this.runId); // back from another view: the conversation as it was
      return;
    }
    const bot = params.get("bot") ?? this.bot.value ?? "";
    this.bot.value = this.ctx.bots.some((b) => b.name === bot) ? bot : (this.ctx.bots[0]?.name ?? "");
    this.key = params.get("session") || this.key || randomKey();
    this.describeBot();
    this.runId = params.get("run");
    const wanted = `${this.key}|${this.runId ?? ""}`;
    this.remember(this.runId);
    if (wanted === this.loaded) return;
    this.loaded = wanted;
    this.reset();
    if (this.runId) this.loadConversation(this.runId);
    this.markCurrent();
  }

  hide() {} // streams go on in the background, so coming back shows the latest

  describeBot() {
    const about = this.ctx.bots.find((b) => b.name === this.bot.value);
    this.about.textContent = about ? `${about.description} Tools: ${about.tools.join(", ") || "none"}.` : "";
  }

  // The address reflects the conversation (and so survives a reload), without a navigation of its own.
  remember(run) {
    const query = new URLSearchParams({ bot: this.bot.value, session: this.key });
    if (run) query.set("run", run);
    history.replaceState(null, "", `#/chat?${query}`);
  }

  open({ bot, session, run }) {
    const query = new URLSearchParams({ bot, session });
    if (run) query.set("run", run);
    history.pushState(null, "", `#/chat?${query}`);
    this.show(query);
  }

  reset() {
    this.controller.abort();
    this.controller = new AbortController();
    this.sessionId = null;
    this.turns = [];
    this.elsewhere.hidden = true;
    clear(this.log);
    this.setStatus("Say something to start.");
  }

  setStatus(text, follow = false) {
    this.status.textContent = text;
    if (follow && !this.status.closest("[hidden]")) this.status.scrollIntoView({ block: "nearest" });
  }

  // --- the list of conversations -----------------------------------------------------------

  async loadSessions(more) {
    try {
      const page = await this.api.get("/v1/sessions", { limit: SESSIONS_PAGE, cursor: more ? this.cursor : undefined });
      const items = page.sessions.map((s) => this.sessionItem(s));
      if (more) this.sessions.append(...items);
      else clear(this.sessions).append(...items);
      this.cursor = page.next_cursor;
      this.more.hidden = !page.next_cursor;
      const count = this.sessions.children.length;
      this.sessionsNote.textContent = count ? "" : "No conversations yet.";
      this.markCurrent();
    } catch (error) {
      this.sessionsNote.textContent = error.message;
    }
  }

  sessionItem(s) {
    const narrow = window.matchMedia("(max-width: 800px)");
    const open = (event) => {
      event.preventDefault();
      if (narrow.matches) this.history.open = false;
      this.open({ bot: s.bot, session: s.key ?? `${s.surface}-${s.id}`, run: s.last_run_id });
    };
    const where = s.surface === "api" ? "" : ` · on ${s.surface}`;
    return h(
      "li",
      { "data-session": s.id, "data-key": s.key ?? "" },
      h("a", { href: "#", class: "session", on: { click: open } },
        h("span", { class: "title" }, s.title || "(no message)"),
        h("span", { class: "meta" }, `${s.bot} · ${s.runs} message${s.runs === 1 ? "" : "s"}${where} · ${when(s.updated_at)}`)),
    );
  }

  markCurrent() {
    for (const item of this.sessions.children) {
      const here = item.dataset.key === this.key || item.dataset.session === this.sessionId;
      const link = item.querySelector("a");
      if (here) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
  }

  // --- one conversation ----------------------------------------------------------------------

  addTurn(run) {
    const turn = new Turn(this.api, run, {
      signal: this.controller.signal,
      onStatus: (t, text) => t === this.turns.at(-1) && this.setStatus(text, true),
      // A new card in the latest turn is brought into view above the composer, never under it.
      onCard: (t, card) => t === this.turns.at(-1) && !this.log.closest("[hidden]") && card.scrollIntoView({ block: "nearest" }),
    });
    this.turns.push(turn);
    this.log.append(turn.el);
    return turn;
  }

  // The conversation a run belongs to: the caller's runs in it, read from its messages.
  async loadConversation(runId) {
    const signal = this.controller.signal;
    try {
      const anchor = await this.api.get(`/v1/runs/${encodeURIComponent(runId)}`, undefined, signal);
      const path = `/v1/sessions/${encodeURIComponent(anchor.session_id)}`;
      const [session, runIds] = await Promise.all([
        this.api.get(path, undefined, signal).catch(() => null), // an admin's look at another's run
        this.runIdsOf(`${path}/messages`, signal).catch(() => [anchor.id]),
      ]);
      if (!runIds.includes(anchor.id)) runIds.push(anchor.id);
      const ids = runIds.slice(-SHOWN_TURNS);
      const runs = await Promise.all(
        ids.map((id) => (id === anchor.id ? anchor : this.api.get(`/v1/runs/${encodeURIComponent(id)}`, undefined, signal))),
      );
      if (signal.aborted) return;
      this.sessionId = anchor.session_id;
      if (session && session.key === null) {
        this.elsewhere.textContent = `This conversation was held on ${session.surface}; a message sent here starts a new one.`;
        this.elsewhere.hidden = false;
      }
      this.markCurrent();
      await Promise.all(runs.map((run) => this.addTurn(run).load()));
    } catch (error) {
      if (!signal.aborted) this.setStatus(error instanceof ApiError ? error.message : `Could not load: ${error.message}`);
    }
  }

  async runIdsOf(path, signal) {
    const ids = [];
    let after;
    for (let page = 0; page < 20; page += 1) { // bounded: 20 pages of 500 messages
      const { messages, next_cursor } = await this.api.get(path, { limit: 500, after }, signal);
      for (const m of messages) if (m.run_id && !ids.includes(m.run_id)) ids.push(m.run_id);
      if (!next_cursor) break;
      after = next_cursor;
    }
    return ids;
  }

  async submit() {
    const text = this.message.value.trim();
    if (!text || this.send.disabled) return;
    this.send.disabled = true;
    this.setStatus("sending…");
    try {
      const body = { bot: this.bot.value, message: text, session: this.key };
      const run = await this.api.post("/v1/runs", body, { "Idempotency-Key": randomKey("msg") });
      this.message.value = "";
      this.runId = run.id;
      this.remember(run.id);
      this.loaded = `${this.key}|${run.id}`;
      if (run.session_id !== this.sessionId) {
        this.reset(); // another conversation: draw it whole, this message included
        await this.loadConversation(run.id);
      } else {
        const turn = this.addTurn(run);
        turn.setMessage(text);
        turn.follow();
      }
      this.loadSessions(false);
    } catch (error) {
      this.setStatus(`Not sent: ${error.message}`);
    } finally {
      this.send.disabled = false;
      this.message.focus();
    }
  }
}
