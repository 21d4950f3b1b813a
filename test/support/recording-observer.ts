// A DbObserver that writes down every call, for tests of the pool and query layer. Durations are kept
// apart (waits, uses) so the event list itself can be compared exactly.
import type { DbObserver } from '../../server/db/observer';

export type ObservedEvent = (string | number)[];

export class RecordingObserver implements DbObserver {
  readonly events: ObservedEvent[] = [];
  readonly waits: number[] = [];
  readonly uses: number[] = [];
  /** readBatched calls, kept apart from `events` (whose exact lists the pool tests compare). */
  readonly batches: [string, number][] = [];
  /** The kind of each readBatched call, in the same order as `batches`. */
  readonly batchKinds: string[] = [];
  acquired(waitSeconds: number) {
    this.waits.push(waitSeconds);
    this.events.push(['acquired']);
  }
  released(useSeconds: number) {
    this.uses.push(useSeconds);
    this.events.push(['released']);
  }
  rejected(reason: string) {
    this.events.push(['rejected', reason]);
  }
  connectionCreated() {
    this.events.push(['connectionCreated']);
  }
  connectionClosed(reason: string) {
    this.events.push(['connectionClosed', reason]);
  }
  queryFinished(query: string, outcome: string, _seconds: number, errorCode?: string) {
    this.events.push(
      errorCode === undefined ? ['queryFinished', query, outcome] : ['queryFinished', query, outcome, errorCode],
    );
  }
  queryCancelled(reason: string, result: string) {
    this.events.push(['queryCancelled', reason, result]);
  }
  readBatched(query: string, requests: number, kind: string) {
    this.batches.push([query, requests]);
    this.batchKinds.push(kind);
  }
  count(...event: ObservedEvent): number {
    return this.events.filter((e) => e.length === event.length && e.every((part, i) => part === event[i])).length;
  }
}
