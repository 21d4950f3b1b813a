// Reads every host's HAProxy through its status listener (status-listener.ts): HTTPS with this host's
// node certificate as the client certificate and the stack CA as the only trusted root, as the peers
// do. Any failure (refused, timed out, a TLS refusal, no certificate here yet) is an unreachable proxy
// with the reason, never an exception: status shows what it could not read.
import fs from 'node:fs';
import https from 'node:https';
import { proxyViewOf, unreachableProxy, type ProxyView } from './proxy-view';
import type { TopologyHost } from './topology';

export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

/** The files of the client TLS: the stack CA, this host's node certificate and key. */
export interface ClientTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

function get(url: string, tls: ClientTls, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      url,
      {
        ...tls,
        // Chain only, as the peers (their certificates need not carry the address): any certificate of
        // the stack CA is one of the stack's hosts.
        checkServerIdentity: () => undefined,
        agent: false,
        timeout: timeoutMs,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          response.statusCode === 200 ? resolve(text) : reject(new Error(`${url} answered ${response.statusCode}`)),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

function hostPort(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** One host's proxy, from its /writer page and its stats CSV. */
export async function readProxyView(
  host: TopologyHost,
  port: number,
  tls: ClientTls,
  timeoutMs = 2000,
): Promise<ProxyView> {
  const base = `https://${hostPort(host.address, port)}`;
  try {
    const [writer, csv] = await Promise.all([
      get(`${base}/writer`, tls, timeoutMs),
      get(`${base}/stats;csv`, tls, timeoutMs),
    ]);
    return proxyViewOf(host.name, host.address, writer, csv);
  } catch (error) {
    return unreachableProxy(host.name, host.address, error instanceof Error ? error.message : String(error));
  }
}

/** Every host's proxy, in topology order, read at once. */
export async function readProxyViews(
  hosts: readonly TopologyHost[],
  port: number,
  files: ClientTlsFiles,
  timeoutMs = 2000,
): Promise<ProxyView[]> {
  let tls: ClientTls;
  try {
    tls = {
      ca: fs.readFileSync(files.ca, 'utf8'),
      cert: fs.readFileSync(files.cert, 'utf8'),
      key: fs.readFileSync(files.key, 'utf8'),
    };
  } catch (error) {
    const reason = `this host has no stack certificate to ask with (${(error as Error).message})`;
    return hosts.map((host) => unreachableProxy(host.name, host.address, reason));
  }
  return Promise.all(hosts.map((host) => readProxyView(host, port, tls, timeoutMs)));
}
