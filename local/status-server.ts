/**
 * The status page's HTTP server on 127.0.0.1: `/status` (JSON), `/` and `/jobs/<id>` (HTML), all
 * built from one collected FleetStatus; `/runbooks/<name>.md` (the runbooks the alerts link to);
 * and POST `/jobs/<id>/run|pause|resume`, handed to `act` (the fleet sends it through the Cloud
 * Scheduler API, like `npm run jobs`). It only serves; what the status contains is status.ts's
 * business.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import nodePath from 'node:path';
import type { ServerResponse } from 'node:http';
import { renderJobPage, renderStatusPage } from './status-page';
import type { FleetStatus } from './status';
import { serveMail } from './status-mail';
import type { MailSource } from './status-mail';

export type JobAction = 'run' | 'pause' | 'resume';

const ACTION_PATH = /^\/jobs\/([a-z0-9-]+)\/(run|pause|resume)$/;
const JOB_PATH = /^\/jobs\/([a-z0-9-]+)$/;
const RUNBOOK_PATH = /^\/runbooks\/([a-z0-9-]+\.md)$/;
const RUNBOOKS_DIR = nodePath.resolve(__dirname, '..', 'docs', 'runbooks');

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
}

/** The runbooks the alert chips link to, as their Markdown source. */
function serveRunbook(path: string, res: ServerResponse): boolean {
  const match = RUNBOOK_PATH.exec(path);
  if (!match) return false;
  const file = nodePath.join(RUNBOOKS_DIR, match[1]);
  if (!existsSync(file)) plain(res, 404, `no runbook ${match[1]}\n`);
  else res.writeHead(200, { 'content-type': 'text/markdown; charset=utf-8' }).end(readFileSync(file, 'utf8'));
  return true;
}

export interface StatusServer {
  readonly url: string;
  readonly port: number;
  /** The requested port was taken and a free one was used instead. */
  readonly fellBack: boolean;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export async function startStatusServer(options: {
  /** 0 picks any free port; a taken port falls back to a free one. */
  readonly port: number;
  readonly collect: () => Promise<FleetStatus>;
  /** The SMTP catcher's mails, served at /mail. */
  readonly mail?: MailSource;
  /** Runs, pauses or resumes a job; resolves with a line saying what happened. */
  readonly act?: (jobId: string, action: JobAction) => Promise<string>;
  /** A job's recent log lines, for its details page. */
  readonly jobLog?: (jobId: string) => string[];
}): Promise<StatusServer> {
  const pageOptions = { actions: options.act !== undefined };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const action = ACTION_PATH.exec(path);
    if (req.method === 'POST' && action && options.act) {
      // Another site's page in the same browser could post here (cross-site request forgery):
      // browsers name the page's origin, and only the status page's own is accepted.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) {
        plain(res, 403, `refused: a form from ${origin} may not act on this fleet\n`);
        return;
      }
      options.act(action[1], action[2] as JobAction).then(
        () => res.writeHead(303, { location: '/' }).end(),
        (error: unknown) => plain(res, 409, `${(error as Error).message}\n`),
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (serveMail(path, options.mail, res)) return;
    if (serveRunbook(path, res)) return;
    const jobPage = JOB_PATH.exec(path);
    if (path !== '/' && path !== '/status' && !jobPage) {
      plain(res, 404, 'not found: try / or /status\n');
      return;
    }
    options.collect().then(
      (status) => {
        const json = path === '/status';
        const body = json
          ? JSON.stringify(status, null, 2)
          : jobPage
            ? renderJobPage(status, jobPage[1], options.jobLog?.(jobPage[1]) ?? [], pageOptions)
            : renderStatusPage(status, pageOptions);
        if (body === undefined) {
          plain(res, 404, `no job ${jobPage?.[1]} in this fleet\n`);
          return;
        }
        res.writeHead(200, {
          'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`could not assemble the status: ${(error as Error).message}\n`);
      },
    );
  });
  let port: number;
  let fellBack = false;
  try {
    port = await listen(server, options.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    port = await listen(server, 0);
    fellBack = true;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    fellBack,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
