#!/usr/bin/env node
// Opens GraphiQL (GET <server>/graphql) in Debian's headless Chromium, runs a query from the
// editor and checks the result pane; builds a query in the Explorer plugin by ticking
// `conversations` -> `totalCount` with the mouse, runs it and checks the number shown against
// the server's count; then runs a subscription from the editor and checks that an event of a
// mutation made over HTTP (from here, not the page) shows in the result pane.
// Fails if the page asks any host but this machine.
//
//   node graphiql.mjs [SERVER_URL]     (default $GRAPHQL_URL; either .../graphql or the origin)
//
// Env: CHROMIUM (default /usr/bin/chromium), SCREENSHOT (default a new temp dir/graphiql.png),
// SUBSCRIPTION=0 to leave out the subscription part.
// Prints one line per check, the screenshot path and `N passed, M failed`; exits 1 on failure.
import { randomUUID } from 'node:crypto';
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
const WITH_SUBSCRIPTION = process.env.SUBSCRIPTION !== '0';
// Every conversation the subscription part creates has this in its name, and its subscription
// filters on it, so other clients of the same server do not disturb it.
const MARKER = `graphiql ${randomUUID().slice(0, 8)}`;
const SUBSCRIPTION =
  `subscription Watch { conversationEvents(filter: { name: { contains: "${MARKER}" } }, kinds: [CREATED]) ` +
  '{ kind conversation { id name } } }';

let passed = 0;
let failed = 0;
function check(what, ok, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
  if (!ok && detail !== undefined) console.log(`    ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
}

// A plain POST, without the browser.
async function post(query, variables) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}
/**
 * Types `text` over the editor's content as a person would (focus, select all, type), checks
 * the editor holds it, and pauses: GraphiQL re-reads the operation name from the editor after
 * a short debounce, and a person pauses before pressing run too (else it sends the old
 * `operationName`).
 */
async function typeOver(page, editor, text, what) {
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  const editorText = await editor.evaluate((el) => el.CodeMirror?.getValue());
  check(`the query editor holds the typed ${what}`, editorText === text, { editorText });
  await page.waitForTimeout(500);
}

/**
 * Types a subscription into the editor, runs it, and checks that a conversation created over
 * HTTP shows in the result pane as its CREATED event.
 */
async function subscription(page, editor, resultEditor) {
  const resultText = () => resultEditor.evaluate((el) => el.CodeMirror.getValue());
  await typeOver(page, editor, SUBSCRIPTION, 'subscription');
  await page.locator('button.graphiql-execute-button').click();

  // The server registers a subscription a moment after the browser sends it, and says nothing
  // when it has: create "sentinel" conversations, one every 500 ms, until one shows.
  const sentinels = [];
  const deadline = Date.now() + 20_000;
  let live = false;
  while (!live && Date.now() < deadline) {
    sentinels.push(await createMarked(`sentinel ${sentinels.length}`));
    const until = Date.now() + 500;
    while (!live && Date.now() < until) {
      const text = await resultText();
      live = sentinels.some((c) => text.includes(c.id));
      if (!live) await page.waitForTimeout(50);
    }
  }
  check(`the subscription delivers (after ${sentinels.length} sentinel conversation(s))`, live,
    { result: (await resultText()).slice(0, 300), frames: wsFrames.slice(0, 10) });
  if (!live) return;

  // Now that it is live: one more mutation over HTTP, and exactly its event in the pane.
  const created = await createMarked('final');
  const start = Date.now();
  let shown;
  while (Date.now() - start < 10_000) {
    try {
      shown = JSON.parse(await resultText());
    } catch {
      shown = undefined;
    }
    if (shown?.data?.conversationEvents?.conversation?.id === created.id) break;
    await page.waitForTimeout(50);
  }
  const expected = { data: { conversationEvents: { kind: 'CREATED', conversation: created } } };
  check(`the result pane shows the CREATED event of a conversation created over HTTP (${Date.now() - start} ms)`,
    JSON.stringify(shown) === JSON.stringify(expected), { shown, expected });

  const wsPath = wsUrls.map((u) => new URL(u).pathname);
  check('the subscription went over a WebSocket to /graphql/ws', wsPath.includes('/graphql/ws'), wsUrls);
  const sentTypes = wsFrames.filter((f) => f.dir === 'sent').map((f) => f.data?.type);
  check('GraphiQL spoke graphql-transport-ws (connection_init, then subscribe)',
    sentTypes[0] === 'connection_init' && sentTypes.includes('subscribe') &&
      wsFrames.some((f) => f.dir === 'received' && f.data?.type === 'connection_ack'),
    wsFrames.slice(0, 6));
  check('a `next` frame carried the event',
    wsFrames.some((f) => f.dir === 'received' && f.data?.type === 'next' &&
      f.data?.payload?.data?.conversationEvents?.conversation?.id === created.id),
    wsFrames.filter((f) => f.dir === 'received').slice(-3));

  // The run button is a stop button while the subscription runs: stopping sends `complete`.
  await page.locator('button.graphiql-execute-button').click();
  let completeSent = false;
  for (let i = 0; i < 100 && !completeSent; i++) {
    completeSent = wsFrames.some((f) => f.dir === 'sent' && f.data?.type === 'complete');
    if (!completeSent) await page.waitForTimeout(50);
  }
  check('stopping the subscription sends `complete`', completeSent,
    wsFrames.filter((f) => f.dir === 'sent').map((f) => f.data?.type));

  for (const c of [...sentinels, created]) {
    await post('mutation ($id: UUID!) { deleteConversation(id: $id) { id } }', { id: c.id }).catch(() => {});
  }
}

/**
 * Empties the editor, opens the Explorer from the sidebar, ticks `conversations` and then its
 * `totalCount` with the mouse, runs the query the Explorer wrote, and reads the count in the
 * result pane: it must be the server's count of conversations.
 */
async function explorer(page, editor, resultEditor) {
  const editorText = () => editor.evaluate((el) => el.CodeMirror.getValue());
  const resultText = () => resultEditor.evaluate((el) => el.CodeMirror.getValue());
  // Something to count that this run made.
  const made = [await createMarked('explorer 1'), await createMarked('explorer 2')];
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.getByRole('button', { name: 'Show GraphiQL Explorer' }).click();
  const root = page.locator('.graphiql-explorer-root');
  await root.waitFor({ state: 'visible' });
  check('the Explorer opens from the sidebar and lists the Query fields',
    (await root.locator('[data-field-name="conversations"]').count()) > 0, await root.innerText());
  await root.locator('[data-field-name="conversations"]').first().click();
  const totalCount = root.locator('.graphiql-explorer-conversations [data-field-name="totalCount"]').first();
  await totalCount.waitFor({ state: 'visible' });
  await totalCount.click();
  const built = await editorText();
  const expectedQuery = 'query MyQuery {\n  conversations {\n    totalCount\n  }\n}';
  check('ticking conversations -> totalCount wrote `conversations { totalCount }` into the editor',
    built.trim() === expectedQuery, { built, expectedQuery });
  await page.waitForTimeout(500); // the operation-name debounce, as above
  const before = await resultText();
  await page.locator('button.graphiql-execute-button').click();
  let shown;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const text = await resultText();
    if (text !== before) {
      try {
        shown = JSON.parse(text);
        if (shown?.data) break;
      } catch {
        shown = undefined;
      }
    }
    await page.waitForTimeout(50);
  }
  const real = (await post('{ conversations { totalCount } }'))?.data?.conversations?.totalCount;
  const count = shown?.data?.conversations?.totalCount;
  check(`the result pane shows totalCount ${count}, the server's count (${real}, at least the 2 made here)`,
    typeof count === 'number' && count === real && real >= 2 &&
      JSON.stringify(shown) === JSON.stringify({ data: { conversations: { totalCount: real } } }),
    { shown, real });
  for (const c of made) {
    await post('mutation ($id: UUID!) { deleteConversation(id: $id) { id } }', { id: c.id }).catch(() => {});
  }
  // Closed again: the Explorer logs a console error for list arguments (the subscription's
  // `kinds: [CREATED]`) that it cannot show.
  await page.getByRole('button', { name: 'Hide GraphiQL Explorer' }).click();
  await root.waitFor({ state: 'detached' });
}

