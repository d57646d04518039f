/**
 * The status page's HTTP server on 127.0.0.1: `/status` (JSON) and `/` (HTML), both built from one
 * collected FleetStatus. It only serves; what the status contains is status.ts's business.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { renderStatusPage } from './status-page';
import type { FleetStatus } from './status';
import { serveMail } from './status-mail';
import type { MailSource } from './status-mail';

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
}): Promise<StatusServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (serveMail(path, options.mail, res)) return;
    if (path !== '/' && path !== '/status') {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: try / or /status\n');
      return;
    }
    options.collect().then(
      (status) => {
        const json = path === '/status';
        const body = json ? JSON.stringify(status, null, 2) : renderStatusPage(status);
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
