// Small HTTP helpers for tests: every call returns status, headers and the parsed body.
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

export async function request(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(70_000) });
  const text = await response.text();
  let body: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('application/json')) body = JSON.parse(text);
  return { status: response.status, headers: response.headers, text, body };
}

export function sendJson(url: string, method: string, payload: unknown): Promise<Reply> {
  return request(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
}
