/**
 * A function served in a child Node process, as `npm start` serves it (behind the local Cloud Run
 * edge), for tests whose code path jest's CommonJS sandbox cannot run: the Cloud SQL connector and
 * the auth library load modules with import(), which jest refuses without
 * --experimental-vm-modules. The child is plain Node with tsx, like production's plain Node.
 *
 * The child's job answers with the name of the database it reached.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Env } from '../../functions/core/config';
import type { EdgeSettings } from '../../local/function-servers';

export interface FunctionProcess {
  readonly url: string;
  /** Everything the child printed: the runtime's JSON log lines, and its errors. */
  readonly lines: readonly string[];
  stop(): Promise<void>;
}

const REPO = path.resolve(__dirname, '..', '..');
const READY = /^READY (http:\/\/127\.0\.0\.1:\d+)$/;

export async function startFunctionProcess(
  jobId: string,
  env: Env,
  edge: Omit<EdgeSettings, 'invokers'> & { readonly invokers: readonly string[] },
): Promise<FunctionProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('test', 'support', 'function-child.ts')],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        METADATA_SERVER_DETECTION: 'none',
        ENX_CHILD_SPEC: JSON.stringify({ jobId, env, edge }),
      },
    },
  );
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the function child did not start:\n${lines.join('\n')}`)),
      30_000,
    );
    const poll = setInterval(() => {
      const ready = lines.map((line) => READY.exec(line)).find(Boolean);
      if (ready || child.exitCode !== null) {
        clearInterval(poll);
        clearTimeout(timer);
        if (ready) resolve(ready[1]);
        else reject(new Error(`the function child exited:\n${lines.join('\n')}`));
      }
    }, 20);
  });
  return {
    url,
    lines,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
