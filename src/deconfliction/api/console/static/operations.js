// Own operations: the list with their lifecycle, filing (drawn on the map or typed), GeoJSON
// import, and activation through proof of awareness.
import { h, t } from "./i18n.js";
import { ApiError } from "./api.js";
import { footprintRings, ringsLayer } from "./geometry.js";
import { signEd25519 } from "./canonical.js";

const NEXT = { proposed: ["accept", "cancel"], accepted: ["activate", "cancel"], activated: ["end", "cancel"] };
let draft = { kind: "polygon", points: [] };
let clickHandler = null;

function utcInput(date) {
  return date.toISOString().slice(0, 16);
}

function fmtUtc(iso) {
  return iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z");
}

export function renderOperations(panel, ctx, { partial }) {
  if (partial) {
    const list = panel.querySelector("#op-list");
    if (list) list.replaceWith(operationList(ctx));
    return;
  }
  panel.append(
    h("div", { class: "actions" },
      h("button", { type: "button", id: "new-operation", onclick: () => openFiling(panel, ctx) }, t("file-new")),
      h("label", { class: "secondary", for: "import-file" }, `${t("import")}: `),
      h("input", { type: "file", id: "import-file", accept: ".geojson,.json,application/geo+json,application/json", onchange: (e) => importFile(e.target, ctx, panel) }),
    ),
    h("p", { class: "error", id: "ops-error", role: "alert" }),
    h("div", { id: "filing-slot" }),
    operationList(ctx),
  );
}

function operationList(ctx) {
  const ops = [...ctx.state.operations].sort((a, b) => earliest(a).localeCompare(earliest(b)));
  if (!ops.length) return h("p", { id: "op-list" }, t("no-operations"));
  const conflictsByOp = new Map();
  for (const c of ctx.state.conflicts) conflictsByOp.set(c.operation_id, (conflictsByOp.get(c.operation_id) || 0) + 1);
  return h("ul", { class: "items", id: "op-list", "aria-label": t("operations") },
    ops.map((op) => h("li", { "data-operation": op.id },
      h("div", { class: "row" },
        h("strong", {}, op.id),
        h("span", { class: `tag state-${op.state}` }, op.state),
        h("span", { class: "meta" }, `${t("version")} ${op.version}`),
        conflictsByOp.get(op.id) ? h("span", { class: "tag tier-warning" }, `${conflictsByOp.get(op.id)} ${t("conflicts").toLowerCase()}`) : null,
      ),
      h("div", { class: "meta" }, op.volumes.map((v) => `${fmtUtc(v.time.start)} – ${fmtUtc(v.time.end)} · ${v.footprint.kind} · ${band(v.altitude)}`).join("; ")),
      op.notice?.late ? h("div", { class: "meta" }, `${t("late-for")}: ${op.notice.late_for.join(", ")}`) : null,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => ctx.select("operation", op.id) }, t("show")),
        (NEXT[op.state] || []).map((action) => h("button", {
          type: "button", class: action === "cancel" ? "secondary" : "",
          "data-action": action, "aria-label": `${t(action)} ${op.id}`,
          onclick: () => transition(ctx, op, action),
        }, t(action))),
      ),
    )),
  );
}

function earliest(op) {
  return op.volumes.map((v) => v.time.start).sort()[0] || "";
}

function band(a) {
  return a.units === "FL" ? `FL${a.lower}–FL${a.upper}` : `${a.lower}–${a.upper} ${a.units} ${a.datum || ""}`.trim();
}

async function transition(ctx, op, action) {
  const error = document.getElementById("ops-error");
  error.textContent = "";
  try {
    await ctx.api.post(`/v1/operations/${encodeURIComponent(op.id)}/${action}`, { version: op.version });
    await ctx.refresh(["operations", "conflicts"]);
  } catch (err) {
    if (err instanceof ApiError && err.type === "AwarenessRequired") return awareness(ctx, op, err.details || []);
    error.textContent = `${t("error")}: ${err.message}`;
  }
}

