// The console's glue: sign-in, the header, the tabs, the party's data and its live stream.
import * as api from "./api.js";
import { h, setLanguage, t, updateCountdown } from "./i18n.js";
import { ConsoleMap } from "./map.js";
import { openStream } from "./stream.js";
import { renderOperations } from "./operations.js";
import { renderConflicts, urgencyOrder } from "./conflicts.js";
import { renderHotline, stopBanner } from "./hotline.js";
import { renderAlerts, renderRecords } from "./records.js";

const $ = (id) => document.getElementById(id);
const VIEWS = { operations: renderOperations, conflicts: renderConflicts, hotline: renderHotline, alerts: renderAlerts, records: renderRecords };

/** Everything the console knows, all of it read from the API as the party. */
export const state = {
  party: null, operations: [], conflicts: [], inbox: [], sent: [], lines: [], alerts: [],
  theyAcknowledged: new Set(), lastSeq: 0, view: "operations", selected: null, stream: null,
  signingKey: null, // the desk's private key (PEM), in memory only, when it chose one
  policies: [], escalations: new Map(), // message id -> its latest escalation
};
let consoleMap = null;
const ctx = { state, get map() { return consoleMap; }, refresh, render, select, api, showView };

function utcNow() {
  return new Date().toISOString().slice(0, 19).replace("T", " ");
}

function tickClock() {
  $("clock").textContent = utcNow();
  $("clock").dateTime = new Date().toISOString();
  if (state.view === "hotline" || state.view === "conflicts") {
    for (const el of document.querySelectorAll("[data-deadline]")) updateCountdown(el);
  }
  if ($("now").checked && consoleMap) setMapTime(Date.now(), false);
}

function setMapTime(ms, fromSlider) {
  const day = Date.parse(`${$("day-anchor").value}T00:00:00Z`);
  if (!fromSlider) $("time").value = String(Math.max(0, Math.min(1440, Math.round((ms - day) / 60000))));
  $("time-label").textContent = new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  consoleMap.setTime($("all-times").checked ? null : ms);
}

async function refresh(what = ["operations", "conflicts", "messages", "lines", "policies"]) {
  const jobs = [];
  if (what.includes("operations")) jobs.push(api.get("/v1/operations").then((r) => (state.operations = r.operations ?? r)));
  if (what.includes("conflicts")) jobs.push(api.get("/v1/conflicts").then((r) => (state.conflicts = urgencyOrder(r.conflicts ?? r))));
  if (what.includes("messages")) {
    jobs.push(api.get("/v1/messages?box=inbox&limit=200", { exact: true }).then((r) => (state.inbox = r.messages ?? r)));
    jobs.push(api.get("/v1/messages?box=sent&limit=200", { exact: true }).then((r) => (state.sent = r.messages ?? r)));
  }
  if (what.includes("lines")) jobs.push(api.get("/v1/lines").then((r) => (state.lines = r.lines ?? r)));
  if (what.includes("policies")) jobs.push(api.get("/v1/policies").then((r) => (state.policies = r)));
  await Promise.all(jobs);
  if (what.includes("messages")) {
    // Machine receipt for anything that reached the desk while no console was open.
    for (const m of state.inbox) {
      if (!m.received_at && !receipted.has(m.id)) {
        receipted.add(m.id);
        api.post(`/v1/messages/${m.id}/receipt`).catch(() => receipted.delete(m.id));
      }
    }
  }
  if (what.includes("operations") || what.includes("conflicts")) consoleMap.setData(state.operations, state.conflicts);
  render();
}

function render() {
  $("count-conflicts").textContent = state.conflicts.length ? String(state.conflicts.length) : "";
  const unacked = state.inbox.filter((m) => m.state !== "acknowledged").length;
  $("count-hotline").textContent = unacked ? String(unacked) : "";
  const warnings = state.alerts.filter((a) => a.change !== "cleared" && a.tier === "warning").length;
  $("count-alerts").textContent = warnings ? String(warnings) : "";
  stopBanner(ctx, $("stop-banner"));
  const panel = $("panel");
  const keep = panel.contains(document.activeElement) && document.activeElement.id ? document.activeElement.id : null;
  if (panel.querySelector("form[data-busy], form.compose, form.filing") && panel.dataset.view === state.view) {
    VIEWS[state.view](panel, ctx, { partial: true });
  } else {
    panel.replaceChildren();
    panel.dataset.view = state.view;
    VIEWS[state.view](panel, ctx, { partial: false });
  }
  if (keep && $(keep)) $(keep).focus();
}

function showView(view) {
  state.view = view;
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on) $("panel").setAttribute("aria-labelledby", tab.id);
  }
  $("panel").replaceChildren();
  delete $("panel").dataset.view;
  render();
}

function select(kind, id) {
  state.selected = { kind, id };
  if (kind === "operation") consoleMap.showOperation(id);
  else consoleMap.showConflict(id);
}

const REFRESH_ON = {
  "conflict.notice": ["conflicts", "operations"], "conflict.changed": ["conflicts", "operations"],
  "conflict.cleared": ["conflicts", "operations"], "conflict.acknowledged": ["conflicts"],
  "hotline.message": ["messages"], "hotline.receipt": ["messages"], "hotline.ack": ["messages"],
  "hotline.escalation": ["messages"], "hotline.refused": ["messages"], "hotline.line": ["lines"],
};
let pending = new Set();
const receipted = new Set(); // messages whose machine receipt this console has sent
let timer = null;

