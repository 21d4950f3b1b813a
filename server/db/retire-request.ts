// The message that asks a worker to retire its pooled database connections (DbPool.retireConnections),
// sent by the stack after an in-place HAProxy reload (cluster/haproxy/reload.ts) through pm2's
// sendDataToProcessId, which delivers `{ topic, data, ... }` on the worker's IPC channel.
export const RETIRE_CONNECTIONS_TOPIC = 'db:retire-connections';

export function isRetireRequest(message: unknown): boolean {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { topic?: unknown }).topic === RETIRE_CONNECTIONS_TOPIC
  );
}
