// The dashboard in a real browser: Debian's chromium driven by playwright-core. Real counts
// on the overview, a job sent by another process showing up live, search by id, cancel by
// keyboard firing the running job's AbortSignal, job data rendered as text only, axe-core on
// every page, and a screenshot of each page under test-artifacts/dashboard/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BIN, ensureBuilt } from './cli-helpers.js';
import { mountDashboard, type Mounted } from './dashboard-helpers.js';
import { fixture, ROOT, tempDir, waitFor } from './helpers.js';

// What the callbacks run inside the page see (this project compiles without the DOM lib).
declare const window: Record<string, any>;
declare const document: any;
declare const location: { hash: string };
type Document = unknown;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// Under CI=true (.ci/run installs chromium) a missing browser is a failure, not a skip.
const skip = existsSync(CHROMIUM)
  ? false
  : process.env.CI === 'true'
    ? false
    : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

let browser: Browser;
before(async () => {
  if (skip) return;
  if (!existsSync(CHROMIUM)) assert.fail(`CI=true but no Chromium at ${CHROMIUM}: .ci/run installs the Debian package chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM });
  mkdirSync(ARTIFACTS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

interface Opened {
  m: Mounted;
  page: Page;
  /** Console messages about the Content-Security-Policy and uncaught page errors. */
  problems: string[];
}

async function open(t: TestContext, m?: Mounted): Promise<Opened> {
  m ??= await mountDashboard(t, { basePath: '/dash' });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (/Content.Security.Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(`${m.origin}${m.handler.loginPath}`);
  await page.waitForSelector('header nav');
  return { m, page, problems };
}

/** axe-core in the page: the serious and critical violations, one line each. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const results = await page.evaluate(async () => {
    const r = await (
      window as unknown as {
        axe: {
          run(
            ctx: Document,
            o: object,
          ): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 3),
    }));
  });
  return results
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.targets.join(', ')})`);
}

/** Press Tab until the focused element matches, as a keyboard user would (bounded). */
async function tabTo(
  page: Page,
  matches: (el: { tag: string; text: string; href: string | null }) => boolean,
  what: string,
): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const el = await page.evaluate(() => {
      const a = document.activeElement;
      return { tag: a?.tagName ?? '', text: a?.textContent?.trim() ?? '', href: a?.getAttribute('href') ?? null };
    });
    if (matches(el)) return;
  }
  assert.fail(`Tab never reached ${what}`);
}

test('overview shows the real counts; every page passes axe (no serious or critical violation), runs under the CSP, and is screenshotted', {
  skip,
}, async (t) => {
  const o = await open(t);
  const { m, page } = o;
  const ok = await Promise.all([1, 2, 3].map((i) => m.app.send('demo.echo', [`ok ${i}`])));
  await Promise.all(ok.map((h) => h.result({ timeout: 30 })));
  const bad = await m.app.send('demo.boom', ['bad']);
  await assert.rejects(bad.result({ timeout: 30 }));
  await m.app.send('demo.echo', ['later'], { countdown: 3600 });
  const counts = await m.app.counts();
  for (const state of ['succeeded', 'failed', 'pending'] as const) {
    await waitFor(
      async () => (await page.textContent(`[data-state="${state}"]`)) === String(counts[state]),
      5000,
      `the ${state} count to read ${counts[state]}`,
    );
  }
  assert.equal(await page.textContent('[data-state="succeeded"]'), '3');
  assert.equal(await page.textContent('[data-state="failed"]'), '1');
  await page.waitForSelector('.chart canvas');
  const pages: [string, string][] = [
    ['overview', '#/'],
    ['jobs', '#/jobs'],
    ['job', `#/job/${bad.id}`],
    ['tasks', '#/tasks'],
    ['schedules', '#/schedules'],
    ['workers', '#/workers'],
  ];
  const violations: string[] = [];
  for (const [name, hash] of pages) {
    await page.evaluate((h) => (location.hash = h), hash);
    await page.waitForSelector('main h2');
    if (name === 'job') await page.waitForSelector('ol.causes > li:nth-child(2)');
    if (name === 'jobs' || name === 'tasks' || name === 'workers') await page.waitForSelector('main table tbody tr');
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    for (const v of await axeViolations(page)) violations.push(`${name}: ${v}`);
  }
  assert.deepEqual(violations, []);
  assert.deepEqual(o.problems, [], 'no CSP refusals, no page errors');
  // The login page (no session) too.
  const anon = await browser.newPage();
  t.after(() => anon.close());
  await anon.goto(`${m.origin}/dash/`);
  await anon.screenshot({ path: join(ARTIFACTS, 'login.png') });
  assert.deepEqual(await axeViolations(anon), []);
});