function onEvent(event, { history }) {
  state.lastSeq = Math.max(state.lastSeq, event.seq);
  if (event.kind === "conflict.acknowledged") state.theyAcknowledged.add(event.payload.reference);
  // The other side's acknowledgement covers our version: it still stands when only their
  // side changed (a new reference for the same pair of versions of ours), not when ours did.
  const p = event.payload || {};
  if (event.kind === "conflict.changed" && state.theyAcknowledged.has(p.previous_reference) && p.changed_by !== state.party) {
    state.theyAcknowledged.add(p.reference);
  }
  if (event.kind === "hotline.escalation") state.escalations.set(p.message, p);
  if (event.kind === "tactical.alert") {
    state.alerts.unshift({ seq: event.seq, at: event.at, ...event.payload });
    state.alerts.length = Math.min(state.alerts.length, 300);
  }
  if (event.kind === "hotline.message" && !history && !receipted.has(p.message.id)) {
    // Machine receipt at once: the desk's console has it (docs/hotline.md).
    receipted.add(p.message.id);
    api.post(`/v1/messages/${p.message.id}/receipt`).catch(() => receipted.delete(p.message.id));
  }
  if (history) return;
  for (const what of REFRESH_ON[event.kind] || []) pending.add(what);
  if (event.kind === "tactical.alert") render();
  clearTimeout(timer);
  timer = setTimeout(() => {
    const what = [...pending];
    pending = new Set();
    if (what.length) refresh(what).catch(showFailure);
  }, 40);
}

function showFailure(err) {
  console.error(err);
  if (err.status === 401) signOutNow();
}

async function start() {
  const s = api.current();
  $("signin-view").hidden = true;
  $("workspace").hidden = false;
  $("who").hidden = false;
  $("signout").hidden = false;
  $("who-party").textContent = s.party;
  $("who-client").textContent = s.clientId;
  state.party = s.party;
  if (!consoleMap) {
    consoleMap = new ConsoleMap($("map"));
    consoleMap.loadBase().catch(showFailure);
  }
  // Where the outbox stands now: the snapshot below covers everything up to it; older
  // events are read as history (acknowledgements and alerts), newer ones refresh the view.
  const head = await api.get("/v1/events?after=0&limit=1");
  const snapshot = head.last_seq;
  await refresh();
  consoleMap.fitAll();
  const first = state.operations.flatMap((o) => o.volumes.map((v) => v.time.start)).sort()[0];
  $("day-anchor").value = (first || new Date().toISOString()).slice(0, 10);
  setMapTime(Date.now(), false);
  state.stream = openStream(0, (e) => onEvent(e, { history: e.seq <= snapshot }), (st) => {
    $("live").dataset.state = st;
    $("live").textContent = t(st === "live" ? "live" : st === "reconnecting" ? "reconnecting" : "offline-state");
  });
  document.body.dataset.ready = "true";
  performance.mark("console-ready"); // the first usable view (benchmarks/console_load.py)
}

function signOutNow() {
  state.stream?.close();
  api.signOut();
  location.hash = "";
  location.reload();
}

function wire() {
  const saved = localStorage.getItem("deconfliction.lang");
  $("lang").value = saved || (navigator.language || "en").slice(0, 2);
  if (!$("lang").value) $("lang").value = "en";
  setLanguage($("lang").value);
  $("lang").addEventListener("change", () => {
    localStorage.setItem("deconfliction.lang", $("lang").value);
    setLanguage($("lang").value);
    if (state.party) refresh(["messages"]).catch(showFailure);
  });
  const anchor = h("input", { type: "hidden", id: "day-anchor" });
  document.body.append(anchor);
  $("time").addEventListener("input", () => {
    $("now").checked = false;
    const ms = Date.parse(`${$("day-anchor").value}T00:00:00Z`) + Number($("time").value) * 60000;
    setMapTime(ms, true);
  });
  $("now").addEventListener("change", () => $("now").checked && setMapTime(Date.now(), false));
  $("all-times").addEventListener("change", () => consoleMap && consoleMap.setTime($("all-times").checked ? null : Date.parse(`${$("time-label").textContent.replace(" ", "T")}:00Z`)));
  $("signout").addEventListener("click", signOutNow);
  // Tabs: arrows move between them (WAI-ARIA tabs pattern), Enter/Space or click selects.
  const tabs = [...document.querySelectorAll("[role=tab]")];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => showView(tab.dataset.view));
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      const dir = document.documentElement.dir === "rtl" ? -step : step;
      const next = tabs[(i + dir + tabs.length) % tabs.length];
      next.focus();
      showView(next.dataset.view);
    });
  });
  $("signin").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("signin-error").textContent = "";
    try {
      await api.signIn($("client-id").value.trim(), $("client-secret").value);
      await start();
    } catch (err) {
      $("signin-error").textContent = err.message;
    }
  });
  setInterval(tickClock, 1000);
  tickClock();
}

async function main() {
  wire();
  // A sign-in link carries the credential in the fragment (never sent to the server);
  // it is used once and removed from the address bar and history.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("client_id") && fragment.get("secret")) {
    history.replaceState(null, "", location.pathname);
    $("client-id").value = fragment.get("client_id");
    try {
      await api.signIn(fragment.get("client_id"), fragment.get("secret"));
    } catch (err) {
      $("signin-error").textContent = err.message;
    }
  }
  if (api.current()) {
    try {
      await start();
      return;
    } catch (err) {
      api.signOut();
    }
  }
  $("signin-view").hidden = false;
  $("client-id").focus();
}

main();
