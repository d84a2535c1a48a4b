// The hotline's geometry hash is SHA-256 of the canonical JSON of what the reader was shown,
// as the server writes it (Python: sorted keys, no spaces, UTF-8 as is). JavaScript numbers
// forget how they were written (40.0 becomes 40), so responses are parsed keeping each
// number's source text, and the canonical form writes it back exactly.

export class ExactNumber {
  constructor(source) {
    this.source = source;
    this.value = Number(source);
  }
  valueOf() {
    return this.value;
  }
  toString() {
    return String(this.value);
  }
  toJSON() {
    return this.value;
  }
}

/** JSON.parse, with every number an ExactNumber (its source text kept). */
export function parseExact(text) {
  return JSON.parse(text, (key, value, context) =>
    typeof value === "number" && context && context.source !== undefined ? new ExactNumber(context.source) : value,
  );
}

/** Plain JSON values again (ExactNumber -> number), for code that computes with them. */
export function plain(value) {
  return JSON.parse(JSON.stringify(value));
}

function escapeString(s) {
  // As Python's json.dumps(ensure_ascii=False): only quote, backslash and control characters.
  return JSON.stringify(s);
}

/** A JSON number's text as Python's json.dumps writes the same value: integers as written,
 * floats as repr(float) (shortest round trip; "40.0", "1e-05", "1e+16"). The server's own
 * JSON encoder may write a float differently ("1e-5"), so the source is normalised. */
export function pythonNumber(source) {
  if (!/[.eE]/.test(source)) return source === "-0" ? "0" : source; // an integer
  const v = Number(source);
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = v.toExponential().split("e"); // the shortest digits that round-trip
  const exp = Number(expText);
  const sign = v < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const e = `${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ""}e${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  return `${sign}${digits.slice(0, exp + 1).padEnd(exp + 1, "0")}.${digits.slice(exp + 1) || "0"}`;
}

/** Python sorts keys by code point; JavaScript's default sort compares UTF-16 units, which
 * puts characters beyond U+FFFF before U+E000-U+FFFF. */
function byCodePoint(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

export function canonicalJson(value) {
  if (value instanceof ExactNumber) return pythonNumber(value.source);
  if (value === null) return "null";
  if (typeof value === "number") return String(value); // built here, sent as JSON.stringify writes it
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return escapeString(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort(byCodePoint);
  return `{${keys.map((k) => `${escapeString(k)}:${canonicalJson(value[k])}`).join(",")}}`;
}

export async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The geometry fields of a message's fields: the ones an acknowledgement hashes. */
export const GEOMETRY_FIELDS = ["altitude", "area", "position"];

export async function geometryHash(fields) {
  const geometry = {};
  for (const k of GEOMETRY_FIELDS) if (k in fields) geometry[k] = fields[k];
  if (Object.keys(geometry).length === 0) return null;
  return sha256Hex(canonicalJson(geometry));
}

export function base64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Sign the canonical JSON of `payload` with an Ed25519 private key (PKCS#8 PEM). */
export async function signEd25519(pem, payload) {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, key, new TextEncoder().encode(canonicalJson(payload)));
  return base64url(sig);
}
