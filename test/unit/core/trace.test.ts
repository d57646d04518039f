import { traceFromHeader } from '../../../functions/core/trace';

const TRACE_ID = '105445aa7843bc8bf206b12000100000';

describe('traceFromHeader', () => {
  test.each([
    [`${TRACE_ID}/1;o=1`, { trace: `projects/p1/traces/${TRACE_ID}`, spanId: '0000000000000001' }],
    [`${TRACE_ID}/255`, { trace: `projects/p1/traces/${TRACE_ID}`, spanId: '00000000000000ff' }],
    [
      `${TRACE_ID}/18446744073709551615;o=0`,
      { trace: `projects/p1/traces/${TRACE_ID}`, spanId: 'ffffffffffffffff' },
    ],
    [TRACE_ID, { trace: `projects/p1/traces/${TRACE_ID}`, spanId: undefined }],
    [TRACE_ID.toUpperCase(), { trace: `projects/p1/traces/${TRACE_ID.toUpperCase()}`, spanId: undefined }],
  ])('%p becomes %p', (header, expected) => {
    expect(traceFromHeader(header, 'p1')).toEqual(expected);
  });

  test.each([
    [undefined, 'p1'],
    ['', 'p1'],
    ['not-a-trace/1', 'p1'],
    ['105445aa7843bc8b/1', 'p1'],
    [`${TRACE_ID}/1;o=1`, undefined],
    [`${TRACE_ID}/1;o=1`, ''],
  ])('%p with project %p gives no trace', (header, project) => {
    expect(traceFromHeader(header, project)).toEqual({});
  });
});
