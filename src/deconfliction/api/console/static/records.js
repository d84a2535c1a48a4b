// Live alerts (from the event stream), and the records: the audit chain, a day's conflicts,
// and a printed plan for the shift briefing.
import { h, t } from "./i18n.js";

function fmt(iso) {
  return iso ? iso.replace("T", " ").replace(/(\.\d+)?Z$/, "Z") : "";
}

export function renderAlerts(panel, ctx) {
  panel.replaceChildren(h("h2", {}, t("alerts")));
  // The newest state of each alert (same kind and same tracks or operation).
  const latest = new Map();
  for (const a of ctx.state.alerts) {
    const key = `${a.alert}:${(a.tracks || [a.track]).map((x) => x && `${x.party}/${x.id}`).join("+")}:${a.operation?.reference || ""}`;
    if (!latest.has(key)) latest.set(key, a);
  }
  const alerts = [...latest.values()].filter((a) => a.change !== "cleared");
  if (!alerts.length) {
    panel.append(h("p", {}, t("no-alerts")));
    return;
  }
  panel.append(h("ul", { class: "items", id: "alert-list" }, alerts.map((a) => h("li", { "data-alert": a.seq },
    h("div", { class: "row" }, h("span", { class: `tag tier-${a.tier}` }, `${t("tier")}: ${a.tier}`), h("strong", {}, a.alert), h("span", { class: "meta" }, a.change)),
    h("div", { class: "meta" }, fmt(a.time || a.at), " · ",
      (a.tracks || [a.track]).filter(Boolean).map((x) => `${x.party}/${x.id}`).join(" ↔ "),
      a.operation ? ` → ${a.operation.party} ${a.operation.reference}` : "",
      a.t_in_s !== undefined ? ` · t ${Math.round(a.t_in_s)} s` : "",
      a.dcpa_m !== undefined ? ` · ${Math.round(a.dcpa_m)} m` : "")))));
}

function download(name, value) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 1)], { type: "application/json" }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function onDay(day, start, end) {
  const d0 = Date.parse(`${day}T00:00:00Z`);
  return Date.parse(start) < d0 + 86400000 && Date.parse(end) > d0;
}

function dayConflicts(ctx, day) {
  return ctx.state.conflicts.filter((c) => c.window && onDay(day, c.window.start, c.window.end));
}

function dayOperations(ctx, day) {
  return ctx.state.operations.filter((o) => o.volumes.some((v) => onDay(day, v.time.start, v.time.end)));
}

export function renderRecords(panel, ctx) {
  const day = document.getElementById("day-anchor").value || new Date().toISOString().slice(0, 10);
  const status = h("p", { class: "error", id: "records-error", role: "alert" });
  panel.replaceChildren(
    h("h2", {}, t("records")),
    h("div", { class: "row" }, h("label", { for: "r-day" }, t("day")), h("input", { id: "r-day", type: "date", value: day })),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "export-audit", onclick: async () => {
        try {
          download(`audit-${ctx.state.party}.json`, await ctx.api.get("/v1/audit/export"));
        } catch (err) {
          status.textContent = `${t("error")}: ${err.message}`;
        }
      } }, t("export-audit")),
      h("button", { type: "button", id: "export-conflicts", onclick: () => {
        const d = panel.querySelector("#r-day").value;
        download(`conflicts-${ctx.state.party}-${d}.json`, { party: ctx.state.party, day: d, conflicts: dayConflicts(ctx, d) });
      } }, t("export-conflicts")),
      h("button", { type: "button", id: "print-day", onclick: () => { printDay(ctx, panel.querySelector("#r-day").value); window.print(); } }, t("print")),
    ),
    status,
  );
}

/** The day's plan and conflicts as tables in #print (shown only when printing). */
export function printDay(ctx, day) {
  const ops = dayOperations(ctx, day);
  const conflicts = dayConflicts(ctx, day);
  const table = (head, rows) => h("table", {}, h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))), h("tbody", {}, rows.map((r) => h("tr", {}, r.map((x) => h("td", {}, x))))));
  document.getElementById("print").replaceChildren(
    h("h1", {}, `${ctx.state.party} — ${day} (UTC)`),
    h("h2", {}, `${t("operations")} (${ops.length})`),
    table([t("id"), t("state"), t("version"), t("start"), t("end-time"), t("kind")],
      ops.map((o) => [o.id, o.state, String(o.version), fmt(o.volumes[0].time.start), fmt(o.volumes.at(-1).time.end), o.volumes.map((v) => v.footprint.kind).join(", ")])),
    h("h2", {}, `${t("conflicts")} (${conflicts.length})`),
    table([t("conflict"), t("operations"), t("with"), t("start"), t("end-time"), "ft"],
      conflicts.map((c) => [c.reference, `${c.operation_id} v${c.operation_version}`, c.other_party, fmt(c.window.start), fmt(c.window.end),
        c.overlaps?.[0] ? `${c.overlaps[0].altitude.lower_ft}–${c.overlaps[0].altitude.upper_ft}` : ""])),
  );
}