// What the server says without a browser, to compare with what GraphiQL shows.
const directAnswer = () => post(QUERY);

/** Creates a conversation named `${MARKER} ${suffix}` over HTTP; returns its id. */
async function createMarked(suffix) {
  const answer = await post(
    'mutation ($input: CreateConversationInput!) { createConversation(input: $input) { id name } }',
    {
      input: {
        customerId: randomUUID(), accountId: randomUUID(), name: `${MARKER} ${suffix}`,
        type: 'MESSAGE', dialogId: 'graphiql',
        self: { type: 'TEL', target: '+14703298699' }, peer: { type: 'TEL', target: '+673802' },
      },
    },
  );
  const created = answer?.data?.createConversation;
  if (!created?.id) throw new Error(`createConversation failed: ${JSON.stringify(answer)}`);
  return created;
}

const profile = mkdtempSync(join(tmpdir(), 'graphiql-profile-'));
const screenshot = process.env.SCREENSHOT ?? join(mkdtempSync(join(tmpdir(), 'graphiql-shot-')), 'graphiql.png');
const requests = []; // every URL the page asked for (HTTP and WebSocket)
const failures = []; // requests that failed at the network level
const pageErrors = []; // uncaught exceptions in the page
const introspections = []; // GraphiQL's schema introspection requests: { status, body }
const wsFrames = []; // frames on the page's /graphql/ws WebSockets: { dir: 'sent' | 'received', data }
const wsUrls = [];
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
  page.on('websocket', (ws) => {
    requests.push(ws.url());
    wsUrls.push(ws.url());
    const record = (dir) => (f) => {
      try {
        wsFrames.push({ dir, data: JSON.parse(String(f.payload)) });
      } catch {
        wsFrames.push({ dir, data: String(f.payload) });
      }
    };
    ws.on('framesent', record('sent'));
    ws.on('framereceived', record('received'));
  });
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
  // Two tabs by default: the newest conversations, and live events resumable with `after`.
  const tabs = await page.locator('.graphiql-tab').allInnerTexts();
  check('two tabs open by default, the second one `Watch` (live events, resumable)',
    tabs.length === 2 && tabs[0].includes('Newest') && tabs[1].includes('Watch'), tabs);

  // Type the query as a person would: focus the editor, select all, type over it.
  await typeOver(page, editor, QUERY, 'query');

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

  await explorer(page, editor, resultEditor);

  if (WITH_SUBSCRIPTION) await subscription(page, editor, resultEditor);

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
