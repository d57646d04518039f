import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../functions/core/logger';
import { formatFunctionLogLine } from '../../local/console-lines';
import { openFunctionLog } from '../../local/function-log';

describe('openFunctionLog', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'enx-function-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends every JSON line to the file and echoes WARNING and above', () => {
    const file = path.join(dir, 'logs', 'functions.jsonl');
    const echoed: Record<string, unknown>[] = [];
    const log = openFunctionLog(file, (entry) => echoed.push(entry));
    const logger = createLogger({ write: log.write }).child({
      labels: { job: 'cleanup-worker', tick: 't1' },
    });
    logger.info('job started');
    logger.warn('a realm code lives longer than USER_REPORT_UNCLAIMED_MAX_AGE');
    logger.error('job failed: boom');
    log.close();
    log.write('{"severity":"ERROR","message":"after close"}');

    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).message)).toEqual([
      'job started',
      'a realm code lives longer than USER_REPORT_UNCLAIMED_MAX_AGE',
      'job failed: boom',
    ]);
    expect(echoed.map((entry) => entry.severity)).toEqual(['WARNING', 'ERROR']);
    expect(formatFunctionLogLine(echoed[1], new Date('2026-01-01T00:00:00Z'))).toMatch(
      /cleanup-worker +ERROR: job failed: boom \[tick t1\]$/,
    );
  });
});
