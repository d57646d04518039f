import type { Verdict } from '../../../functions/alerts/evaluate';
import { AlertState } from '../../../functions/alerts/transitions';
import { formatAlertLine } from '../../../local/console-lines';

const verdict = (subject: string, firing: boolean): Verdict => ({
  alertId: 'ForwardProgressFailed',
  severity: 'CRITICAL',
  subject,
  firing,
  value: firing ? 1.5 : 0.5,
  detail: `detail for ${subject}`,
});

describe('AlertState', () => {
  it('reports an alert once when it starts firing and once when it resolves', () => {
    const state = new AlertState();
    expect(state.update([verdict('cleanup-worker', false)])).toEqual([]);
    expect(state.update([verdict('cleanup-worker', true)])).toEqual([
      { kind: 'fired', verdict: verdict('cleanup-worker', true) },
    ]);
    expect(state.update([verdict('cleanup-worker', true)])).toEqual([]);
    expect(state.current()).toEqual([verdict('cleanup-worker', true)]);
    expect(state.update([verdict('cleanup-worker', false)])).toEqual([
      { kind: 'resolved', verdict: verdict('cleanup-worker', false) },
    ]);
    expect(state.current()).toEqual([]);
  });

  it('keeps subjects apart and resolves a subject that left the evaluation', () => {
    const state = new AlertState();
    state.update([verdict('a', true), verdict('b', true)]);
    const transitions = state.update([verdict('a', true)]);
    expect(transitions).toEqual([{ kind: 'resolved', verdict: { ...verdict('b', true), firing: false } }]);
    expect(state.current().map((v) => v.subject)).toEqual(['a']);
  });
});

it('changes nothing on a verdict that holds for lack of data', () => {
  const state = new AlertState();
  state.update([verdict('fleet', true)]);
  expect(state.update([{ ...verdict('fleet', false), holds: true }])).toEqual([]);
  expect(state.current().map((v) => v.subject)).toEqual(['fleet']);
  const quiet = new AlertState();
  expect(quiet.update([{ ...verdict('fleet', false), holds: true }])).toEqual([]);
  expect(quiet.current()).toEqual([]);
});

describe('formatAlertLine', () => {
  it('names the alert, its severity, the subject and why', () => {
    const at = new Date(2026, 10, 23, 9, 5, 7);
    expect(formatAlertLine({ kind: 'fired', verdict: verdict('cleanup-worker', true) }, at)).toBe(
      '09:05:07  ALERT CRITICAL            ForwardProgressFailed cleanup-worker: detail for cleanup-worker',
    );
    expect(formatAlertLine({ kind: 'resolved', verdict: verdict('cleanup-worker', false) }, at)).toMatch(
      /^09:05:07 {2}RESOLVED +ForwardProgressFailed cleanup-worker/,
    );
  });
});
