// The REST API as seen from the page: JSON requests with the API key as a bearer token, and a
// run's event stream read from fetch (EventSource cannot send an Authorization header).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function failure(response) {
  const data = await response.json().catch(() => null);
  const error = data?.error ?? {};
  return new ApiError(response.status, error.code ?? `http_${response.status}`, error.message ?? response.statusText);
}

export function withQuery(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export class Api {
  constructor(key) {
    this.key = key;
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  async request(path, { method = "GET", body, headers = {}, signal } = {}) {
    const init = { method, headers: this.headers({ Accept: "application/json", ...headers }), signal };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, init);
    if (!response.ok) throw await failure(response);
    return response.json();
  }

  get(path, query, signal) {
    return this.request(withQuery(path, query), { signal });
  }

  post(path, body, headers) {
    return this.request(path, { method: "POST", body, headers });
  }

  // An open SSE response, resuming after `after` (sent as Last-Event-ID, as a browser would).
  async stream(path, after, signal) {
    const headers = this.headers({ Accept: "text/event-stream" });
    if (after > 0) headers["Last-Event-ID"] = String(after);
    const response = await fetch(path, { headers, signal, cache: "no-store" });
    if (!response.ok) throw await failure(response);
    return response;
  }
}
