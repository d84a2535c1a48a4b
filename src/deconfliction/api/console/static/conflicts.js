// The conflict queue, most urgent first: time to the first overlap. Each conflict shows what
// the API gave for it and nothing else (its region is drawn on the map as given).
import { h, t, updateCountdown } from "./i18n.js";

export function urgencyOrder(conflicts) {
  const key = (c) => (c.window ? Date.parse(c.window.start) : Number.POSITIVE_INFINITY);
  return [...conflicts].sort((a, b) => key(a) - key(b) || a.reference.localeCompare(b.reference));
}

function fmt(iso) {
  return iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z");
}

export function renderConflicts(panel, ctx) {
  const { state } = ctx;
  panel.replaceChildren();
  panel.append(h("h2", {}, t("conflicts")), h("p", { class: "error", id: "conflicts-error", role: "alert" }));
  if (!state.conflicts.length) {
    panel.append(h("p", {}, t("no-conflicts")));
    return;
  }
  // Only the first few hundred are put in the page: the queue is read from the top.
  const shown = state.conflicts.slice(0, 300);
  panel.append(h("ul", { class: "items", id: "conflict-list", "aria-label": t("conflicts") }, shown.map((c) => {
    const band = c.overlaps?.[0]?.altitude;
    const theirs = state.theyAcknowledged.has(c.reference);
    // Lead time against the pair's policy: the time left before the first overlap, and the
    // notice the two parties agreed to give each other.
    const policy = state.policies.find((p) => p.parties.includes(c.other_party));
    const left_s = c.window ? (Date.parse(c.window.start) - Date.now()) / 1000 : null;
    const short = policy && left_s !== null && left_s < policy.min_lead_s;
    return h("li", { "data-reference": c.reference },
      h("div", { class: "row" },
        h("strong", { class: "mono" }, c.reference),
        h("span", {}, `${c.operation_id} v${c.operation_version} ${t("with")} ${c.other_party}`),
        h("span", { class: "tag" }, `${t("visibility")}: ${c.visibility}`)),
      c.window ? h("div", { class: "row meta" },
        `${fmt(c.window.start)} – ${fmt(c.window.end)}`,
        band ? `· ${band.lower_ft}–${band.upper_ft} ft ${band.datum}` : null,
        h("span", {}, `· ${t("first-overlap")}: `),
        h("span", { class: "countdown", "data-deadline": c.window.start })) : null,
      policy && policy.min_lead_s > 0 ? h("div", { class: short ? "meta tier-warning" : "meta", "data-lead": short ? "short" : "ok" },
        `${t("lead")}: ${t("policy-min")} ${Math.round(policy.min_lead_s / 60)} min${short ? ` — ${t("inside-lead")}` : ""}`) : null,
      c.visibility !== "overlap" ? h("div", { class: "meta", "data-region": "withheld" }, t("region-hidden")) : null,
      h("div", { class: "meta", "data-ack": "ours" }, t(c.acknowledged ? "acknowledged-by-us" : "not-acknowledged-by-us")),
      h("div", { class: "meta", "data-ack": "theirs" }, t(theirs ? "acknowledged-by-them" : "not-acknowledged-by-them")),
      h("div", { class: "actions" },
        c.window && c.visibility === "overlap" ? h("button", { type: "button", class: "secondary", onclick: () => ctx.select("conflict", c.reference) }, t("show")) : null,
        c.acknowledged ? null : h("button", {
          type: "button", "aria-label": `${t("acknowledge")} ${c.reference}`,
          onclick: async () => {
            try {
              await ctx.api.post(`/v1/conflicts/${encodeURIComponent(c.reference)}/acknowledge`, {});
              await ctx.refresh(["conflicts"]);
            } catch (err) {
              panel.querySelector("#conflicts-error").textContent = `${t("error")}: ${err.message}`;
            }
          },
        }, t("acknowledge")),
        h("button", {
          type: "button", class: "secondary", "data-request": c.reference,
          onclick: () => { ctx.state.composeFor = { to: c.other_party, conflict: c.reference }; ctx.showView("hotline"); },
        }, "REQUEST-DECONFLICT"),
      ));
  })));
  if (state.conflicts.length > shown.length) panel.append(h("p", { class: "meta" }, `+ ${state.conflicts.length - shown.length}`));
  for (const el of panel.querySelectorAll("[data-deadline]")) updateCountdown(el);
}
