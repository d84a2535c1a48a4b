// The map: an offline base layer from Natural Earth (world-atlas TopoJSON, decoded with
// topojson-client), a lat/lon grid and a scale bar, then the party's own operations and its
// conflicts' overlaps, filtered by the time slider.
import { footprintRings, regionLayer, ringsLayer } from "./geometry.js";

const STATE_COLOURS = { proposed: "#4a5260", accepted: "#0b4f9c", activated: "#1d6b2f", ended: "#8a9099", cancelled: "#8a9099" };
const OVERLAP = { color: "#b3261e", weight: 2, fillColor: "#e4574d", fillOpacity: 0.35 };

export class ConsoleMap {
  constructor(element) {
    this.renderer = L.canvas({ padding: 0.3 });
    this.map = L.map(element, { preferCanvas: true, renderer: this.renderer, worldCopyJump: true, zoomSnap: 0.5, keyboard: true });
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution("Natural Earth (public domain), Leaflet");
    L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(this.map);
    this.map.setView([35, 40], 6);
    this.base = L.layerGroup().addTo(this.map);
    this.grid = L.layerGroup().addTo(this.map);
    this.ops = L.layerGroup().addTo(this.map);
    this.overlaps = L.layerGroup().addTo(this.map);
    this.draft = L.layerGroup().addTo(this.map);
    this.time = null; // null: every time
    this.items = { ops: [], conflicts: [] };
    this.map.on("moveend", () => this.drawGrid());
    this.drawGrid();
  }

  async loadBase() {
    const r = await fetch("vendor/world-atlas-2.0.2-countries-50m.json");
    const topo = await r.json();
    const countries = topo.objects.countries;
    const pane = { renderer: this.renderer, interactive: false };
    L.geoJSON(topojson.feature(topo, topo.objects.land), { ...pane, style: { color: "#5b6b7c", weight: 1, fillColor: "#f4f1e8", fillOpacity: 1 } }).addTo(this.base);
    L.geoJSON(topojson.mesh(topo, countries, (a, b) => a !== b), { ...pane, style: { color: "#7c6f8a", weight: 1, dashArray: "4 3" } }).addTo(this.base);
    this.countryNames = topojson.feature(topo, countries).features;
    this.labels = L.layerGroup().addTo(this.base);
    this.map.on("zoomend", () => this.drawLabels());
    this.drawLabels();
  }

  drawLabels() {
    // Country names at their largest ring's mean vertex, from zoom 4 on (only those in view).
    this.labels.clearLayers();
    if (!this.countryNames || this.map.getZoom() < 4) return;
    const bounds = this.map.getBounds().pad(0.2);
    for (const f of this.countryNames) {
      const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
      const ring = polys.map((p) => p[0]).sort((a, b) => b.length - a.length)[0];
      const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
      const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
      if (!bounds.contains([lat, lon])) continue;
      L.tooltip({ permanent: true, direction: "center", className: "map-label", interactive: false })
        .setLatLng([lat, lon]).setContent(f.properties.name).addTo(this.labels);
    }
  }

  drawGrid() {
    this.grid.clearLayers();
    const z = this.map.getZoom();
    const step = z >= 9 ? 0.25 : z >= 7 ? 1 : z >= 5 ? 2 : z >= 3 ? 10 : 30;
    const b = this.map.getBounds();
    const style = { color: "#3f5a75", weight: 0.6, opacity: 0.6, interactive: false, renderer: this.renderer };
    const west = Math.floor(b.getWest() / step) * step;
    const south = Math.max(-85, Math.floor(b.getSouth() / step) * step);
    const north = Math.min(85, b.getNorth());
    for (let lon = west; lon <= b.getEast(); lon += step) {
      L.polyline([[south, lon], [north, lon]], style).addTo(this.grid);
      L.tooltip({ permanent: true, direction: "top", className: "map-label", interactive: false })
        .setLatLng([b.getSouth() + (b.getNorth() - b.getSouth()) * 0.02, lon]).setContent(`${lon.toFixed(step < 1 ? 2 : 0)}°`).addTo(this.grid);
    }
    for (let lat = south; lat <= north; lat += step) {
      L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style).addTo(this.grid);
      L.tooltip({ permanent: true, direction: "right", className: "map-label", interactive: false })
        .setLatLng([lat, b.getWest()]).setContent(`${lat.toFixed(step < 1 ? 2 : 0)}°`).addTo(this.grid);
    }
  }

  setData(operations, conflicts) {
    this.items.ops = operations.map((op) => ({
      op,
      windows: op.volumes.map((v) => [Date.parse(v.time.start), Date.parse(v.time.end)]),
      layers: op.volumes.map((v) => {
        const colour = STATE_COLOURS[op.state] || "#4a5260";
        const layer = ringsLayer(footprintRings(v), { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.12, renderer: this.renderer });
        layer.bindTooltip(`${op.id} v${op.version} · ${op.state}`);
        return layer;
      }),
    }));
    this.items.conflicts = [];
    for (const c of conflicts) {
      for (const o of c.overlaps || []) {
        if (!o.region) continue; // the pair's visibility withholds the region: nothing is drawn
        const layer = regionLayer(o.region, { ...OVERLAP, renderer: this.renderer });
        layer.bindTooltip(`${c.reference} · ${c.other_party}`);
        this.items.conflicts.push({ c, window: [Date.parse(o.window.start), Date.parse(o.window.end)], layer });
      }
    }
    this.redraw();
  }

  setTime(ms) {
    this.time = ms;
    this.redraw();
  }

  redraw() {
    const active = ([s, e]) => this.time === null || (s <= this.time && this.time < e);
    this.ops.clearLayers();
    this.overlaps.clearLayers();
    for (const item of this.items.ops) {
      item.layers.forEach((layer, i) => active(item.windows[i]) && this.ops.addLayer(layer));
    }
    for (const item of this.items.conflicts) if (active(item.window)) this.overlaps.addLayer(item.layer);
    // What is drawn, for people using assistive technology and for the tests.
    const el = this.map.getContainer();
    el.dataset.operations = String(this.ops.getLayers().length);
    el.dataset.overlaps = String(this.overlaps.getLayers().length);
  }

  showOperation(opId) {
    const item = this.items.ops.find((i) => i.op.id === opId);
    if (item) this.map.fitBounds(L.featureGroup(item.layers).getBounds(), { maxZoom: 10, animate: false });
  }

  showConflict(reference) {
    const layers = this.items.conflicts.filter((i) => i.c.reference === reference).map((i) => i.layer);
    if (layers.length) this.map.fitBounds(L.featureGroup(layers).getBounds(), { maxZoom: 10, animate: false });
  }

  fitAll() {
    const layers = this.items.ops.flatMap((i) => i.layers);
    if (layers.length) this.map.fitBounds(L.featureGroup(layers).getBounds(), { maxZoom: 9 });
  }
}
