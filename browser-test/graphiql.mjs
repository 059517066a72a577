#!/usr/bin/env node
// Opens GraphiQL (GET <server>/graphql) in Debian's headless Chromium, runs a query from the
// editor and checks the result pane; fails if the page asks any host but this machine.
//
//   node graphiql.mjs [SERVER_URL]     (default $GRAPHQL_URL; either .../graphql or the origin)
//
// Env: CHROMIUM (default /usr/bin/chromium), SCREENSHOT (default a new temp dir/graphiql.png).
// Prints one line per check, the screenshot path and `N passed, M failed`; exits 1 on failure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const arg = process.argv[2] ?? process.env.GRAPHQL_URL;
if (!arg) {
  console.error('error: give the server URL (e.g. http://127.0.0.1:8080/graphql) or set GRAPHQL_URL');
  process.exit(2);
}
const endpoint = new URL(arg);
if (!endpoint.pathname.endsWith('/graphql')) endpoint.pathname = '/graphql';
const QUERY = '{ conversations(first: 5) { totalCount } }';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

let passed = 0;
let failed = 0;
function check(what, ok, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
  if (!ok && detail !== undefined) console.log(`    ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
}

// What the server says without a browser, to compare with what GraphiQL shows.
async function directAnswer() {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: QUERY }),
  });
  return res.json();
}

const profile = mkdtempSync(join(tmpdir(), 'graphiql-profile-'));
const screenshot = process.env.SCREENSHOT ?? join(mkdtempSync(join(tmpdir(), 'graphiql-shot-')), 'graphiql.png');
const requests = []; // every URL the page asked for (HTTP and WebSocket)
const failures = []; // requests that failed at the network level
const pageErrors = []; // uncaught exceptions in the page
const introspections = []; // GraphiQL's schema introspection requests: { status, body }
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('request', (r) => requests.push(r.url()));
  page.on('websocket', (ws) => requests.push(ws.url()));
  page.on('requestfailed', (r) => failures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('response', async (r) => {
    const post = r.request().postData() ?? '';
    if (post.includes('IntrospectionQuery')) {
      const entry = { status: r.status(), body: '' };
      introspections.push(entry);
      entry.body = await r.text().catch(() => '');
    }
    if (r.status() < 400) return;
    const body = await r.text().catch(() => '');
    console.log(`    (HTTP ${r.status()}) ${r.request().method()} ${r.url()}` +
      `${r.request().postData() ? ` body ${r.request().postData().slice(0, 300)}` : ''} -> ${body.slice(0, 300)}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`    (browser console error) ${m.text()}`);
  });

  const expected = await directAnswer();

  const response = await page.goto(endpoint.href, { waitUntil: 'load' });
  check(`GET ${endpoint.href} answers 200 text/html`,
    response?.status() === 200 && (response.headers()['content-type'] ?? '').includes('text/html'),
    { status: response?.status(), contentType: response?.headers()['content-type'] });

  // GraphiQL 3: the query editor is a CodeMirror 5 instance inside .graphiql-query-editor.
  const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
  await editor.waitFor({ state: 'visible' });
  check('GraphiQL rendered its query editor', true);

  // Type the query as a person would: focus the editor, select all, type over it.
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(QUERY);
  const editorText = await editor.evaluate((el) => el.CodeMirror?.getValue());
  check('the query editor holds the typed query', editorText === QUERY, { editorText });
  // GraphiQL re-reads the operation name from the editor after a short debounce; a person
  // pauses before pressing run, and so do we (else it sends the old `operationName`).
  await page.waitForTimeout(500);

  // Run it with the execute (play) button.
  await page.locator('button.graphiql-execute-button').click();
  const resultEditor = page.locator('.graphiql-response .CodeMirror').first();
  await page.waitForFunction(
    () => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror?.getValue().includes('"totalCount"'),
    null,
    { timeout: 30_000 },
  );
  const resultText = await resultEditor.evaluate((el) => el.CodeMirror.getValue());
  check('the result pane shows "totalCount"', resultText.includes('"totalCount"'), resultText);
  let shown;
  try {
    shown = JSON.parse(resultText);
  } catch {
    shown = undefined;
  }
  check('the result pane is the server\'s JSON answer',
    JSON.stringify(shown) === JSON.stringify(expected), { shown, expected });
  check('the answer has a numeric totalCount', typeof shown?.data?.conversations?.totalCount === 'number', shown);

  // GraphiQL introspects the schema on load (for the Docs explorer and autocompletion).
  const schemaLoaded = introspections.some((i) => i.status === 200 && i.body.includes('"__schema"'));
  check('GraphiQL loaded the schema by introspection', schemaLoaded,
    introspections.map((i) => `HTTP ${i.status} ${i.body.slice(0, 200)}`));
  // The Docs explorer lists the root types only when the schema loaded.
  await page.getByRole('button', { name: /Documentation Explorer/ }).first().click();
  const docs = page.locator('.graphiql-doc-explorer');
  const docsText = await docs
    .filter({ hasText: 'Mutation' })
    .first()
    .innerText({ timeout: schemaLoaded ? 10_000 : 2_000 })
    .catch(async () => (await docs.first().innerText({ timeout: 1_000 }).catch(() => '<no docs panel>')));
  check('the Docs explorer shows the Query and Mutation root types',
    docsText.includes('Query') && docsText.includes('Mutation'), docsText.slice(0, 300));

  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);

  const foreign = requests.filter((u) => {
    const { protocol, hostname } = new URL(u);
    return !['data:', 'blob:', 'about:'].includes(protocol) && !LOCAL_HOSTS.has(hostname);
  });
  check(`every request stayed on this machine (${requests.length} requests)`, foreign.length === 0, foreign);
  check('no request failed', failures.length === 0, failures);
  check('no uncaught error in the page', pageErrors.length === 0, pageErrors);
  check('GraphiQL loaded its assets from /graphql/assets/',
    requests.some((u) => new URL(u).pathname.startsWith('/graphql/assets/')), requests);
} catch (err) {
  check('the browser test ran to the end', false, err?.stack ?? String(err));
  const page = context?.pages()[0];
  if (page) {
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    console.log(`screenshot (at the failure): ${screenshot}`);
  }
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
if (requests.length) console.log(`requests: ${[...new Set(requests)].join(' ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
