// `npm run status`: pm2 state of every app plus each worker's readiness and pool. Exits 1 when any
// part is not up, so scripts can use it as a check.
import { loadStackSettings } from '../settings';
import { renderStatus, stackStatus } from '../stack-status';

async function main(): Promise<number> {
  const statuses = await stackStatus(loadStackSettings());
  console.log(renderStatus(statuses));
  const up = statuses.filter((s) => !s.stale).every((s) => s.pm2?.status === 'online' && (s.probe === undefined || s.probe.ready));
  return up ? 0 : 1;
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
