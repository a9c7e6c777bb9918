// Conduit's API docs (Swagger UI at /docs/) in headless Debian Chromium with the
// network cut off: every request that is not to the app is refused (host resolver
// and request routing both), so the page can only work from what the binary serves.
// Fails on any console error, failed or outside request, or error response; checks
// that the example's operations are listed; saves a screenshot under $SCREENSHOTS.
//
//   BASE_URL=http://127.0.0.1:3000 node docs.mjs
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
const expected = Number(process.env.EXPECTED_OPERATIONS ?? 19);
const shots = process.env.SCREENSHOTS ?? new URL('../target/e2e', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const app = new URL(base);

const problems = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    // No name resolves but the app's own address: there is no network to reach.
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${app.hostname}`,
  ],
});
const page = await browser.newPage();
await page.route('**/*', (route) => {
  const url = new URL(route.request().url());
  if (url.host === app.host || url.protocol === 'data:') return route.continue();
  problems.push(`outside request: ${url.href}`);
  return route.abort('internetdisconnected');
});
page.on('console', (m) => {
  if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
// Requests cut off by closing the browser at the end are not the app's failures.
let closing = false;
page.on('requestfailed', (r) => {
  if (!closing) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
});
page.on('response', (r) => {
  if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
});

try {
  await page.goto(`${base}/docs`, { waitUntil: 'networkidle' });
  await page.waitForSelector('.opblock', { timeout: 15000 });
  const title = await page.locator('.info .title').innerText();
  if (!title.includes('Conduit API')) throw new Error(`expected the API's title, saw: ${title}`);
  const operations = await page.locator('.opblock').count();
  if (operations !== expected) {
    throw new Error(`expected ${expected} operations listed, saw ${operations}`);
  }
  const paths = await page.locator('.opblock-summary-path').allInnerTexts();
  for (const p of ['/api/users/login', '/api/articles/{slug}/comments/{id}', '/api/tags']) {
    if (!paths.some((t) => t.replace(/\u200b/g, '') === p)) throw new Error(`${p} is not listed`);
  }
  // Open one operation: its parameters and responses render from the document.
  await page.locator('.opblock-summary-path', { hasText: '/api/articles/{slug}/comments/{id}' }).first().click();
  await page.waitForSelector('.opblock.is-open .parameters', { timeout: 5000 });
  await page.screenshot({ path: join(shots, 'docs.png'), fullPage: true });
  if (problems.length) throw new Error(problems.join('\n'));
  console.log(`docs: ${operations} operations listed offline; screenshot ${join(shots, 'docs.png')}`);
} finally {
  closing = true;
  await browser.close();
}
