// The Knowledge page: search what you may see (results with their citations), the namespaces you
// can search with their documents (status, and why one failed), uploading files to a namespace
// (a private one of your own, made here if new; an admin's tenant ones) and deleting. The API
// decides who may do what; a refusal is shown where it happened.
import { ApiError } from "./api.js";
import { act, button, errorLine } from "./cards.js";
import { clear, facts, h, when } from "./dom.js";

const $ = (id) => document.getElementById(id);
const NS = "/v1/knowledge/namespaces";

// DELETE answers 204 with no body, which Api.request would try to read as JSON.
async function remove(api, path) {
  const response = await fetch(path, { method: "DELETE", headers: api.headers({ Accept: "application/json" }) });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(response.status, data?.error?.code ?? "error", data?.error?.message ?? response.statusText);
  }
}

function base64(buffer) {
  let text = "";
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function hitCard(hit) {
  return h("article", { class: "card hit", "data-source": hit.source },
    h("h3", {}, `[${hit.ref}] ${hit.title}`),
    h("p", { class: "hint" }, `${hit.section} — ${hit.source}, part ${hit.position} (${hit.namespace})`),
    h("p", {}, hit.text.length > 600 ? `${hit.text.slice(0, 600)}…` : hit.text));
}

export class KnowledgeView {
  constructor(ctx) {
    this.api = ctx.api;
    this.note = $("knowledge-note");
    this.list = $("knowledge-namespaces");
    this.results = $("knowledge-results");
    $("knowledge-search").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search($("knowledge-query").value.trim());
    });
    $("knowledge-upload").addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload($("knowledge-target").value.trim(), $("knowledge-files").files);
    });
  }

  show() {
    this.load();
  }

  hide() {}

  async search(query) {
    if (!query) return;
    try {
      const found = await this.api.post("/v1/knowledge/search", { query, limit: 5 });
      const head = found.note ? [h("p", { class: "hint" }, found.note)] : [];
      const hits = found.results.length ? found.results.map(hitCard) : [h("p", {}, "Nothing found.")];
      clear(this.results).append(...head, ...hits);
    } catch (error) {
      clear(this.results).append(h("p", { class: "error", role: "alert" }, error.message));
    }
  }

  async upload(name, files) {
    if (!name || !files.length) return;
    try {
      const listed = (await this.api.get(NS)).namespaces.map((n) => n.name);
      if (!listed.includes(name)) await this.api.post(NS, { name, kind: "private" });
      const failed = [];
      for (const file of files) {
        this.note.textContent = `Uploading ${file.name}…`;
        const body = { source: file.name, content_base64: base64(await file.arrayBuffer()) };
        const report = await this.api.request(`${NS}/${encodeURIComponent(name)}/documents`, { method: "PUT", body });
        for (const [source, why] of Object.entries(report.failed)) failed.push(`${source}: ${why}`);
      }
      this.note.textContent = failed.length ? `Not ingested: ${failed.join("; ")}` : `Uploaded ${files.length} file(s) to ${name}.`;
      $("knowledge-files").value = "";
      await this.load(false);
    } catch (error) {
      this.note.textContent = error.message;
    }
  }

  async load(resetNote = true) {
    try {
      const { namespaces, search } = await this.api.get(NS);
      clear(this.list).append(...namespaces.map((n) => h("li", {}, this.namespaceCard(n))));
      if (resetNote) {
        const mode = search === "hybrid" ? "" : " Search is keyword-only (no embeddings endpoint).";
        this.note.textContent = (namespaces.length ? `${namespaces.length} namespace(s) you can search.` : "No namespaces yet.") + mode;
      }
    } catch (error) {
      this.note.textContent = error.message;
    }
  }

  namespaceCard(ns) {
    const card = h("article", { class: "card namespace", "data-namespace": ns.name });
    const error = errorLine();
    const documents = h("ul", { class: "plain documents" });
    const path = `${NS}/${encodeURIComponent(ns.name)}`;
    const showDocuments = () => act(card, error, async () => {
      const { documents: docs } = await this.api.get(`${path}/documents`);
      clear(documents).append(...docs.map((d) => h("li", { "data-source": d.source },
        `${d.source} — ${d.status}, ${d.chunks} chunk(s), ${when(d.updated_at)}${d.error ? ` (${d.error})` : ""} `,
        button("Delete", "deny", () => act(card, error, async () => {
          await remove(this.api, `${path}/documents?source=${encodeURIComponent(d.source)}`);
          await showDocuments();
        })))));
      for (const b of card.querySelectorAll("button")) b.disabled = false;
    });
    card.append(
      h("h3", {}, ns.name),
      facts([["Kind", ns.channel ? `${ns.kind} (${ns.channel})` : ns.kind], ["Documents", String(ns.documents)], ["Chunks", String(ns.chunks)]]),
      h("div", { class: "actions" },
        button("Documents", "approve", showDocuments),
        button("Delete namespace", "deny", () => act(card, error, async () => {
          await remove(this.api, path);
          await this.load(false);
        }))),
      documents,
      error,
    );
    return card;
  }
}
