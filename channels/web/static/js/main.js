// Sign-in and navigation. The API key lives in sessionStorage only (gone with the tab); who it
// belongs to is asked of the API each time (`/v1/me`), and every view reads its state from the API.
import { AuditView, ApprovalsView } from "./admin.js";
import { AlertsView, mayActOnAlerts } from "./alerts.js";
import { Api, ApiError } from "./api.js";
import { ChatView } from "./chat.js";
import { KnowledgeView } from "./knowledge.js";
import { RunsView, RunView } from "./runs.js";
import { SchedulesView } from "./schedules.js";
import { UsageView } from "./usage.js";

const KEY = "switchboard.apiKey";
const $ = (id) => document.getElementById(id);
const VIEWS = ["signin", "chat", "runs", "run", "approvals", "alerts", "schedules", "knowledge", "usage", "audit"];

async function identify(key) {
  const api = new Api(key);
  const me = await api.get("/v1/me"); // an unknown key stops here with a 401
  const { bots } = await api.get("/v1/bots");
  const admin = me.role === "admin";
  return { api, bots, me, admin, alerts: admin || (await mayActOnAlerts(api, me)) };
}

// Who may open a view: the audit log is an admin's; alerts are for those who may act on them.
function allowed(ctx, name) {
  if (name === "audit") return ctx.admin;
  if (name === "alerts") return ctx.alerts;
  return true;
}

function parseHash() {
  const [path, query] = (location.hash.slice(1) || "/chat").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const name = parts[0] === "runs" && parts[1] ? "run" : parts[0] || "chat";
  return { name, id: parts[1], params: new URLSearchParams(query ?? "") };
}

let views = null;
let current = null;

function showOnly(name) {
  for (const view of VIEWS) $(`view-${view}`).hidden = view !== name;
  for (const link of document.querySelectorAll("#nav a")) {
    const here = link.dataset.view === (name === "run" ? "runs" : name);
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function route(ctx) {
  let { name, id, params } = parseHash();
  if (!views[name] || !allowed(ctx, name)) name = "chat";
  if (current && current !== views[name]) current.hide();
  current = views[name];
  showOnly(name);
  current.show(params, id);
}

function start(ctx) {
  const { me } = ctx;
  $("who-name").textContent = me.name === me.user_id ? me.name : `${me.name} (${me.user_id})`;
  $("who-tenant").textContent = me.tenant_name;
  $("who-tenant").title = `tenant ${me.tenant_id}`;
  $("who-role").textContent = me.role;
  $("who").hidden = false;
  $("nav").hidden = false;
  for (const link of document.querySelectorAll("#nav [data-admin]")) link.hidden = !ctx.admin;
  for (const link of document.querySelectorAll("#nav [data-alerts]")) link.hidden = !ctx.alerts;
  views = {
    chat: new ChatView(ctx), runs: new RunsView(ctx), run: new RunView(ctx),
    approvals: new ApprovalsView(ctx), alerts: new AlertsView(ctx), schedules: new SchedulesView(ctx),
    knowledge: new KnowledgeView(ctx), usage: new UsageView(ctx), audit: new AuditView(ctx),
  };
  window.addEventListener("hashchange", () => route(ctx));
  route(ctx);
}

async function signIn(key, error) {
  try {
    const ctx = await identify(key);
    sessionStorage.setItem(KEY, key);
    start(ctx);
    return true;
  } catch (problem) {
    sessionStorage.removeItem(KEY);
    const unknown = problem instanceof ApiError && problem.status === 401;
    error.textContent = unknown ? "That API key is not known." : problem.message;
    return false;
  }
}

function main() {
  const form = $("signin-form");
  const error = $("signin-error");
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.hash = "";
    location.reload();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("signin-key").value.trim();
    if (key && (await signIn(key, error))) $("signin-key").value = "";
  });
  const saved = sessionStorage.getItem(KEY);
  if (saved) {
    signIn(saved, error).then((ok) => ok || showOnly("signin"));
  } else {
    showOnly("signin");
    $("signin-key").focus();
  }
}

main();