/** Proof of awareness: the conflicts to acknowledge, one by one, then activation. */
function awareness(ctx, op, conflicts) {
  const dialog = document.getElementById("dialog");
  const body = document.getElementById("dialog-body");
  const activate = h("button", { type: "button", id: "activate-now", disabled: true }, t("activate-now"));
  const status = h("p", { class: "error", role: "alert", id: "awareness-error" });
  const pending = new Set(conflicts.map((c) => c.reference));
  const items = conflicts.map((c) => {
    const button = h("button", { type: "button", "data-reference": c.reference, "aria-label": `${t("acknowledge")} ${c.reference}` }, t("acknowledge"));
    button.addEventListener("click", async () => {
      status.textContent = "";
      try {
        const payload = { kind: "conflict.acknowledged", reference: c.reference, by: ctx.state.party, operation_id: c.operation_id, operation_version: c.operation_version, other_party: c.other_party };
        const pem = ctx.state.signingKey;
        const signature = pem ? await signEd25519(pem, payload) : undefined;
        await ctx.api.post(`/v1/conflicts/${encodeURIComponent(c.reference)}/acknowledge`, signature ? { signature } : {});
        pending.delete(c.reference);
        button.disabled = true;
        button.textContent = `✓ ${t("done")}`;
        activate.disabled = pending.size > 0;
        (pending.size ? body.querySelector("[data-reference]:not([disabled])") : activate)?.focus();
      } catch (err) {
        status.textContent = `${t("error")}: ${err.field ? `${err.field}: ` : ""}${err.message}`;
      }
    });
    return h("li", {},
      h("div", { class: "row" }, h("strong", { class: "mono" }, c.reference), `${t("with")} ${c.other_party}`),
      c.window ? h("div", { class: "meta" }, `${fmtUtc(c.window.start)} – ${fmtUtc(c.window.end)}`) : null,
      button);
  });
  activate.addEventListener("click", async () => {
    try {
      const fresh = ctx.state.operations.find((o) => o.id === op.id) || op;
      await ctx.api.post(`/v1/operations/${encodeURIComponent(op.id)}/activate`, { version: fresh.version });
      dialog.close();
      await ctx.refresh(["operations", "conflicts"]);
    } catch (err) {
      status.textContent = `${t("error")}: ${err.message}`;
    }
  });
  body.replaceChildren(
    h("h2", { id: "dialog-title" }, `${t("awareness-title")}: ${op.id}`),
    h("p", {}, t("awareness-hint")),
    h("ul", { class: "items" }, items),
    signingKeyInput(ctx),
    status,
    h("div", { class: "actions" }, activate, h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, t("close"))),
  );
  dialog.showModal();
  body.querySelector("[data-reference]")?.focus();
}

// -- filing ----------------------------------------------------------------------------------

const KINDS = ["polygon", "circle", "corridor", "racetrack", "arc_sector"];

function lengthInput(name, label, value, units = "km") {
  return [
    h("label", { for: `f-${name}` }, t(label)),
    h("span", { class: "row" },
      h("input", { id: `f-${name}`, type: "number", step: "any", min: "0", value, "data-field": `volumes[0].footprint.${name}`, "aria-describedby": `f-${name}-units` }),
      h("select", { id: `f-${name}-units`, "aria-label": `${t(label)} ${t("units")}`, "data-field": `volumes[0].footprint.${name}.units` },
        ["m", "km", "nm", "ft"].map((u) => h("option", { value: u, selected: u === units }, u)))),
  ];
}

