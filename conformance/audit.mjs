#!/usr/bin/env node
// Runs the graphql-http server audit (GraphQL over HTTP spec) against a running server.
//
//   node audit.mjs [URL] [--report FILE]     (URL defaults to $GRAPHQL_URL)
//
// Prints every audit (id, status, name), the request and response of each one that is not
// `ok`, and a count per status. Exits 1 if any MUST audit fails (`error`) or any SHOULD audit
// fails (`warn`); MAY audits (`notice`) are reported only. Exits 2 on bad usage.
import { writeFileSync } from 'node:fs';
import { serverAudits } from 'graphql-http';

const args = process.argv.slice(2);
let url = process.env.GRAPHQL_URL;
let reportFile;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--report') reportFile = args[++i];
  else if (args[i] === '-h' || args[i] === '--help') {
    console.log('usage: node audit.mjs [URL] [--report FILE]   (URL defaults to $GRAPHQL_URL)');
    process.exit(0);
  } else url = args[i];
}
if (!url) {
  console.error('error: give the GraphQL endpoint URL as an argument or in GRAPHQL_URL');
  process.exit(2);
}

// Every request an audit makes, with a copy of the response body, so a failure can be shown
// as request / expected / got. Audits run one at a time, so `current` is the running audit.
let current = null;
async function recordingFetch(input, init = {}) {
  const req = new Request(input, init);
  const reqBody = init.body == null ? null : String(init.body);
  const res = await fetch(req);
  const text = await res.clone().text().catch((e) => `<unreadable body: ${e}>`);
  current?.push({
    request: {
      method: req.method,
      url: req.url,
      headers: Object.fromEntries(req.headers),
      body: reqBody,
    },
    response: {
      status: res.status,
      headers: Object.fromEntries(
        [...res.headers].filter(([k]) => !['date', 'vary', 'access-control-allow-origin'].includes(k)),
      ),
      body: text.length > 2000 ? text.slice(0, 2000) + '…' : text,
    },
  });
  return res;
}

const FAILING = new Set(['error', 'warn', 'fatal']);
const results = [];
for (const audit of serverAudits({ url, fetchFn: recordingFetch })) {
  current = [];
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http throws (instead of returning a result) only for fatal problems,
    // e.g. the server could not be reached.
    result = { id: audit.id, name: audit.name, status: 'fatal', reason: String(err?.cause ?? err) };
  }
  results.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.reason,
    exchanges: result.status === 'ok' ? undefined : current,
  });
  current = null;
}

console.log(`graphql-http server audit of ${url}\n`);
for (const r of results) {
  console.log(`${r.status.padEnd(6)} ${r.id}  ${r.name}`);
}
const notOk = results.filter((r) => r.status !== 'ok');
if (notOk.length) {
  console.log('\nDetails of the audits that are not ok:');
  for (const r of notOk) {
    console.log(`\n--- ${r.status} ${r.id}  ${r.name}`);
    console.log(`reason: ${r.reason}`);
    for (const x of r.exchanges ?? []) {
      const q = x.request;
      console.log(`request:  ${q.method} ${q.url}`);
      console.log(`          headers ${JSON.stringify(q.headers)}`);
      if (q.body != null) console.log(`          body ${q.body}`);
      console.log(`response: ${x.response.status} ${JSON.stringify(x.response.headers)}`);
      console.log(`          body ${x.response.body}`);
    }
  }
}

const counts = {};
for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
const failing = results.filter((r) => FAILING.has(r.status));
console.log(
  `\nsummary: ${results.length} audits: ` +
    ['ok', 'notice', 'warn', 'error', 'fatal']
      .filter((s) => counts[s])
      .map((s) => `${counts[s]} ${s}`)
      .join(', '),
);
if (reportFile) {
  writeFileSync(reportFile, JSON.stringify({ url, counts, results }, null, 2) + '\n');
  console.log(`report written to ${reportFile}`);
}
if (failing.length) {
  console.log(
    `FAIL: ${failing.length} MUST/SHOULD audit(s) not ok: ${failing.map((r) => r.id).join(' ')}`,
  );
  process.exit(1);
}
console.log('PASS: every MUST and SHOULD audit is ok' + (counts.notice ? ` (${counts.notice} MAY notice(s) reported above)` : ''));
