/**
 * The local fleet's status page as a person sees it: `local/main.ts --run-now` in a child process
 * (see test/support/local-fleet-process.ts), its page at `/` opened in a real headless Chromium
 * (Debian's chromium, driven by playwright-core; never a downloaded browser). Chromium
 * runs with a throwaway profile and the flags that keep it from calling out, and only ever loads
 * 127.0.0.1. At the end neither the fleet nor any Chromium process may be left behind.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { catalog } from '../../functions/catalog';
import { ANOMALIES_SUBJECT } from '../../functions/jobs/emailer-anomalies/run';
import { SMS_ERRORS_SUBJECT } from '../../functions/jobs/emailer-sms-errors/run';
import type { FleetStatus } from '../../local/status';
import {
  disposeLocalFleet,
  fetchStatus,
  listening,
  portOf,
  startLocalFleet,
  stopLocalFleet,
  waitFor,
  waitForCleanupSuccess,
} from '../support/local-fleet-process';
import type { LocalFleet } from '../support/local-fleet-process';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { loopbackClientOptions } from '../../functions/adapters/loopback-grpc';
import { readLocalApis } from '../../local/google-apis';
import { TIMELINE_SLOTS } from '../../local/job-health';
import { CHROMIUM } from '../../local/system-tools';
import { requireSystemTool } from '../support/system-tools';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const START_LIMIT_MS = 60_000;
const RUN_LIMIT_MS = 60_000;
const ACTION_LIMIT_MS = 20_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The one window function used below (tsconfig has no DOM lib; the callback runs in the page). */
interface BrowserWindow {
  getComputedStyle(node: unknown): { readonly color: string; readonly backgroundColor: string };
}

