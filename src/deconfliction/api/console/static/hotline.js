// The hotline: inbox (STOP first, as the server orders it), sent box, composing from the
// templates, acknowledging with the hash of the geometry shown, and the lines.
import { h, t, updateCountdown } from "./i18n.js";
import { geometryHash, signEd25519 } from "./canonical.js";
import { showFieldError, signingKeyInput } from "./operations.js";

const TEMPLATES = {
  "REQUEST-DECONFLICT": ["ROUTINE", "PRIORITY"], NOTIFY: ["ROUTINE", "PRIORITY"], STOP: ["STOP"],
  "QUERY-AFFILIATION": ["ROUTINE", "PRIORITY"], "NO-CLAIM": ["ROUTINE", "PRIORITY"], DISPUTE: ["ROUTINE", "PRIORITY"],
};
const ACTIONS = ["HOLD", "DELAY", "REROUTE", "CHANGE-ALTITUDE", "CANCEL"];
const STOP_REASONS = ["COLLISION-RISK", "FRIENDLY-FORCES", "CIVIL-TRAFFIC", "OTHER"];
const DISPUTE_REASONS = ["NOT-IN-CONFLICT", "GEOMETRY-WRONG", "TIME-WRONG", "PRIORITY", "OTHER"];
let box = "inbox";

export function stopBanner(ctx, banner) {
  const stops = ctx.state.inbox.filter((m) => m.class === "STOP" && m.template === "STOP" && m.state !== "acknowledged");
  banner.hidden = stops.length === 0;
  if (!stops.length) return;
  const m = stops[0];
  banner.replaceChildren(
    h("span", {}, `${t("stop-banner")} ${m.from}: ${m.rendered.summary}`),
    h("button", { type: "button", id: "stop-open", onclick: () => { box = "inbox"; ctx.showView("hotline"); document.querySelector(`[data-message="${m.id}"] button[data-ack]`)?.focus(); } }, t("open")),
  );
}

export function renderHotline(panel, ctx, { partial }) {
  if (partial && panel.querySelector("form.compose")) {
    const list = panel.querySelector("#messages");
    if (list) list.replaceWith(messageList(ctx));
    return;
  }
  panel.replaceChildren();
  const sub = (name) => h("button", { type: "button", class: box === name ? "" : "secondary", "aria-pressed": String(box === name), id: `box-${name}`, onclick: () => { box = name; renderHotline(panel, ctx, { partial: false }); } }, t(name));
  panel.append(h("div", { class: "actions" }, sub("inbox"), sub("sent"), sub("compose")));
  panel.append(h("p", { class: "error", id: "hotline-error", role: "alert" }));
  if (ctx.state.composeFor) box = "compose";
  if (box === "compose") panel.append(composeForm(ctx));
  else panel.append(messageList(ctx));
  panel.append(linesView(ctx), signingKeyInput(ctx));
}

function fmt(iso) {
  return iso ? iso.replace("T", " ").replace(/(\.\d+)?Z$/, "Z") : "";
}

function messageList(ctx) {
  const messages = box === "sent" ? ctx.state.sent : ctx.state.inbox;
  if (!messages.length) return h("p", { id: "messages" }, t("no-messages"));
  return h("ul", { class: "items", id: "messages", "aria-label": t(box) }, messages.map((m) => messageItem(ctx, m)));
}

function messageItem(ctx, m) {
  const r = m.rendered;
  const incoming = m.to === ctx.state.party;
  const deadline = !m.received_at ? ["receipt-due", m.deliver_by] : !m.acked_at && m.ack_by ? ["ack-due", m.ack_by] : null;
  const li = h("li", { "data-message": m.id, class: m.class === "STOP" ? "msg-STOP" : "" },
    h("div", { class: "row" },
      h("span", { class: `tag cls-${m.class}` }, r.class),
      h("strong", {}, `${m.template}`),
      h("span", {}, incoming ? `${m.from} → ${m.to}/${m.desk}` : `→ ${m.to}/${m.desk}`),
      h("span", { class: "tag" }, r.state),
      h("span", { class: "meta mono" }, m.id)),
    // The message as rendered for this reader, in its language and direction.
    h("div", { class: "rendered", lang: r.language, dir: r.direction },
      h("h3", {}, r.title),
      h("p", {}, r.summary),
      h("dl", {}, r.fields.map((f) => [h("dt", {}, f.label), h("dd", {}, f.value)])),
      m.annex ? h("p", {}, h("span", { class: "meta" }, `${r.annex_label}: `), h("span", { dir: "auto" }, m.annex)) : null),
    h("div", { class: "meta" }, `${fmt(m.created_at)}`,
      deadline ? [` · ${t(deadline[0])} `, h("span", { class: "countdown", "data-deadline": deadline[1] })] : null,
      m.geometry_sha256 ? h("span", { class: "mono", "data-hash": m.geometry_sha256 }, ` · ${t("ack-hash")} ${m.geometry_sha256.slice(0, 16)}…`) : null,
      escalationOf(ctx, m)),
    h("details", {}, h("summary", {}, t("original")), h("pre", { class: "mono", dir: "ltr" }, JSON.stringify(m.fields, null, 1))),
  );
  if (incoming && m.state !== "acknowledged" && m.template !== "ACK") {
    li.append(h("div", { class: "actions" }, h("button", {
      type: "button", "data-ack": m.id, class: m.class === "STOP" ? "danger" : "",
      "aria-label": `${t("ack")} ${m.template} ${m.id}`,
      onclick: async () => {
        const error = document.getElementById("hotline-error");
        try {
          // The hash of exactly the geometry this console showed: if it differs from what
          // was sent, the server refuses the acknowledgement (409 GeometryMismatch).
          const hash = await geometryHash(m.fields);
          const body = { geometry_sha256: hash };
          if (ctx.state.signingKey) {
            const payload = { kind: "hotline.ack", message: m.id, by: ctx.state.party, geometry_sha256: hash };
            body.signature = await signEd25519(ctx.state.signingKey, payload);
          }
          await ctx.api.post(`/v1/messages/${m.id}/ack`, body);
          await ctx.refresh(["messages"]);
        } catch (err) {
          error.textContent = `${t("error")}: ${err.message}`;
        }
      },
    }, t("ack"))));
  }
  for (const el of li.querySelectorAll("[data-deadline]")) updateCountdown(el);
  return li;
}

