import { DEFAULT_STATUS_PORT, parseCliArgs, USAGE } from '../../local/cli-args';

describe('parseCliArgs', () => {
  it('runs on the schedule alone by default, with the status page on 8080', () => {
    expect(parseCliArgs([])).toEqual({ kind: 'run', runNow: false, statusPort: DEFAULT_STATUS_PORT });
  });

  it('reads --run-now, --port and --data-dir in either form', () => {
    expect(parseCliArgs(['--run-now', '--port', '9090'])).toEqual({
      kind: 'run',
      runNow: true,
      statusPort: 9090,
    });
    expect(parseCliArgs(['--port=0', '--data-dir=/tmp/x'])).toEqual({
      kind: 'run',
      runNow: false,
      statusPort: 0,
      dataDir: '/tmp/x',
    });
    expect(parseCliArgs(['--data-dir', '/tmp/y', '--run-now'])).toMatchObject({
      dataDir: '/tmp/y',
      runNow: true,
    });
  });

  it('answers --help and -h with help, whatever else is there', () => {
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseCliArgs(['--run-now', '-h'])).toEqual({ kind: 'help' });
    expect(USAGE).toContain('--run-now');
    expect(USAGE).toContain('--port');
  });

  it.each([
    [['--port'], /needs a value/],
    [['--port', 'abc'], /not a port number/],
    [['--port', '70000'], /above 65535/],
    [['--port', '-1'], /not a port number/],
    [['--data-dir'], /needs a folder/],
    [['--data-dir', '--run-now'], /needs a folder/],
    [['--runnow'], /unknown option "--runnow"/],
    [['now'], /unknown option "now"/],
  ])('refuses %j with a message that says what to do', (argv, message) => {
    const command = parseCliArgs(argv);
    expect(command.kind).toBe('error');
    expect(command.kind === 'error' && command.message).toMatch(message);
  });
});
