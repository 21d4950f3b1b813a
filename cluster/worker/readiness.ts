// Asks each worker whether it is ready (GET /readyz) and what its pool looks like (GET /pool).
export interface WorkerProbe {
  url: string;
  ready: boolean;
  detail: string;
  pool?: { limit: number; used: number; idle: number; pending: number };
}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: response.status, body };
}

export async function probeWorker(baseUrl: string, timeoutMs = 3000): Promise<WorkerProbe> {
  try {
    const ready = await getJson(`${baseUrl}/readyz`, timeoutMs);
    const pool = await getJson(`${baseUrl}/pool`, timeoutMs);
    return {
      url: baseUrl,
      ready: ready.status === 200,
      detail: ready.status === 200 ? 'ready' : `readyz ${ready.status}`,
      pool: pool.status === 200 ? (pool.body as WorkerProbe['pool']) : undefined,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { url: baseUrl, ready: false, detail: cause ?? (error instanceof Error ? error.message : String(error)) };
  }
}
