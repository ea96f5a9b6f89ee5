// The JSON API client: same-origin requests with the session cookie, the
// CSRF token on every state change, errors as ApiError.

let csrf = null;

/** Keeps the session's CSRF token (from login or `GET /api/v1/me`). */
export function setCsrf(token) { csrf = token || null; }

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Listeners told when a request finds the session gone (401). */
const sessionLost = new Set();
export function onSessionLost(fn) { sessionLost.add(fn); }

/**
 * Calls the API. `body` is sent as JSON unless it is a Blob (sent raw, as
 * `contentType`). `extraHeaders` are added as they are.
 * Resolves to the parsed JSON (or null for an empty answer).
 */
export async function api(method, path, body, { quiet401 = false, contentType = 'application/octet-stream', extraHeaders = {} } = {}) {
  const headers = { ...extraHeaders, Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let payload;
  if (body instanceof Blob) {
    headers['Content-Type'] = contentType;
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (cause) {
    throw new ApiError(0, 'network', cause.message);
  }
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!response.ok) {
    const error = json && json.error ? json.error : { code: 'error', message: response.statusText };
    const retry = Number(response.headers.get('Retry-After')) || undefined;
    if (response.status === 401 && !quiet401) for (const fn of sessionLost) fn();
    throw new ApiError(response.status, error.code, error.message, retry);
  }
  return json;
}

/** A query string from the non-empty entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(key, value);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Where an attachment of a conversation downloads from. */
export function attachmentUrl(conversationId, sha256) {
  return `/api/v1/conversations/${conversationId}/attachments/${encodeURIComponent(sha256)}`;
}
