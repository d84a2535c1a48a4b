// Drawing on the map. Own operations are drawn from their volumes (the filing party's own
// plan); a conflict's overlap is drawn exactly as the API gave it (its GeoJSON `region`,
// whatever its type, or nothing when the pair's visibility withholds it).
const R = 6371008.8;
const UNITS_M = { m: 1, km: 1000, ft: 0.3048, nm: 1852 };

export function metres(length) {
  return Number(length.value) * UNITS_M[length.units];
}

// A local equirectangular frame around a point: enough to outline one's own footprint on a
// screen (the service decides conflicts in its own exact projection, never from this).
function frame([lon0, lat0]) {
  const k = Math.cos((lat0 * Math.PI) / 180);
  return {
    fwd: ([lon, lat]) => [((lon - lon0) * Math.PI * R * k) / 180, ((lat - lat0) * Math.PI * R) / 180],
    inv: ([x, y]) => [lon0 + (x * 180) / (Math.PI * R * k), lat0 + (y * 180) / (Math.PI * R)],
  };
}

function arc(cx, cy, r, fromDeg, toDeg, steps = 32) {
  const out = [];
  for (let i = 0; i <= steps; i++) {
    const b = ((fromDeg + ((toDeg - fromDeg) * i) / steps) * Math.PI) / 180; // bearing, clockwise from north
    out.push([cx + r * Math.sin(b), cy + r * Math.cos(b)]);
  }
  return out;
}

function stadium(a, b, half) {
  // The set of points within `half` of segment ab, as one ring.
  const bearing = (Math.atan2(b[0] - a[0], b[1] - a[1]) * 180) / Math.PI;
  return [...arc(b[0], b[1], half, bearing - 90, bearing + 90, 16), ...arc(a[0], a[1], half, bearing + 90, bearing + 270, 16)];
}

/** Lon/lat rings ([[lon, lat], ...]) outlining a volume's footprint. */
export function footprintRings(volume) {
  const g = volume.geometry;
  const fp = volume.footprint;
  if (fp.kind === "polygon") return [g.coordinates[0]];
  if (fp.kind === "circle") {
    const f = frame(g.coordinates);
    return [arc(0, 0, metres(fp.radius), 0, 360, 64).map(f.inv)];
  }
  if (fp.kind === "arc_sector") {
    const f = frame(g.coordinates);
    let from = Number(fp.start_bearing_deg);
    let to = Number(fp.end_bearing_deg);
    if (to <= from) to += 360;
    const outer = arc(0, 0, metres(fp.outer_radius), from, to);
    const inner = arc(0, 0, metres(fp.inner_radius), to, from);
    return [[...outer, ...inner, outer[0]].map(f.inv)];
  }
  // corridor and racetrack: each segment's stadium (the union is what is drawn)
  const f = frame(g.coordinates[0]);
  const pts = g.coordinates.map(f.fwd);
  const half = metres(fp.width) / 2;
  const rings = [];
  for (let i = 0; i + 1 < pts.length; i++) rings.push(stadium(pts[i], pts[i + 1], half).map(f.inv));
  return rings;
}

/** Leaflet layers for a GeoJSON region (Polygon, MultiPolygon, Point, ...), exactly as given. */
export function regionLayer(region, style) {
  return L.geoJSON(region, {
    style: () => style,
    pointToLayer: (_feature, latlng) => L.circleMarker(latlng, { ...style, radius: 6 }),
  });
}

export function ringsLayer(rings, style) {
  return L.polygon(rings.map((ring) => ring.map(([lon, lat]) => [lat, lon])), style);
}
