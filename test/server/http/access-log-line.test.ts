import { expect } from 'chai';
import { accessLogLine, type AccessLogEntry } from '../../../server/http/access-log-line';

const entry: AccessLogEntry = {
  time: new Date('2025-01-02T03:04:05.678Z'),
  worker: 'kh-worker-8000',
  requestId: 'abc-1',
  method: 'GET',
  route: '/todos/:id',
  status: 200,
  durationMs: 12.3456,
  poolWaitMs: 0.04,
  bytes: 42,
  remote: '127.0.0.1',
};

describe('accessLogLine(entry)', () => {
  it('is one JSON object on one line, fields in a fixed order, milliseconds to a tenth', () => {
    expect(accessLogLine(entry)).to.equal(
      '{"time":"2025-01-02T03:04:05.678Z","level":"info","msg":"request",' +
        '"worker":"kh-worker-8000","requestId":"abc-1","method":"GET","route":"/todos/:id","status":200,' +
        '"durationMs":12.3,"poolWaitMs":0,"bytes":42,"remote":"127.0.0.1"}\n',
    );
  });

  it('rounds half a tenth up and keeps an unknown byte count as null', () => {
    const line = JSON.parse(accessLogLine({ ...entry, durationMs: 0.25, poolWaitMs: 1999.96, bytes: null })) as Record<
      string,
      unknown
    >;
    expect(line).to.include({ durationMs: 0.3, poolWaitMs: 2000, bytes: null });
  });

  it('stays one line whatever a client put in the method', () => {
    const line = accessLogLine({ ...entry, method: 'GET\n{"msg":"forged"}' });
    expect(line.indexOf('\n')).to.equal(line.length - 1);
    expect((JSON.parse(line) as { method: string }).method).to.equal('GET\n{"msg":"forged"}');
  });
});
