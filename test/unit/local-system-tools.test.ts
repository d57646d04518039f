/**
 * ensureSystemTools() decides what to install and says it in one line. The machine is replaced by
 * a fake here (installing for real is what the suite's own global setup does on a fresh machine);
 * the PATH lookup is tested on real folders.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CHROMIUM,
  PG_DUMP,
  REDIS_SERVER,
  TEST_TOOLS,
  ensureSystemTools,
  findExecutable,
} from '../../local/system-tools';
import type { CommandResult, SystemAccess } from '../../local/system-tools';

interface FakeMachine extends SystemAccess {
  readonly runs: string[];
  readonly present: Set<string>;
}

function fakeMachine(options: {
  present: string[];
  root: boolean;
  apt?: boolean;
  /** What `apt-get install` puts on the machine; default everything asked for. */
  installs?: (packages: string[]) => string[];
  fail?: CommandResult;
}): FakeMachine {
  const present = new Set(options.present);
  if (options.apt !== false) present.add('apt-get');
  const runs: string[] = [];
  const byPackage = new Map(TEST_TOOLS.map((tool) => [tool.debianPackage, tool.command]));
  return {
    runs,
    present,
    find: (command) => (present.has(command) ? `/usr/bin/${command}` : undefined),
    isRoot: () => options.root,
    run(command, args) {
      runs.push([command, ...args].join(' '));
      if (options.fail && args[0] === 'install') return options.fail;
      if (args[0] === 'install') {
        const packages = args.filter((arg) => !arg.startsWith('-')).slice(1);
        const commands = (options.installs ?? ((all) => all))(packages).map((name) => byPackage.get(name)!);
        for (const name of commands) present.add(name);
      }
      return { status: 0, stderr: '' };
    },
  };
}

describe('ensureSystemTools', () => {
  it('does nothing and says nothing when every tool is there', () => {
    const machine = fakeMachine({ present: ['redis-server', 'pg_dump', 'chromium'], root: true });
    const lines: string[] = [];
    expect(ensureSystemTools(TEST_TOOLS, (line) => lines.push(line), machine)).toEqual({
      installed: [],
      missing: [],
    });
    expect(machine.runs).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('as root with apt-get, updates once and installs every missing package in one quiet command', () => {
    const machine = fakeMachine({ present: ['pg_dump'], root: true });
    const lines: string[] = [];
    const result = ensureSystemTools(TEST_TOOLS, (line) => lines.push(line), machine);
    expect(machine.runs).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends redis-server chromium',
    ]);
    expect(result).toEqual({ installed: ['redis-server', 'chromium'], missing: [] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^installed redis-server chromium with apt-get in \d+ s \(missing: redis-server/,
    );
  });

  it('off root, installs nothing and names the command that would', () => {
    const machine = fakeMachine({ present: ['chromium'], root: false });
    const lines: string[] = [];
    const result = ensureSystemTools(TEST_TOOLS, (line) => lines.push(line), machine);
    expect(machine.runs).toEqual([]);
    expect(result.missing).toEqual([REDIS_SERVER, PG_DUMP]);
    expect(lines).toEqual([
      "missing redis-server (modeler-worker's Redis quotas), pg_dump (backup-worker's local export); " +
        'not root with apt-get, so nothing was installed: run ' +
        'apt-get update && apt-get install -y --no-install-recommends redis-server postgresql-client',
    ]);
  });

  it('as root without apt-get (not Debian), installs nothing', () => {
    const machine = fakeMachine({ present: [], root: true, apt: false });
    const lines: string[] = [];
    expect(ensureSystemTools([CHROMIUM], (line) => lines.push(line), machine).missing).toEqual([CHROMIUM]);
    expect(machine.runs).toEqual([]);
    expect(lines[0]).toMatch(/^missing chromium \(the status-page test\); not root with apt-get/);
  });

  it("reports apt-get's failure in one line with its last complaint", () => {
    const machine = fakeMachine({
      present: [],
      root: true,
      fail: { status: 100, stderr: 'Reading package lists...\nE: Unable to locate package chromium\n' },
    });
    const lines: string[] = [];
    const result = ensureSystemTools([CHROMIUM], (line) => lines.push(line), machine);
    expect(result.missing).toEqual([CHROMIUM]);
    expect(lines).toEqual([
      'apt-get could not install chromium (apt-get install exited 100: E: Unable to locate package chromium): ' +
        'run apt-get update && apt-get install -y --no-install-recommends chromium',
    ]);
  });

  it('says so when apt-get succeeded but the program is still not there', () => {
    const machine = fakeMachine({ present: [], root: true, installs: () => [] });
    const lines: string[] = [];
    expect(ensureSystemTools([REDIS_SERVER], (line) => lines.push(line), machine).missing).toEqual([
      REDIS_SERVER,
    ]);
    expect(lines[0]).toMatch(/^apt-get could not install redis-server \(still missing afterwards\)/);
  });
});

describe('findExecutable', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'enx-find-exe-'));
    writeFileSync(path.join(dir, 'enx-tool-exec'), '#!/bin/sh\n');
    chmodSync(path.join(dir, 'enx-tool-exec'), 0o755);
    writeFileSync(path.join(dir, 'enx-tool-plain'), 'not a program');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds an executable on the given PATH, and not a plain file or a missing one', () => {
    expect(findExecutable('enx-tool-exec', dir)).toBe(path.join(dir, 'enx-tool-exec'));
    expect(findExecutable('enx-tool-plain', dir)).toBeUndefined();
    expect(findExecutable('enx-tool-absent', dir)).toBeUndefined();
  });
});