function openFiling(panel, ctx) {
  const slot = panel.querySelector("#filing-slot");
  const start = new Date(Math.ceil(Date.now() / 3600000) * 3600000 + 3600000);
  const end = new Date(start.getTime() + 2 * 3600000);
  const kindSelect = h("select", { id: "f-kind", "data-field": "volumes[0].footprint.kind" }, KINDS.map((k) => h("option", { value: k }, t(k))));
  const form = h("form", { class: "grid filing", id: "filing", novalidate: true, "aria-labelledby": "filing-title" },
    h("h2", { class: "full", id: "filing-title" }, t("file-new")),
    h("label", { for: "f-id" }, t("id")), h("input", { id: "f-id", required: true, "data-field": "id", autocomplete: "off" }),
    h("label", { for: "f-kind" }, t("kind")), kindSelect,
    h("p", { class: "hint full" }, t("draw-hint")),
    h("label", { for: "f-points" }, t("points")),
    h("textarea", { id: "f-points", rows: "4", class: "mono", "data-field": "volumes[0].geometry" }),
    h("div", { class: "full kind-fields", id: "kind-fields" }),
    h("fieldset", {}, h("legend", {}, "Altitude"),
      h("div", { class: "row" },
        h("label", { for: "f-lower" }, t("lower")), h("input", { id: "f-lower", type: "number", step: "any", value: "100", "data-field": "volumes[0].altitude.lower", size: "6" }),
        h("label", { for: "f-upper" }, t("upper")), h("input", { id: "f-upper", type: "number", step: "any", value: "200", "data-field": "volumes[0].altitude.upper", size: "6" }),
        h("label", { for: "f-alt-units" }, t("units")),
        h("select", { id: "f-alt-units", "data-field": "volumes[0].altitude.units" }, ["FL", "ft", "m"].map((u) => h("option", { value: u }, u))),
        h("label", { for: "f-datum" }, t("datum")),
        h("select", { id: "f-datum", "data-field": "volumes[0].altitude.datum" }, ["MSL", "AGL", "W84"].map((u) => h("option", { value: u }, u))),
      )),
    h("label", { for: "f-start" }, t("start")), h("input", { id: "f-start", type: "datetime-local", value: utcInput(start), "data-field": "volumes[0].time.start" }),
    h("label", { for: "f-end" }, t("end-time")), h("input", { id: "f-end", type: "datetime-local", value: utcInput(end), "data-field": "volumes[0].time.end" }),
    h("label", { for: "f-priority" }, t("priority")), h("input", { id: "f-priority", type: "number", min: "0", max: "100", value: "10", "data-field": "priority" }),
    h("label", { for: "f-purpose" }, t("purpose")), h("input", { id: "f-purpose", "data-field": "purpose" }),
    h("p", { class: "error full", id: "filing-error", role: "alert" }),
    h("div", { class: "actions" },
      h("button", { type: "submit", id: "file-submit" }, t("file")),
      h("button", { type: "button", class: "secondary", onclick: () => { draft.points = []; syncPoints(form, ctx); } }, t("clear")),
      h("button", { type: "button", class: "secondary", onclick: () => closeFiling(slot, ctx) }, t("close")),
    ),
  );
  const kindFields = () => {
    const box = form.querySelector("#kind-fields");
    draft.kind = kindSelect.value;
    const k = draft.kind;
    const parts = k === "circle" ? lengthInput("radius", "radius", "5")
      : k === "corridor" || k === "racetrack" ? lengthInput("width", "width", "10")
      : k === "arc_sector" ? [
        ...lengthInput("inner_radius", "inner-radius", "5"), ...lengthInput("outer_radius", "outer-radius", "20"),
        h("label", { for: "f-start_bearing_deg" }, t("start-bearing")), h("input", { id: "f-start_bearing_deg", type: "number", step: "any", value: "0", "data-field": "volumes[0].footprint.start_bearing_deg" }),
        h("label", { for: "f-end_bearing_deg" }, t("end-bearing")), h("input", { id: "f-end_bearing_deg", type: "number", step: "any", value: "90", "data-field": "volumes[0].footprint.end_bearing_deg" })]
      : [];
    box.replaceChildren(h("div", { class: "grid-inner" }, parts));
    for (const el of box.querySelectorAll("input,select")) el.addEventListener("input", () => preview(form, ctx));
    preview(form, ctx);
  };
  kindSelect.addEventListener("change", kindFields);
  form.querySelector("#f-alt-units").addEventListener("change", (e) => { form.querySelector("#f-datum").disabled = e.target.value === "FL"; });
  form.querySelector("#f-datum").disabled = true;
  form.querySelector("#f-points").addEventListener("input", () => { draft.points = parsePoints(form.querySelector("#f-points").value); preview(form, ctx); });
  form.addEventListener("submit", (e) => { e.preventDefault(); submitFiling(form, ctx, slot); });
  slot.replaceChildren(form);
  draft = { kind: "polygon", points: [] };
  kindFields();
  if (clickHandler) ctx.map.map.off("click", clickHandler);
  clickHandler = (e) => {
    const p = [Number(e.latlng.lng.toFixed(5)), Number(e.latlng.lat.toFixed(5))];
    draft.points = draft.kind === "circle" || draft.kind === "arc_sector" ? [p]
      : draft.kind === "racetrack" ? [...draft.points, p].slice(-2) : [...draft.points, p];
    syncPoints(form, ctx);
  };
  ctx.map.map.on("click", clickHandler);
  form.querySelector("#f-id").focus();
}

function closeFiling(slot, ctx) {
  slot.replaceChildren();
  if (clickHandler) ctx.map.map.off("click", clickHandler);
  clickHandler = null;
  ctx.map.draft.clearLayers();
  document.getElementById("new-operation")?.focus();
}

function parsePoints(text) {
  return text.split("\n").map((l) => l.trim().split(/[\s,]+/).map(Number)).filter((p) => p.length === 2 && p.every(Number.isFinite));
}

function syncPoints(form, ctx) {
  form.querySelector("#f-points").value = draft.points.map((p) => p.join(" ")).join("\n");
  preview(form, ctx);
}

