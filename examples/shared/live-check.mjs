// What the client checks in examples/ share: numbered checks, plain GraphQL over HTTP for the
// set-up each check needs (made outside the client under test, so the client has to learn
// about it from the server), and conversations of a fresh random customer, so runs and other
// checks on the same server do not see each other. No dependencies: Node 20's fetch.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

/** The /graphql URL from GRAPHQL_URL or the first argument; exits 2 without one. */
export function endpoint() {
  const url = process.env.GRAPHQL_URL ?? process.argv[2];
  if (!url) {
    console.error('error: set GRAPHQL_URL (or pass the URL) of the /graphql endpoint');
    process.exit(2);
  }
  return url;
}

/** `Authorization` header value from GRAPHQL_TOKEN (a superadmin token), if set. */
export function authorization() {
  const token = process.env.GRAPHQL_TOKEN;
  return token ? `Bearer ${token}` : undefined;
}

let passed = 0;
let failed = 0;

/** Records one check and prints `ok - …` or `not ok - …` with what was seen. */
export function check(what, ok, got, expected) {
  if (ok) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}`);
    if (expected !== undefined) console.log(`    expected: ${JSON.stringify(expected)}`);
    if (got !== undefined) console.log(`    got:      ${JSON.stringify(got)}`);
  }
  return ok;
}

export function checkEq(what, got, expected) {
  return check(what, isDeepStrictEqual(got, expected), got, expected);
}

/** Prints `N passed, M failed` and exits 1 if any check failed. */
export function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed || passed === 0 ? 1 : 0);
}

/** Runs `main`; an exception is a failed check, and the summary is always printed. */
export async function run(main) {
  try {
    await main();
  } catch (err) {
    check('the check ran to the end', false, String(err?.stack ?? err));
  }
  finish();
}

/** A plain POST of one operation; returns the whole JSON body. */
export async function post(url, query, variables = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  const auth = authorization();
  if (auth) headers.authorization = auth;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return res.json();
}

/** As `post`, but returns `data` and throws on any error. */
export async function data(url, query, variables = {}) {
  const body = await post(url, query, variables);
  if (body.errors) throw new Error(`${query.slice(0, 60)}…: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/**
 * Creates `count` conversations named `${label} #0` … for a fresh customer, one after another
 * (so newest first is #count-1 … #0). Returns `{ customerId, created }` with `created[i]` as
 * the mutation answered (id, nodeId, name).
 */
export async function createConversations(url, label, count) {
  const customerId = randomUUID();
  const accountId = randomUUID();
  const created = [];
  for (let i = 0; i < count; i++) {
    const d = await data(
      url,
      'mutation ($input: CreateConversationInput!) { createConversation(input: $input) { id nodeId name } }',
      {
        input: {
          customerId,
          accountId,
          name: `${label} #${i}`,
          type: 'MESSAGE',
          dialogId: `+1555000${i}`,
          self: { type: 'TEL', target: '+14703298699' },
          peer: { type: 'TEL', target: `+1555000${i}` },
        },
      },
    );
    created.push(d.createConversation);
  }
  return { customerId, created };
}

/** Renames a conversation behind the client's back; returns the new name. */
export async function rename(url, id, name) {
  const d = await data(
    url,
    'mutation ($id: UUID!, $name: String!) { updateConversation(id: $id, input: { name: $name }) { name } }',
    { id, name },
  );
  return d.updateConversation.name;
}

/** Soft-deletes conversations (clean-up; errors ignored). */
export async function deleteConversations(url, ids) {
  for (const id of ids) {
    await post(url, 'mutation ($id: UUID!) { deleteConversation(id: $id) { id } }', { id }).catch(() => {});
  }
}

/** Whether `list` has no value twice. */
export const distinct = (list) => new Set(list).size === list.length;