/** A missed deadline, as a state: the latest escalation the stream announced. */
function escalationOf(ctx, m) {
  const e = ctx.state.escalations.get(m.id) || m.escalations?.at(-1);
  if (!e || m.state === "acknowledged") return null;
  return h("span", { class: "tag tier-warning", "data-escalated": `${e.stage}:${e.level}` }, ` ${t("escalated")}: ${e.stage} ${e.level}`);
}

function linesView(ctx) {
  return h("section", { "aria-labelledby": "lines-title" },
    h("h2", { id: "lines-title" }, t("line")),
    h("ul", { class: "items" }, ctx.state.lines.map((l) => h("li", { "data-line": l.other },
      h("div", { class: "row" }, h("strong", {}, l.other), h("span", { class: l.state === "open" ? "tag state-activated" : "tag tier-warning" }, l.state === "open" ? t("open") : t("suspended")),
        l.suspended_by_them ? h("span", { class: "meta" }, `${l.suspended_by_them.party} · ${fmt(l.suspended_by_them.since)} · ${l.suspended_by_them.reason || ""}`) : null,
        h("button", {
          type: "button", class: "secondary", "aria-label": `${t(l.suspended_by_me ? "resume" : "suspend")} ${l.other}`,
          onclick: async () => {
            try {
              await ctx.api.post(`/v1/lines/${encodeURIComponent(l.other)}/${l.suspended_by_me ? "resume" : "suspend"}`, l.suspended_by_me ? undefined : {});
              await ctx.refresh(["lines"]);
            } catch (err) {
              document.getElementById("hotline-error").textContent = `${t("error")}: ${err.message}`;
            }
          },
        }, t(l.suspended_by_me ? "resume" : "suspend")))))));
}

function select(id, label, options, selected, field) {
  return [h("label", { for: id }, label), h("select", { id, "data-field": field }, options.map((o) => h("option", { value: o, selected: o === selected }, o)))];
}