function volumeOf(form) {
  const v = (id) => form.querySelector(`#${id}`)?.value;
  const kind = v("f-kind");
  const pts = parsePoints(v("f-points") || "");
  const length = (name) => ({ value: Number(v(`f-${name}`)), units: v(`f-${name}-units`) });
  const geometry = kind === "polygon" ? { type: "Polygon", coordinates: [pts.length ? [...pts, pts[0]] : []] }
    : kind === "circle" || kind === "arc_sector" ? { type: "Point", coordinates: pts[0] || [] }
    : { type: "LineString", coordinates: pts };
  const footprint = { kind };
  if (kind === "circle") footprint.radius = length("radius");
  if (kind === "corridor" || kind === "racetrack") footprint.width = length("width");
  if (kind === "arc_sector") {
    footprint.inner_radius = length("inner_radius");
    footprint.outer_radius = length("outer_radius");
    footprint.start_bearing_deg = Number(v("f-start_bearing_deg"));
    footprint.end_bearing_deg = Number(v("f-end_bearing_deg"));
  }
  const altitude = { lower: Number(v("f-lower")), upper: Number(v("f-upper")), units: v("f-alt-units") };
  if (altitude.units !== "FL") altitude.datum = v("f-datum");
  const utc = (s) => (s ? `${s.length === 16 ? `${s}:00` : s}Z` : "");
  return { geometry, footprint, altitude, time: { start: utc(v("f-start")), end: utc(v("f-end")) } };
}

function preview(form, ctx) {
  ctx.map.draft.clearLayers();
  try {
    const rings = footprintRings(volumeOf(form));
    if (rings.some((r) => r.length > 2)) ringsLayer(rings, { color: "#7a4b00", dashArray: "6 4", weight: 2, fillOpacity: 0.1 }).addTo(ctx.map.draft);
  } catch {
    // an incomplete drawing has nothing to show yet
  }
}

/** Show an API error on the field it names (the longest data-field that prefixes it). */
export function showFieldError(form, err, fallback) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  let best = null;
  if (err.field) {
    for (const el of form.querySelectorAll("[data-field]")) {
      const f = el.dataset.field;
      if ((err.field === f || err.field.startsWith(`${f}.`) || err.field.startsWith(`${f}[`)) && (!best || f.length > best.dataset.field.length)) best = el;
    }
  }
  if (!best) {
    fallback.textContent = `${t("error")}: ${err.field ? `${err.field}: ` : ""}${err.message}`;
    return;
  }
  const id = `${best.id}-error`;
  best.setAttribute("aria-invalid", "true");
  best.setAttribute("aria-describedby", id);
  best.insertAdjacentElement("afterend", h("p", { class: "field-error", id, role: "alert" }, `${err.field}: ${err.message}`));
  best.focus();
}

async function submitFiling(form, ctx, slot) {
  const error = form.querySelector("#filing-error");
  error.textContent = "";
  const body = {
    id: form.querySelector("#f-id").value.trim(),
    priority: Number(form.querySelector("#f-priority").value || 0),
    volumes: [volumeOf(form)],
  };
  const purpose = form.querySelector("#f-purpose").value.trim();
  if (purpose) body.purpose = purpose;
  try {
    await ctx.api.post("/v1/operations", body);
    closeFiling(slot, ctx);
    await ctx.refresh(["operations", "conflicts"]);
    document.getElementById("ops-error").textContent = `${t("filed")}: ${body.id}`;
    ctx.select("operation", body.id);
  } catch (err) {
    showFieldError(form, err, error);
  }
}

/** A GeoJSON operations file (docs/geojson-format.md): the party's own features, filed as one batch. */
async function importFile(input, ctx, panel) {
  const error = panel.querySelector("#ops-error");
  error.textContent = "";
  const file = input.files[0];
  if (!file) return;
  try {
    const doc = JSON.parse(await file.text());
    const byId = new Map();
    for (const f of doc.features || []) {
      const p = f.properties || {};
      if ((p.feature || "operation") !== "operation") continue;
      if (p.party !== ctx.state.party) throw new Error(`${p.party}/${p.operation_id}: not an operation of ${ctx.state.party}`);
      if (!byId.has(p.operation_id)) byId.set(p.operation_id, { id: p.operation_id, priority: p.priority ?? 0, volumes: [] });
      byId.get(p.operation_id).volumes.push({ geometry: f.geometry, footprint: p.footprint, altitude: p.altitude, time: p.time });
    }
    const out = await ctx.api.post("/v1/operations/batch", { operations: [...byId.values()] });
    error.textContent = `${t("filed")}: ${out.length}`;
    await ctx.refresh(["operations", "conflicts"]);
    ctx.map.fitAll();
  } catch (err) {
    error.textContent = `${t("error")}: ${err.field ? `${err.field}: ` : ""}${err.message}`;
  } finally {
    input.value = "";
  }
}

/** Choose the desk's Ed25519 private key (PEM): kept in memory only, used to sign
 * acknowledgements in the browser when the party has registered a key (docs/audit.md). */
export function signingKeyInput(ctx) {
  return h("div", { class: "row" },
    h("label", { for: "signing-key" }, t("signing-key")),
    h("input", { type: "file", id: "signing-key", accept: ".pem", onchange: async (e) => { ctx.state.signingKey = (await e.target.files[0]?.text()) || null; } }),
    ctx.state.signingKey ? h("span", { class: "meta" }, "✓") : null);
}
