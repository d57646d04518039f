import type { Verdict } from '../../functions/alerts/evaluate';
import { EventQueue } from '../../simulator/event-queue';
import { formatInstant, formatTimeline, TransitionTracker } from '../../simulator/timeline';

const verdict = (firing: boolean, value: number, subject = 'cleanup-worker'): Verdict => ({
  alertId: 'ForwardProgressFailed',
  severity: 'CRITICAL',
  subject,
  firing,
  value,
  detail: `ratio ${value}`,
});

describe('TransitionTracker', () => {
  it('records only changes: FIRED when a subject starts firing, RESOLVED when it stops', () => {
    const tracker = new TransitionTracker();
    expect(tracker.observe(0, [verdict(false, 0.5)])).toEqual([]);
    expect(tracker.observe(1, [verdict(true, 1.1)])).toMatchObject([{ atMs: 1, kind: 'FIRED', value: 1.1 }]);
    expect(tracker.observe(2, [verdict(true, 1.4)])).toEqual([]);
    expect(tracker.stillFiring()).toMatchObject([{ value: 1.4 }]);
    expect(tracker.observe(3, [verdict(false, 0.01)])).toMatchObject([
      { atMs: 3, kind: 'RESOLVED', detail: 'ratio 0.01' },
    ]);
    expect(tracker.transitions.map((transition) => transition.kind)).toEqual(['FIRED', 'RESOLVED']);
    expect(tracker.stillFiring()).toEqual([]);
    expect(tracker.peak('ForwardProgressFailed', 'cleanup-worker')).toBe(1.4);
  });

  it('tracks each subject of an alert apart', () => {
    const tracker = new TransitionTracker();
    tracker.observe(0, [verdict(true, 2, 'a'), verdict(false, 0, 'b')]);
    const changes = tracker.observe(1, [verdict(true, 2, 'a'), verdict(true, 2, 'b')]);
    expect(changes.map((change) => change.subject)).toEqual(['b']);
  });
});

describe('timeline printing', () => {
  it('prints whole minutes short and keeps seconds when there are any', () => {
    expect(formatInstant(Date.parse('2026-03-28T10:36:00Z'))).toBe('2026-03-28T10:36Z');
    expect(formatInstant(Date.parse('2026-03-28T10:36:05Z'))).toBe('2026-03-28T10:36:05Z');
    expect(formatInstant(Date.parse('2026-03-28T10:36:05.250Z'))).toBe('2026-03-28T10:36:05.250Z');
  });

  it('prints one line per transition with time, kind, alert, severity, subject and detail', () => {
    const tracker = new TransitionTracker();
    tracker.observe(Date.parse('2026-03-28T10:36:00Z'), [verdict(true, 1.01)]);
    const line = formatTimeline(tracker.transitions);
    expect(line.split(/\s+/)).toEqual([
      '2026-03-28T10:36Z',
      'FIRED',
      'ForwardProgressFailed',
      'CRITICAL',
      'cleanup-worker',
      'ratio',
      '1.01',
    ]);
    expect(formatTimeline([])).toBe('No alert fired.');
  });
});

describe('EventQueue', () => {
  it('orders by time, then rank, then insertion', () => {
    const queue = new EventQueue<{ atMs: number; rank: number; name: string }>();
    const events = [
      { atMs: 5, rank: 2, name: 'minute@5' },
      { atMs: 5, rank: 0, name: 'request@5' },
      { atMs: 1, rank: 1, name: 'evaluate@1' },
      { atMs: 5, rank: 0, name: 'second request@5' },
      { atMs: 3, rank: 0, name: 'request@3' },
    ];
    for (const event of events) queue.push(event);
    const order: string[] = [];
    for (let event = queue.pop(); event; event = queue.pop()) order.push(event.name);
    expect(order).toEqual(['evaluate@1', 'request@3', 'request@5', 'second request@5', 'minute@5']);
    expect(queue.size).toBe(0);
  });

  it('stays ordered over many random events', () => {
    const queue = new EventQueue<{ atMs: number; rank: number }>();
    const times = Array.from({ length: 500 }, (_, index) => (index * 7919) % 1000);
    for (const atMs of times) queue.push({ atMs, rank: 0 });
    const popped: number[] = [];
    for (let event = queue.pop(); event; event = queue.pop()) popped.push(event.atMs);
    expect(popped).toEqual([...times].sort((a, b) => a - b));
  });
});
