// Runs the typed client against a live server and checks its answers:
// create -> list with a filter finds them -> page through with cursors -> update -> delete ->
// a list without includeDeleted no longer finds the deleted one.
//
//   GRAPHQL_URL=http://127.0.0.1:8080/graphql node dist/check-live.js
//
// Every run works on conversations of a fresh random customer, so runs do not see each other.
// Prints one line per check and `N passed, M failed`; exits 1 if any check failed.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ConversationClient, GraphQLResponseError } from './client.js';
import type { Conversation, Schema } from './client.js';

const url = process.env.GRAPHQL_URL ?? process.argv[2];
if (!url) {
  console.error('error: set GRAPHQL_URL (or pass the URL) of the /graphql endpoint');
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(what: string, ok: boolean, got?: unknown, expected?: unknown): void {
  if (ok) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}`);
    if (expected !== undefined) console.log(`    expected: ${JSON.stringify(expected)}`);
    if (got !== undefined) console.log(`    got:      ${JSON.stringify(got)}`);
  }
}
function checkEq(what: string, got: unknown, expected: unknown): void {
  check(what, isDeepStrictEqual(got, expected), got, expected);
}
async function expectError(what: string, code: string, run: () => Promise<unknown>, field?: string) {
  try {
    const data = await run();
    check(`${what}: fails with ${code}`, false, data, `an error with code ${code}`);
  } catch (err) {
    if (!(err instanceof GraphQLResponseError)) throw err;
    const first = err.errors[0];
    checkEq(`${what}: fails with ${code}`, first?.extensions?.code, code);
    if (field) checkEq(`${what}: names ${field}`, first?.extensions?.field, field);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DATETIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

async function main(): Promise<void> {
  const client = new ConversationClient(url!);
  const customerId = randomUUID();
  const accountId = randomUUID();
  const ownerId = randomUUID();
  const marker = `ts-client ${customerId.slice(0, 8)}`;
  const count = 5;
  console.log(`# ${url}, customer ${customerId}`);

  // --- create
  const created: Conversation[] = [];
  for (let i = 0; i < count; i++) {
    const input: Schema.CreateConversationInput = {
      customerId,
      accountId,
      ownerId: i === 0 ? ownerId : null,
      name: `${marker} #${i}`,
      type: 'MESSAGE',
      dialogId: '+673802',
      self: { type: 'TEL', target: '+1 (470) 329-8699', name: 'support line' },
      peer: { type: 'TEL', target: '+673802' },
    };
    created.push(await client.createConversation(input));
  }
  const [first] = created as [Conversation, ...Conversation[]];
  check('create: ids are lower-case UUIDs', created.every((c) => UUID_RE.test(c.id)), created.map((c) => c.id));
  checkEq('create: ids are distinct', new Set(created.map((c) => c.id)).size, count);
  checkEq('create: name and customerId as given', [first.name, first.customerId], [`${marker} #0`, customerId]);
  checkEq('create: self target stored as E.164', first.self, {
    type: 'TEL', target: '+14703298699', targetName: '', name: 'support line', detail: '',
  });
  checkEq('create: ownerId set => ownerType AGENT', [first.ownerType, first.ownerId], ['AGENT', ownerId]);
  checkEq('create: no ownerId => no owner', [created[1]!.ownerType, created[1]!.ownerId], [null, null]);
  check('create: tmCreate is RFC 3339 UTC with microseconds', DATETIME_RE.test(first.tmCreate), first.tmCreate);
  checkEq('create: tmUpdate and tmDelete are null', [first.tmUpdate, first.tmDelete], [null, null]);

  // --- list with a filter (contains ignores case)
  const filter: Schema.ConversationFilter = {
    customerId: { eq: customerId },
    name: { contains: marker.toUpperCase() },
    peer: { type: { eq: 'TEL' }, target: { startsWith: '+67' } },
  };
  const page1 = await client.listConversations({ filter, first: 2 });
  checkEq('list: totalCount counts every match', page1.totalCount, count);
  checkEq('list: first: 2 gives 2 edges', page1.edges.length, 2);
  checkEq('list: pageInfo on the first page', [page1.pageInfo.hasNextPage, page1.pageInfo.hasPreviousPage], [true, false]);
  const byId = await client.listConversations({ filter: { id: { eq: first.id } } });
  checkEq('list: filter by id finds exactly the created one', byId.edges.map((e) => e.node), [first]);

  // --- page through with cursors
  const sizes: number[] = [];
  const seen: Conversation[] = [];
  let cursorsConsistent = true;
  let lastHasNext = true;
  for await (const page of client.pages({ filter, first: 2 })) {
    sizes.push(page.edges.length);
    seen.push(...page.edges.map((e) => e.node));
    cursorsConsistent &&=
      page.pageInfo.startCursor === page.edges[0]?.cursor &&
      page.pageInfo.endCursor === page.edges.at(-1)?.cursor;
    lastHasNext = page.pageInfo.hasNextPage;
    if (sizes.length > count) break; // a server that never ends the list
  }
  checkEq('paging: pages of 2, 2, 1', sizes, [2, 2, 1]);
  checkEq('paging: every created conversation exactly once',
    seen.map((c) => c.id).sort(), created.map((c) => c.id).sort());
  check('paging: newest first (tmCreate descending, ties by id descending)',
    seen.every((c, i) => {
      const prev = seen[i - 1];
      return !prev || prev.tmCreate > c.tmCreate || (prev.tmCreate === c.tmCreate && prev.id > c.id);
    }),
    seen.map((c) => [c.tmCreate, c.id]));
  check('paging: startCursor/endCursor are the first/last edge cursors', cursorsConsistent);
  checkEq('paging: the last page has no next page', lastHasNext, false);

  // --- update
  const renamed = `${marker} renamed`;
  const updated = await client.updateConversation(first.id, { name: renamed, ownerId: null });
  checkEq('update: name changed, owner unassigned, rest unchanged',
    { ...updated, tmUpdate: null }, { ...first, name: renamed, ownerType: null, ownerId: null });
  check('update: tmUpdate is set', updated.tmUpdate != null && DATETIME_RE.test(updated.tmUpdate), updated.tmUpdate);
  const found = await client.listConversations({ filter: { customerId: { eq: customerId }, name: { eq: renamed } } });
  checkEq('update: a list by the new name finds it', found.edges.map((e) => e.node.id), [first.id]);
  await expectError('update of an unknown id', 'NOT_FOUND', () =>
    client.updateConversation(randomUUID(), { name: 'x' }));

  // --- delete
  const victim = created[1]!;
  const deleted = await client.deleteConversation(victim.id);
  check('delete: tmDelete is set', deleted.id === victim.id && deleted.tmDelete != null, deleted);
  const live = await client.listConversations({ filter: { customerId: { eq: customerId } }, first: 100 });
  checkEq('delete: a list without includeDeleted no longer finds it',
    [live.totalCount, live.edges.some((e) => e.node.id === victim.id)], [count - 1, false]);
  const all = await client.listConversations({ filter: { customerId: { eq: customerId } }, includeDeleted: true, first: 100 });
  checkEq('delete: includeDeleted: true still finds it',
    [all.totalCount, all.edges.some((e) => e.node.id === victim.id)], [count, true]);
  const fetched = await client.getConversation(victim.id);
  checkEq('delete: conversation(id) still returns it, deleted', fetched?.tmDelete, deleted.tmDelete);
  await expectError('update of a deleted conversation', 'NOT_FOUND', () =>
    client.updateConversation(victim.id, { name: 'x' }));

  // --- validation
  await expectError('create with a malformed phone number', 'BAD_USER_INPUT', () =>
    client.createConversation({
      customerId, accountId, type: 'MESSAGE', dialogId: 'x',
      self: { type: 'TEL', target: '+14703298699' }, peer: { type: 'TEL', target: 'not a number' },
    }), 'input.peer.target');

  // tidy up: soft-delete the rest
  for (const c of created) if (c.id !== victim.id) await client.deleteConversation(c.id);
}

try {
  await main();
} catch (err) {
  failed++;
  console.log(`not ok - unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
