// One turn of a chat: the user's message and everything its run did, drawn from its events.
import { ApiError } from "./api.js";
import { approvalCard, approvalFromEvent, questionCard, questionFromEvent } from "./cards.js";
import { clear, h } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { describeEvent, describeStatus } from "./status.js";
import { CLOSING, follow } from "./stream.js";

export class Turn {
  constructor(api, run, { onStatus = () => {}, onCard = () => {}, signal, canAnswer = true } = {}) {
    this.api = api;
    this.run = run;
    this.canAnswer = canAnswer;
    this.reads = new Map();
    this.onStatus = onStatus;
    this.onCard = onCard;
    this.signal = signal;
    this.last = 0;
    this.responded = 0; // the last model step whose committed text arrived: its deltas are stale
    this.draft = { step: 0, text: "" }; // the text being generated, shown until the answer replaces it
    this.text = h("div", { class: "text" });
    this.answer = h("div", { class: "answer md" });
    this.cardList = h("div", { class: "cards" });
    this.status = h("p", { class: "turn-status" }, describeStatus(run.status));
    this.el = h(
      "li",
      { class: "turn", "data-run": run.id },
      h("div", { class: "msg user" }, h("span", { class: "who" }, "You"), this.text),
      h(
        "div",
        { class: "msg bot" },
        h("span", { class: "who" }, run.bot),
        this.cardList,
        this.answer,
        h("p", { class: "meta" }, this.status, " ", h("a", { href: `#/runs/${run.id}` }, "Inspect run")),
      ),
    );
  }

  setMessage(text) {
    this.text.textContent = text;
  }

  // Everything so far from the JSON list, then the live stream from there if the run is open.
  async load() {
    const message = this.api.get(`/v1/runs/${this.run.id}/message`).catch(() => null);
    const list = await this.api.get(this.run.links.events, undefined, this.signal);
    this.setMessage((await message)?.content ?? "");
    for (const event of list.events) this.apply(event);
    const closed = list.events.some((e) => CLOSING.has(e.type));
    if (!closed) this.follow();
  }

  follow() {
    return follow(this.api, this.run, {
      after: this.last,
      signal: this.signal,
      onEvent: (event) => this.apply(event),
      onDelta: (delta) => this.applyDelta(delta),
      onTrouble: (problem) => problem && this.setStatus(problem),
    });
  }

  setStatus(text) {
    this.status.textContent = text;
    this.onStatus(this, text);
  }

  // A delta at offset 0 starts the step's text over (a retried call); the committed answer
  // (RunCompleted) replaces the draft, so a retry never shows the text twice.
  applyDelta({ step, offset, text, tool }) {
    if (step <= this.responded) return;
    if (tool) {
      // The model has decided on a tool: say so now, before its arguments and the step's commit.
      this.setStatus(describeEvent({ type: "ToolCallProposed", payload: { tool } }));
      return;
    }
    if (step !== this.draft.step || offset === 0) this.draft = { step, text: "" };
    if (offset > this.draft.text.length) return; // a gap: wait for the committed text
    this.draft.text = this.draft.text.slice(0, offset) + text;
    clear(this.answer).append(h("div", { class: "streaming" }, this.draft.text));
    this.answer.classList.add("live");
  }

  dropDraft() {
    if (!this.answer.classList.contains("live")) return;
    this.answer.classList.remove("live");
    clear(this.answer);
    this.draft = { step: 0, text: "" };
  }

  apply(event) {
    if (event.seq <= this.last) return;
    this.last = event.seq;
    const p = event.payload;
    const words = describeEvent(event);
    if (words) this.setStatus(words);
    if (event.type === "ModelResponded") {
      this.responded = Math.max(this.responded, p.step ?? 0);
      this.dropDraft(); // text before tool calls is not the answer; RunCompleted brings that
    }
    switch (event.type) {
      case "ApprovalRequested":
      case "ApprovalDecided":
        this.showApproval(p.approval_id, event.type === "ApprovalRequested" ? approvalFromEvent(p, this.run.id) : null);
        break;
      case "QuestionAsked":
      case "QuestionAnswered":
        this.showQuestion(p.question_id, event.type === "QuestionAsked" ? questionFromEvent(p, this.run.id) : null);
        break;
      case "RunCompleted":
        this.dropDraft();
        clear(this.answer).append(renderMarkdown(p.answer ?? ""));
        break;
      case "RunFailed":
        clear(this.answer).append(h("p", { class: "error" }, `The run failed: ${p.reason || p.code}`));
        break;
      case "GuardrailBlocked":
        clear(this.answer).append(h("p", { class: "error" }, p.reason));
        break;
    }
    if (CLOSING.has(event.type)) this.refreshCards(); // a cancelled run takes its open decisions with it
  }

  place(id, card) {
    const old = this.cardList.querySelector(`[data-approval="${CSS.escape(id)}"], [data-question="${CSS.escape(id)}"]`);
    if (old) old.replaceWith(card);
    else this.cardList.append(card);
    this.onCard(this, card);
  }

  // Drawn from the event at once, then redrawn from the API's view (status, may_decide). Only
  // the newest read for a card is drawn, so a slow early answer cannot undo a later one.
  async refreshCard(id, path, draw) {
    const ticket = (this.reads.get(id) ?? 0) + 1;
    this.reads.set(id, ticket);
    const view = await this.read(path);
    if (view && this.reads.get(id) === ticket) this.place(id, draw(view));
  }

  refreshCards() {
    for (const card of this.cardList.querySelectorAll("[data-approval]")) this.showApproval(card.dataset.approval);
    for (const card of this.cardList.querySelectorAll("[data-question]")) this.showQuestion(card.dataset.question);
  }

  showApproval(id, fromEvent) {
    if (fromEvent) this.place(id, approvalCard(this.api, fromEvent));
    return this.refreshCard(id, `/v1/approvals/${encodeURIComponent(id)}`, (view) => approvalCard(this.api, view));
  }

  showQuestion(id, fromEvent) {
    if (fromEvent) this.place(id, questionCard(this.api, fromEvent));
    const draw = (view) => questionCard(this.api, view, { canAnswer: this.canAnswer });
    return this.refreshCard(id, `/v1/questions/${encodeURIComponent(id)}`, draw);
  }

  async read(path) {
    try {
      return await this.api.get(path, undefined, this.signal);
    } catch (error) {
      if (error instanceof ApiError) return null; // not ours to see: the event's copy stays
      throw error;
    }
  }
}
