// The blog in a real browser (headless Debian Chromium driven by playwright-core):
// sign up, log in, write a post with an image, see it listed, log out. Fails on any
// console error, failed request or error response; saves screenshots under
// $SCREENSHOTS (default ../target/e2e).
//
//   BASE_URL=http://127.0.0.1:8000 node blog.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:8000';
const shots = process.env.SCREENSHOTS ?? new URL('../target/e2e', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

// A real 2x2 PNG, so that the page shows a decodable image.
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);
const image = join(tmpdir(), `keel-e2e-${process.pid}.png`);
writeFileSync(image, png);

const problems = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const page = await browser.newPage();
page.on('console', (m) => {
  if (m.type() === 'error') problems.push(`console error: ${m.text()} (${m.location()?.url ?? ''})`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
// Requests cut off by closing the browser at the end are not the app's failures.
let closing = false;
page.on('requestfailed', (r) => {
  if (!closing) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
});
page.on('response', (r) => {
  if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
});

function check(condition, what) {
  if (!condition) throw new Error(`expected: ${what}`);
  console.log(`ok - ${what}`);
}

const email = `reader${Date.now()}@example.com`;
const password = 'a long pass phrase 42';
const title = `Seen in Chromium ${Date.now()}`;
try {
  await page.goto(base + '/');
  check((await page.title()).includes('Keel Blog'), 'the home page renders');

  // Sign up.
  await page.click('nav >> text=Sign up');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.fill('input[name=password2]', password);
  await page.click('button:has-text("Sign up")');
  await page.waitForSelector('text=Check your inbox');
  check(true, 'sign-up answers "check your inbox"');

  // Log in, sent on to the page that needed it.
  await page.goto(base + '/posts/new');
  check(page.url().includes('/auth/login?next='), 'writing asks for a login first');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button:has-text("Log in")');
  await page.waitForURL('**/posts/new');
  check((await page.textContent('nav')).includes(email), 'logged in, the header shows the user');

  // Write a post with an image.
  await page.fill('input[name=title]', title);
  await page.fill('textarea[name=body]', 'Written by a headless browser.\nWith two lines.');
  await page.setInputFiles('input[name=image]', image);
  await Promise.all([page.waitForURL(/\/posts\/\d+$/), page.click('main button:has-text("Save")')]);
  await page.waitForSelector('text=Post published.');
  const loaded = await page.$eval('.post img', (img) => img.complete && img.naturalWidth === 2);
  check(loaded, 'the post shows its uploaded image');
  await page.screenshot({ path: join(shots, 'blog-post.png'), fullPage: true });

  // Listed on the home page.
  await page.goto(base + '/');
  check((await page.content()).includes(title), 'the post is listed on the home page');
  await page.screenshot({ path: join(shots, 'blog-home.png'), fullPage: true });

  // Log out.
  await page.click('nav button:has-text("Log out")');
  await page.waitForSelector('nav >> text=Log in');
  await page.waitForLoadState('load');
  check(!(await page.textContent('nav')).includes(email), 'logged out');
} catch (e) {
  problems.push(String(e?.stack ?? e));
  await page.screenshot({ path: join(shots, 'blog-failure.png'), fullPage: true }).catch(() => {});
} finally {
  closing = true;
  await browser.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`browser test passed; screenshots in ${shots}`);