/** Pids of the processes whose command line mentions `needle` (Chromium's profile folder). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('local fleet status page in headless Chromium', () => {
  let fleet: LocalFleet | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let profileDir: string | undefined;
  let shotDir: string | undefined;

  beforeAll(
    async () => {
      // Fail, never skip: the suite's global setup installs it where it can.
      const executablePath = requireSystemTool(CHROMIUM);
      fleet = await startLocalFleet(START_LIMIT_MS);
      await waitForCleanupSuccess(fleet.statusUrl, RUN_LIMIT_MS);

      profileDir = mkdtempSync(path.join(os.tmpdir(), 'enx-chromium-profile-'));
      shotDir = mkdtempSync(path.join(os.tmpdir(), 'enx-status-shot-'));
      context = await chromium.launchPersistentContext(profileDir, {
        executablePath,
        viewport: { width: 1400, height: 900 },
        headless: true,
        args: CHROMIUM_ARGS,
        timeout: ACTION_LIMIT_MS * 2,
        // No proxy from the environment: the page is on 127.0.0.1 and nothing else is loaded.
        env: Object.fromEntries(
          Object.entries(process.env).filter(
            (entry): entry is [string, string] => entry[1] !== undefined && !/_proxy$/i.test(entry[0]),
          ),
        ),
      });
      context.setDefaultTimeout(ACTION_LIMIT_MS);
      context.setDefaultNavigationTimeout(ACTION_LIMIT_MS);
      // Belt and braces: the browser may load the fleet's status server and nothing else.
      const origin = fleet.statusUrl;
      await context.route('**/*', (route) =>
        route.request().url().startsWith(`${origin}/`) ? route.continue() : route.abort('blockedbyclient'),
      );
      page = context.pages()[0] ?? (await context.newPage());
      const response = await page.goto(`${fleet.statusUrl}/`, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
    },
    START_LIMIT_MS + RUN_LIMIT_MS + 2 * ACTION_LIMIT_MS + 10_000,
  );

  afterAll(async () => {
    // Only after a failure is anything still open here.
    await context?.close().catch(() => undefined);
    await disposeLocalFleet(fleet);
    for (const dir of [profileDir, shotDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('shows the title and one row per job of the catalog, each with a state and a details link', async () => {
    expect(await page.title()).toBe('enx-jobs local fleet');
    await expect(page.locator('h1').innerText()).resolves.toBe('enx-jobs local fleet');
    const rowIds = await page
      .locator('table.jobs tbody tr')
      .evaluateAll((rows) => rows.map((row) => (row as unknown as { dataset: { job: string } }).dataset.job));
    expect([...rowIds].sort()).toEqual(catalog.map((job) => job.id).sort());
    for (const job of catalog) {
      const row = page.locator(`tr[data-job="${job.id}"]`);
      await expect(row.locator('.health').innerText()).resolves.toMatch(
        /^(healthy|late|failing|paused|never ran)$/,
      );
      await expect(row.locator(`a[href="/jobs/${job.id}"]`).innerText()).resolves.toBe(job.id);
      expect(await row.locator('.timeline .slot').count()).toBe(TIMELINE_SLOTS);
      await expect(row.locator('.bar').isVisible()).resolves.toBe(true);
    }
  });

  it('shows every job above the fold at 1400×900', async () => {
    expect(page.viewportSize()).toEqual({ width: 1400, height: 900 });
    for (const job of catalog) {
      const box = await page.locator(`tr[data-job="${job.id}"]`).boundingBox();
      expect(box).not.toBeNull();
      expect(box!.y + box!.height).toBeLessThanOrEqual(900);
      expect(box!.x + box!.width).toBeLessThanOrEqual(1400);
    }
    const file = process.env.ENX_STATUS_SHOT ?? path.join(shotDir!, 'status-page.png');
    await page.screenshot({ path: file });
    const png = readFileSync(file);
    expect(statSync(file).size).toBeGreaterThan(1_000);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });

  it('shows cleanup-worker healthy, with its success in the last slot of its timeline', async () => {
    await page.reload({ waitUntil: 'load' });
    const row = page.locator('tr[data-job="cleanup-worker"]');
    await expect(row.locator('.health').innerText()).resolves.toBe('healthy');
    await expect(row.locator('td.last-success').innerText()).resolves.toMatch(/ ago$/);
    await expect(row.locator('td.next-tick').innerText()).resolves.toMatch(/^in /);
    await expect(row.locator('.timeline .slot').last().getAttribute('class')).resolves.toMatch(
      /\bsucceeded\b|\bretried\b/,
    );
    // Healthy is green, what the eye picks up first.
    const background = await row
      .locator('.health')
      .evaluate((node) => (globalThis as unknown as BrowserWindow).getComputedStyle(node).backgroundColor);
    expect(background).toBe('rgb(21, 128, 61)');
  });

  it('shows the alerts on top, each firing one with its runbook', async () => {
    const heading = page.locator('h2#alerts');
    const alertsTop = (await heading.boundingBox())!.y;
    const jobsTop = (await page.locator('table.jobs').boundingBox())!.y;
    expect(alertsTop).toBeLessThan(jobsTop);
    const text = await heading.innerText();
    if (/^Alerts$/.test(text)) {
      await expect(page.locator('.alerts.quiet').innerText()).resolves.toMatch(/^None firing \(/);
      return;
    }
    expect(text).toMatch(/^Alerts firing \(\d+\)$/);
    const chips = page.locator('.alerts .alert');
    expect(await chips.count()).toBeGreaterThanOrEqual(1);
    const href = await chips.first().locator('a', { hasText: 'runbook' }).getAttribute('href');
    expect(href).toMatch(/^\/runbooks\/[a-z-]+\.md$/);
    const runbook = await fetch(`${fleet!.statusUrl}${href}`);
    expect(runbook.status).toBe(200);
    expect(await runbook.text()).toContain('npm run jobs -- triage <job id>');
  });

  it('keeps the details one click away: attempts with the purged counts, ticks and log lines', async () => {
    await page.locator('a[href="/jobs/cleanup-worker"]').click();
    await page.waitForURL(`${fleet!.statusUrl}/jobs/cleanup-worker`);
    await expect(page.locator('h1').innerText()).resolves.toMatch(/^cleanup-worker/);
    const attempts = page.locator('table').first();
    expect(await attempts.locator('thead th').allInnerTexts()).toEqual([
      'started',
      'tick',
      'attempt',
      'state',
      'duration',
      'result / error',
    ]);
    const succeeded = attempts.locator('tbody tr', { has: page.locator('span.state.succeeded') });
    expect(await succeeded.count()).toBeGreaterThanOrEqual(1);
    const cells = await succeeded.last().locator('td').allInnerTexts();
    expect(cells[5]).toMatch(/purged /);
    expect(cells[5]).toMatch(/TOKEN_SIGNING_KEY\D*[1-9]\d*/);
    await expect(page.locator('pre.logs').innerText()).resolves.toMatch(/ INFO started tick /);
    await page.goto(`${fleet!.statusUrl}/`, { waitUntil: 'load' });
  });

  it(
    'pauses, resumes and runs a job with its buttons, through the Cloud Scheduler API',
    async () => {
      const apis = readLocalApis(fleet!.dataDir);
      const client = new CloudSchedulerClient(loopbackClientOptions(apis.scheduler, apis.project));
      const name = `projects/${apis.project}/locations/${apis.location}/jobs/e2e-redirect`;
      try {
        const row = () => page.locator('tr[data-job="e2e-redirect"]');
        /** Clicks a row's button; the server acts, answers 303 to /, and the page shows the result. */
        const press = async (label: string) => {
          const posted = page.waitForResponse((answer) => answer.request().method() === 'POST');
          await row().locator('button', { hasText: label }).click();
          expect((await posted).status()).toBe(303);
          await page.waitForLoadState('load');
        };
        const health = () =>
          waitFor('the row to change', ACTION_LIMIT_MS, async () => {
            const text = await row()
              .locator('.health')
              .innerText()
              .catch(() => undefined);
            return text;
          });
        await press('pause');
        await expect(health()).resolves.toBe('paused');
        expect((await client.getJob({ name }))[0].state).toBe('PAUSED');
        await expect(row().locator('button', { hasText: 'resume' }).isVisible()).resolves.toBe(true);

        await press('resume');
        await expect(health()).resolves.not.toBe('paused');
        expect((await client.getJob({ name }))[0].state).toBe('ENABLED');

        const before = (await fetchStatus(fleet!.statusUrl)).jobs.find((job) => job.id === 'e2e-redirect')!;
        await press('run now');
        await waitFor('the run-now tick in the ledger', RUN_LIMIT_MS, async () => {
          const job = (await fetchStatus(fleet!.statusUrl)).jobs.find(
            (candidate) => candidate.id === 'e2e-redirect',
          )!;
          return job.lastTicks[0] && job.lastTicks[0].tickId !== before.lastTicks[0]?.tickId
            ? true
            : undefined;
        });
      } finally {
        await client.close();
      }
    },
    RUN_LIMIT_MS + 2 * ACTION_LIMIT_MS,
  );

  it(
    'refreshes itself',
    async () => {
      await expect(page.locator('meta[http-equiv="refresh"]').getAttribute('content')).resolves.toBe('10');
      // And the browser really does it: the page loads again on its own within the 10 s.
      const generated = await page.locator('p.meta time').first().getAttribute('datetime');
      await page.waitForEvent('load', { timeout: ACTION_LIMIT_MS });
      await expect(page.locator('h1').innerText()).resolves.toBe('enx-jobs local fleet');
      const regenerated = await page.locator('p.meta time').first().getAttribute('datetime');
      expect(Date.parse(regenerated!)).toBeGreaterThan(Date.parse(generated!));
    },
    2 * ACTION_LIMIT_MS,
  );

  it('lists the mail the emailers sent to the SMTP catcher, and shows one', async () => {
    // Both emailers run at start-up (--run-now), and the demo data meets each one's condition.
    const mails = await waitFor('a mail from each emailer in the catcher', RUN_LIMIT_MS, async () => {
      const response = await fetch(`${fleet!.statusUrl}/mail.json`);
      const list = (await response.json()) as { subject: string }[];
      const subjects = new Set(list.map((mail) => mail.subject));
      return subjects.has(SMS_ERRORS_SUBJECT) && subjects.has(ANOMALIES_SUBJECT) ? list : undefined;
    });
    const mailPage = await context!.newPage();
    try {
      const response = await mailPage.goto(`${fleet!.statusUrl}/mail`, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      await expect(mailPage.locator('h1').innerText()).resolves.toBe('Caught mail');
      const headers = await mailPage.locator('table th').allInnerTexts();
      expect(headers).toEqual(['received', 'recipients', 'subject', 'session']);
      expect(await mailPage.locator('table tr').count()).toBe(mails.length + 1);
      const link = mailPage.locator('a', { hasText: SMS_ERRORS_SUBJECT }).first();
      const recipients = await mailPage
        .locator('tr', { has: mailPage.locator('a', { hasText: SMS_ERRORS_SUBJECT }) })
        .first()
        .locator('td')
        .nth(1)
        .innerText();
      expect(recipients).toMatch(/@/);
      await link.click();
      await mailPage.waitForLoadState('load');
      // The mail as its recipient would read it: the count and the realm's stats link.
      await expect(mailPage.locator('body').innerText()).resolves.toMatch(/SMS/);
    } finally {
      await mailPage.close();
    }
  });

  it('links to /status, which answers JSON with every job', async () => {
    const link = page.locator('a[href="/status"]');
    await expect(link.innerText()).resolves.toBe('/status');
    const [response] = await Promise.all([
      page.waitForResponse((answer) => new URL(answer.url()).pathname === '/status'),
      link.click(),
    ]);
    await page.waitForURL(`${fleet!.statusUrl}/status`);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toMatch(/^application\/json/);
    const json = (await response.json()) as FleetStatus;
    expect(json.jobs.map((job) => job.id).sort()).toEqual(catalog.map((job) => job.id).sort());
    // What the browser shows is that same JSON.
    const shown = await page.locator('pre').first().innerText();
    expect((JSON.parse(shown) as FleetStatus).urls.status).toBe(fleet!.statusUrl);
  });

  it(
    'stops the browser and the fleet, leaving no process and no open port behind',
    async () => {
      const browserPids = processesMentioning(profileDir!);
      expect(browserPids.length).toBeGreaterThanOrEqual(1);
      await context!.close();
      context = undefined;
      await waitFor('every Chromium process to exit', ACTION_LIMIT_MS, async () =>
        processesMentioning(profileDir!).length === 0 ? true : undefined,
      );

      const current = await fetchStatus(fleet!.statusUrl);
      const ports = [
        portOf(current.urls.status),
        portOf(current.urls.issuer),
        portOf(current.urls.database),
        ...Object.values(current.urls.functions).map(portOf),
      ];
      expect(await stopLocalFleet(fleet!, 45_000)).toBe(0);
      expect(fleet!.lines).toContain('stopped');
      for (const port of ports) expect(await listening(port)).toBe(false);
    },
    ACTION_LIMIT_MS + 60_000,
  );
});
