// The JSON API, as the signed-in party. The access token lives in sessionStorage (this
// tab only); the secret only in memory, to renew the token when it expires.
import { language } from "./i18n.js";
import { parseExact } from "./canonical.js";

const KEY = "deconfliction.session";

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.type = e.type || "Error";
    this.field = e.field || null;
    this.details = e.details || null;
  }
}

let session = JSON.parse(sessionStorage.getItem(KEY) || "null");
let secret = null;

export function current() {
  return session;
}

export async function signIn(clientId, clientSecret) {
  const r = await fetch("/v1/auth/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ client_id: clientId, client_secret: clientSecret }),
  });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, body);
  session = { token: body.access_token, clientId, expires: Date.now() + body.expires_in * 1000 };
  secret = clientSecret;
  const who = await request("GET", "/v1/auth/whoami");
  session.party = who.party;
  session.scopes = who.scopes;
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function signOut() {
  session = null;
  secret = null;
  sessionStorage.removeItem(KEY);
}

async function renew() {
  if (!session || !secret) return false;
  await signIn(session.clientId, secret);
  return true;
}

export function headers(extra = {}) {
  return { Authorization: `Bearer ${session?.token}`, "Accept-Language": language(), ...extra };
}

/** One request; JSON in and out. Numbers keep their source text (see canonical.js).
 * A 401 renews the token once, when the secret is known. */
export async function request(method, path, body, { retry = true, exact = false } = {}) {
  if (session && secret && Date.now() > session.expires - 30_000) await renew();
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(path, init);
  const text = await r.text();
  const parsed = text ? (exact ? parseExact(text) : JSON.parse(text)) : null;
  if (r.status === 401 && retry && (await renew().catch(() => false))) {
    return request(method, path, body, { retry: false, exact });
  }
  if (!r.ok) throw new ApiError(r.status, parsed);
  return parsed;
}

export const get = (path, options) => request("GET", path, undefined, options);
export const post = (path, body = {}) => request("POST", path, body);