function composeForm(ctx) {
  const preset = ctx.state.composeFor || {};
  ctx.state.composeFor = null;
  const others = ctx.state.lines.map((l) => l.other);
  const conflictsWith = (party) => ctx.state.conflicts.filter((c) => c.other_party === party).map((c) => c.reference);
  const form = h("form", { class: "grid compose", id: "compose", novalidate: true, "aria-labelledby": "compose-title" },
    h("h2", { class: "full", id: "compose-title" }, t("compose")),
    ...select("m-to", t("to"), others, preset.to, "to"),
    ...select("m-template", t("template"), Object.keys(TEMPLATES), preset.conflict ? "REQUEST-DECONFLICT" : "REQUEST-DECONFLICT", "template"),
    ...select("m-class", t("class"), TEMPLATES["REQUEST-DECONFLICT"], "PRIORITY", "class"),
    h("div", { class: "full", id: "m-fields" }),
    h("label", { for: "m-annex" }, t("annex")), h("textarea", { id: "m-annex", rows: "2", maxlength: "2000", "data-field": "annex", dir: "auto" }),
    h("p", { class: "meta full mono", id: "m-hash" }),
    h("p", { class: "error full", id: "compose-error", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "m-send" }, t("send"))),
  );
  const fieldsBox = form.querySelector("#m-fields");
  const v = (id) => form.querySelector(`#${id}`)?.value;
  const templateFields = () => {
    const tpl = v("m-template");
    const classSel = form.querySelector("#m-class");
    classSel.replaceChildren(...TEMPLATES[tpl].map((c) => h("option", { value: c, selected: c === "PRIORITY" }, c)));
    const refs = conflictsWith(v("m-to"));
    const conflictSel = (optional) => select("mf-conflict", t("conflict"), optional ? ["", ...refs] : refs, preset.conflict, "fields.conflict");
    const area = () => [
      h("label", { for: "mf-lon" }, "lon"), h("input", { id: "mf-lon", type: "number", step: "any", value: "40", "data-field": "fields.area.geometry" }),
      h("label", { for: "mf-lat" }, "lat"), h("input", { id: "mf-lat", type: "number", step: "any", value: "35", "data-field": "fields.area.geometry.coordinates" }),
      h("label", { for: "mf-radius" }, `${t("radius")} (km)`), h("input", { id: "mf-radius", type: "number", step: "any", value: "10", "data-field": "fields.area.footprint" })];
    const parts = {
      "REQUEST-DECONFLICT": () => [...conflictSel(false), ...select("mf-action", t("action"), ACTIONS, "HOLD", "fields.action"),
        h("label", { class: "row" }, h("input", { type: "checkbox", id: "mf-with-band", checked: true }), ` ${t("band")}`)],
      NOTIFY: () => [...select("mf-operation", t("operations"), ctx.state.operations.map((o) => o.id), null, "fields.operation"),
        h("label", { for: "mf-start" }, t("start")), h("input", { id: "mf-start", type: "datetime-local", "data-field": "fields.start" }),
        h("label", { for: "mf-end" }, t("end-time")), h("input", { id: "mf-end", type: "datetime-local", "data-field": "fields.end" })],
      STOP: () => [...area(), ...select("mf-reason", "reason", STOP_REASONS, "COLLISION-RISK", "fields.reason"), ...conflictSel(true)],
      "QUERY-AFFILIATION": () => [...area().slice(0, 4), h("label", { for: "mf-time" }, "time"), h("input", { id: "mf-time", type: "datetime-local", "data-field": "fields.time" })],
      "NO-CLAIM": () => conflictSel(false),
      DISPUTE: () => [...conflictSel(false), ...select("mf-reason", "reason", DISPUTE_REASONS, "NOT-IN-CONFLICT", "fields.reason")],
    }[tpl]();
    fieldsBox.replaceChildren(h("div", { class: "grid-inner" }, parts));
    for (const el of fieldsBox.querySelectorAll("input,select")) el.addEventListener("input", showHash);
    showHash();
  };
  const fields = () => {
    const tpl = v("m-template");
    const out = {};
    const utc = (s) => (s ? `${s.length === 16 ? `${s}:00` : s}Z` : undefined);
    if (v("mf-conflict")) out.conflict = v("mf-conflict");
    if (v("mf-action")) out.action = v("mf-action");
    if (v("mf-reason")) out.reason = v("mf-reason");
    if (tpl === "REQUEST-DECONFLICT" && form.querySelector("#mf-with-band")?.checked) {
      // The conflict's overlap band as the API gave it, so the reader's acknowledgement
      // echoes the hash of exactly this band.
      const c = ctx.state.conflicts.find((x) => x.reference === out.conflict);
      const band = c?.overlaps?.[0]?.altitude;
      if (band) out.altitude = { lower: band.lower_ft, upper: band.upper_ft, units: "ft", datum: band.datum };
    }
    if (tpl === "STOP") out.area = { geometry: { type: "Point", coordinates: [Number(v("mf-lon")), Number(v("mf-lat"))] }, footprint: { kind: "circle", radius: { value: Number(v("mf-radius")), units: "km" } } };
    if (tpl === "QUERY-AFFILIATION") { out.position = { type: "Point", coordinates: [Number(v("mf-lon")), Number(v("mf-lat"))] }; out.time = utc(v("mf-time")); }
    if (tpl === "NOTIFY") {
      const op = ctx.state.operations.find((o) => o.id === v("mf-operation"));
      if (op) out.operation = { party: op.party, operation_id: op.id, version: op.version };
      out.start = utc(v("mf-start"));
      out.end = utc(v("mf-end"));
    }
    return out;
  };
  async function showHash() {
    const hash = await geometryHash(fields());
    form.querySelector("#m-hash").textContent = hash ? `${t("ack-hash")}: ${hash}` : "";
  }
  form.querySelector("#m-to").addEventListener("change", templateFields);
  form.querySelector("#m-template").addEventListener("change", templateFields);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    form.querySelector("#compose-error").textContent = "";
    const body = { to: v("m-to"), class: v("m-class"), template: v("m-template"), fields: fields() };
    if (v("m-annex")) body.annex = v("m-annex");
    try {
      await ctx.api.post("/v1/messages", body);
      box = "sent";
      await ctx.refresh(["messages"]);
      renderHotline(document.getElementById("panel"), ctx, { partial: false });
      document.getElementById("box-sent")?.focus();
    } catch (err) {
      showFieldError(form, err, form.querySelector("#compose-error"));
    }
  });
  templateFields();
  return form;
}