test('a job sent from another process appears on the jobs page within 1 s, without a reload; search by id finds it', {
  skip,
}, async (t) => {
  ensureBuilt();
  const { m, page, problems } = await open(t);
  await page.evaluate(() => (location.hash = '#/jobs'));
  await page.waitForSelector('main table');
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  const args = JSON.stringify(['from another process']);
  const child = spawn(
    process.execPath,
    [BIN, 'send', 'demo.echo', args, '--countdown', '3600', '--json', '--dir', m.app.dir, '--tasks', fixture('dashboard')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 0, `celeriac send: ${out}${err}`);
  const sentAt = Date.now();
  const id = (JSON.parse(out) as { id: string }).id;
  // `celeriac send` returned: the job is durable in the inbox. The page must show it within 1 s.
  await page.waitForSelector(`tr[data-job="${id}"]`, { timeout: 1000 });
  t.diagnostic(`shown ${Date.now() - sentAt} ms after celeriac send exited`);
  assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload');
  // Search by id: type it, press Enter.
  for (let i = 0; i < 5; i++) await m.app.send('demo.echo', [`noise ${i}`], { countdown: 3600 });
  await page.fill('input[name="q"]', id);
  await page.press('input[name="q"]', 'Enter');
  await waitFor(
    async () => (await page.locator('tbody tr').count()) === 1 && (await page.locator(`tr[data-job="${id}"]`).count()) === 1,
    5000,
    'the search to show only that job',
  );
  assert.deepEqual(problems, []);
});

test('by keyboard alone: open a running job from the jobs page and cancel it; the task sees its AbortSignal fire', { skip }, async (t) => {
  const { m, page, problems } = await open(t);
  const marker = join(await tempDir(t), 'aborted.txt');
  const job = await m.app.send('demo.wait', [marker]);
  await waitFor(async () => (await m.app.get(job.id))?.state === 'started', 30_000, 'the job to start');
  await tabTo(page, (el) => el.tag === 'A' && el.href === '#/jobs', 'the Jobs link');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`tr[data-job="${job.id}"]`);
  await tabTo(page, (el) => el.tag === 'A' && el.href === `#/job/${job.id}`, "the job's link");
  await page.keyboard.press('Enter');
  await page.waitForSelector('button:has-text("Cancel")');
  await tabTo(page, (el) => el.tag === 'BUTTON' && el.text === 'Cancel', 'the Cancel button');
  await page.keyboard.press('Enter');
  await waitFor(
    async () => existsSync(marker) && (await readFile(marker, 'utf8')).includes(`aborted ${job.id}`),
    10_000,
    'the task to see its AbortSignal fire',
  );
  assert.equal((await m.app.get(job.id))!.state, 'cancelled');
  await page.waitForSelector('.state-cancelled');
  // Retry as a new job, by keyboard too: the page moves to the new job.
  await tabTo(page, (el) => el.tag === 'BUTTON' && el.text === 'Retry as a new job', 'the Retry button');
  await page.keyboard.press('Enter');
  await waitFor(async () => (await page.evaluate(() => location.hash)) !== `#/job/${job.id}`, 5000, 'the page to show the new job');
  const newId = decodeURIComponent((await page.evaluate(() => location.hash)).slice('#/job/'.length));
  assert.equal((await m.app.get(newId))!.task, 'demo.wait');
  await m.app.cancel(newId);
  assert.deepEqual(problems, []);
});

test('job data is text, never HTML: args with <img onerror> and <script> run nothing', { skip }, async (t) => {
  const { m, page, problems } = await open(t);
  const evil = ['<img src=x onerror="window.__pwned=1">', '<script>window.__pwned=2</script>', '"><svg onload="window.__pwned=3">'];
  const job = await m.app.send('demo.echo', [evil], { countdown: 3600 });
  await page.evaluate(() => (location.hash = '#/jobs'));
  await page.waitForSelector(`tr[data-job="${job.id}"]`);
  await page.evaluate((id) => (location.hash = `#/job/${encodeURIComponent(id)}`), job.id);
  await page.waitForSelector('pre[data-args]');
  assert.match((await page.textContent('pre[data-args]'))!, /<img src=x onerror=/, 'shown as text');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'no script ran');
  assert.equal(await page.locator('main img, main svg:not(.u-wrap svg), main script').count(), 0, 'no element made from job data');
  assert.deepEqual(problems, []);
});

test('read-only: the job page has no action buttons', { skip }, async (t) => {
  const m = await mountDashboard(t, { readOnly: true });
  const { page } = await open(t, m);
  const job = await m.app.send('demo.echo', ['x'], { countdown: 3600 });
  await page.evaluate((id) => (location.hash = `#/job/${encodeURIComponent(id)}`), job.id);
  await page.waitForSelector('pre[data-args]');
  assert.equal(await page.locator('main button').count(), 0);
  assert.match((await page.textContent('header'))!, /read-only/);
});
