import {
  DEFAULT_DAYS,
  DEFAULT_SEED,
  DEFAULT_START,
  parseSimulatorArgs,
  SIMULATED_JOB_IDS,
  USAGE,
} from '../../simulator/args';
import type { RunCommand } from '../../simulator/args';
import { ALWAYS } from '../../simulator/scenario';

const START = Date.parse(DEFAULT_START);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const JOBS = ['cleanup-worker', 'report-mailer'];

function run(argv: string[]): RunCommand {
  const command = parseSimulatorArgs(argv, JOBS);
  if (command.kind !== 'run') throw new Error(`expected a run, got ${JSON.stringify(command)}`);
  return command;
}

function error(argv: string[]): string {
  const command = parseSimulatorArgs(argv, JOBS);
  if (command.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(command)}`);
  return command.message;
}

describe('parseSimulatorArgs', () => {
  it('simulates the default week from the default start with the default seed and no faults', () => {
    expect(run([])).toEqual({
      kind: 'run',
      scenario: { startMs: START, endMs: START + DEFAULT_DAYS * DAY, seed: DEFAULT_SEED, faults: [] },
      logFile: undefined,
      exactSnapshots: false,
    });
  });

  it('simulates every catalog job but the watchdog by default', () => {
    expect(SIMULATED_JOB_IDS).toContain('cleanup-worker');
    expect(SIMULATED_JOB_IDS).not.toContain('fleet-watchdog');
  });

  it('reads --days, --start, --seed, --log and --exact-snapshots in either form', () => {
    const command = run([
      '--days',
      '0.5',
      '--start=2026-11-01T00:00Z',
      '--seed',
      '7',
      '--log=/tmp/sim.log',
      '--exact-snapshots',
    ]);
    const start = Date.parse('2026-11-01T00:00:00Z');
    expect(command.scenario).toMatchObject({ startMs: start, endMs: start + DAY / 2, seed: 7 });
    expect(command.logFile).toBe('/tmp/sim.log');
    expect(command.exactSnapshots).toBe(true);
  });

  it('reads every fault, with absolute, offset and open windows', () => {
    const command = run([
      '--fail',
      'cleanup-worker@2026-03-28T10:00Z..2026-03-28T14:00Z',
      '--fail-rate',
      'report-mailer=0.15@+1d..',
      '--fail-rate=cleanup-worker=25%',
      '--timeout',
      'cleanup-worker@..+2h30m',
      '--duplicate',
      'report-mailer',
      '--outage',
      'report-mailer@2026-03-29T01:00:00+01:00..2026-03-30',
      '--fleet-outage',
      '@+3d..+3d1h',
      '--never-deployed',
      'report-mailer',
    ]);
    expect(command.scenario.faults).toEqual([
      {
        kind: 'fail',
        jobId: 'cleanup-worker',
        window: { fromMs: Date.parse('2026-03-28T10:00:00Z'), toMs: Date.parse('2026-03-28T14:00:00Z') },
      },
      {
        kind: 'fail-rate',
        jobId: 'report-mailer',
        probability: 0.15,
        window: { fromMs: START + DAY, toMs: Infinity },
      },
      { kind: 'fail-rate', jobId: 'cleanup-worker', probability: 0.25, window: ALWAYS },
      { kind: 'timeout', jobId: 'cleanup-worker', window: { fromMs: -Infinity, toMs: START + 2.5 * HOUR } },
      { kind: 'duplicate', jobId: 'report-mailer', window: ALWAYS },
      {
        kind: 'outage',
        jobId: 'report-mailer',
        window: { fromMs: Date.parse('2026-03-29T00:00:00Z'), toMs: Date.parse('2026-03-30T00:00:00Z') },
      },
      { kind: 'fleet-outage', window: { fromMs: START + 3 * DAY, toMs: START + 3 * DAY + HOUR } },
      { kind: 'never-deployed', jobId: 'report-mailer' },
    ]);
  });

  it('resolves offsets against --start wherever --start is on the line', () => {
    const command = run(['--fail', 'cleanup-worker@+1h..+2h', '--start', '2026-06-01T00:00Z']);
    const start = Date.parse('2026-06-01T00:00:00Z');
    expect(command.scenario.faults[0]).toMatchObject({
      window: { fromMs: start + HOUR, toMs: start + 2 * HOUR },
    });
  });

  it('answers --help and -h with help, whatever else is there', () => {
    expect(parseSimulatorArgs(['--days', 'x', '--help'], JOBS)).toEqual({ kind: 'help' });
    expect(parseSimulatorArgs(['-h'], JOBS)).toEqual({ kind: 'help' });
    for (const option of [
      '--fail',
      '--fail-rate',
      '--timeout',
      '--duplicate',
      '--outage',
      '--fleet-outage',
    ]) {
      expect(USAGE).toContain(option);
    }
    expect(USAGE).toContain('--never-deployed');
  });

  it.each([
    [['--days'], '--days needs a value, for example --days 7'],
    [['--days', '0'], '--days: "0" is not a number of days above 0'],
    [['--days', '400'], 'at most 366'],
    [['--days', '7', '--days', '8'], '--days is given twice'],
    [['--start', 'yesterday'], '--start: "yesterday" is not a time; expected an RFC 3339 time'],
    [['--start', '2026-03-27T10:00'], '--start: "2026-03-27T10:00" is not a time'],
    [['--start', '2026-02-30T00:00Z'], '--start: "2026-02-30T00:00Z" is not a real date and time'],
    [['--start', '+1d'], '--start: "+1d" is relative'],
    [['--seed', '-1'], '--seed: "-1" is not a whole number'],
    [['--fail', 'nobody'], '--fail: unknown job "nobody"; jobs: cleanup-worker, report-mailer'],
    [['--fail', 'fleet-watchdog'], '--fail: fleet-watchdog is not simulated'],
    [['--fail', 'cleanup-worker@10:00..11:00'], '--fail: "10:00" is not a time'],
    [['--fail', 'cleanup-worker@+2h'], '--fail: "+2h" is not a window; expected --fail <job>[@<from>..<to>]'],
    [['--fail', 'cleanup-worker@+2h..+1h'], '--fail: the window ends before it starts'],
    [['--fail', 'cleanup-worker@+8d..+9d'], '--fail: the window lies outside the simulated period'],
    [['--fail-rate', 'cleanup-worker'], '--fail-rate: "cleanup-worker" has no probability'],
    [['--fail-rate', 'cleanup-worker=1.5'], '--fail-rate: "1.5" is not a probability'],
    [['--fail-rate', 'cleanup-worker=abc@+1h..'], '--fail-rate: "abc" is not a probability'],
    [['--fleet-outage', 'cleanup-worker'], '--fleet-outage: "cleanup-worker" is not a window'],
    [['--never-deployed', 'nobody'], '--never-deployed: unknown job "nobody"'],
    [['--timeout', '--days', '2'], '--timeout needs a value'],
    [['--frobnicate'], 'unknown option "--frobnicate"'],
    [['cleanup-worker'], 'unknown option "cleanup-worker"'],
  ])('refuses %j: %s', (argv, message) => {
    expect(error(argv)).toContain(message);
  });
});

describe('--scenario', () => {
  it('starts from the named scenario: its period and faults, with more faults added', () => {
    const command = parseSimulatorArgs(['--scenario', 'one-job-failing', '--fail', 'e2e-revise@+1h..+2h']);
    if (command.kind !== 'run') throw new Error(JSON.stringify(command));
    expect(command.scenarioName).toBe('one-job-failing');
    expect(command.scenario.endMs - command.scenario.startMs).toBe(DAY);
    expect(command.scenario.faults.map((fault) => fault.kind)).toEqual(['fail', 'fail']);
  });

  it('simulates the watchdog where the scenario is about it', () => {
    const command = parseSimulatorArgs(['--scenario', 'watchdog-dead', '--days', '1']);
    if (command.kind !== 'run') throw new Error(JSON.stringify(command));
    expect(command.jobs?.map((job) => job.id)).toContain('fleet-watchdog');
    expect(command.scenario.endMs - command.scenario.startMs).toBe(DAY);
  });

  it('names the scenarios when it does not know one', () => {
    expect(parseSimulatorArgs(['--scenario', 'sunny'])).toEqual({
      kind: 'error',
      message: expect.stringMatching(
        /^--scenario: unknown scenario "sunny"; scenarios: healthy, healthy-transient,/,
      ),
    });
  });
});
