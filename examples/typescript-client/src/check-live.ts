// Runs the typed client against a live server and checks its answers:
// create -> list with a filter finds them -> page through with cursors -> update -> delete ->
// a list without includeDeleted no longer finds the deleted one; then subscriptions over
// graphql-ws: create -> update -> delete -> restore over HTTP delivers exactly the expected
// events, in order, and nothing outside the subscription's filter and kinds; then resuming
// after a disconnect: subscribing again with `after` replays exactly the missed events, in
// order, then continues live; `follow` does it by itself when the socket drops; the event
// log query pages the same events.
//
//   GRAPHQL_URL=http://127.0.0.1:8080/graphql node dist/check-live.js
//
// With authentication on the server, set GRAPHQL_TOKEN to a superadmin token (it works on
// random customers): it goes in the `Authorization` header, and in `connection_init` on the
// WebSocket.
// Every run works on conversations of a fresh random customer, so runs do not see each other.
// Prints one line per check and `N passed, M failed`; exits 1 if any check failed.
import { randomUUID } from 'node:crypto';
import { authorization, check, checkEq, endpoint, run } from '../../shared/live-check.mjs';
import { ConversationClient, GraphQLResponseError } from './client.js';
import type { Conversation, ConversationEvent, EventStream, Schema } from './client.js';

const url = endpoint();

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

/** How long each expected event may take to arrive. */
const EVENT_TIMEOUT_MS = Number(process.env.EVENT_TIMEOUT_MS ?? 5_000);
/** How long to wait for an event that must not come. */
const QUIET_MS = Number(process.env.QUIET_MS ?? 1_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DATETIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

async function main(): Promise<void> {
  const client = new ConversationClient(url, headersOf());
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
  checkEq('create: version 1', first.version, 1);

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
  checkEq('update: name changed, owner unassigned, version + 1, rest unchanged',
    { ...updated, tmUpdate: null },
    { ...first, name: renamed, ownerType: null, ownerId: null, version: first.version + 1 });
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

  await safeWrites(client, accountId);
  await subscriptions(client, accountId);
  await resume(client, accountId);
}

/**
 * Writes that are safe to retry and to race: `version` and `ifVersion`, `idempotencyKey` (also
 * through a network that loses the first answer after the server committed), and the bulk
 * mutations, all or nothing.
 */
async function safeWrites(client: ConversationClient, accountId: string): Promise<void> {
  const customerId = randomUUID();
  const marker = `ts-safe ${customerId.slice(0, 8)}`;
  console.log(`# safe writes, customer ${customerId}`);
  const input = (name: string): Schema.CreateConversationInput => ({
    customerId, accountId, name: `${marker} ${name}`, type: 'MESSAGE', dialogId: '+673802',
    self: { type: 'TEL', target: '+14703298699' }, peer: { type: 'TEL', target: '+673802' },
  });
  const mine = { customerId: { eq: customerId } };

  // ifVersion
  const c = await client.createConversation(input('versions'));
  const v2 = await client.updateConversation(c.id, { detail: 'first' }, { ifVersion: 1 });
  checkEq('ifVersion: the right version changes it (version 2)', v2.version, 2);
  try {
    await client.updateConversation(c.id, { detail: 'lost update' }, { ifVersion: 1 });
    check('ifVersion: a stale version is CONFLICT', false);
  } catch (err) {
    if (!(err instanceof GraphQLResponseError)) throw err;
    checkEq('ifVersion: a stale version is CONFLICT with currentVersion 2', [err.codes[0], err.currentVersion], ['CONFLICT', 2]);
  }
  checkEq('ifVersion: the stale write changed nothing', await client.getConversation(c.id), v2);
  const same = await client.deleteConversation(c.id, { ifVersion: 2 });
  const again = await client.deleteConversation(c.id);
  checkEq('delete: version 3; deleting again changes nothing', [same.version, again], [3, same]);
  await client.restoreConversation(c.id, { ifVersion: 3 });

  // editConversation: two editors at once, neither loses the other's change.
  await Promise.all([
    client.editConversation(c.id, (cur) => ({ detail: `${cur.detail} +alice` })),
    client.editConversation(c.id, (cur) => ({ detail: `${cur.detail} +bob` })),
  ]);
  const edited = await client.getConversation(c.id);
  check('editConversation: both concurrent edits landed',
    !!edited && edited.detail.includes('+alice') && edited.detail.includes('+bob') && edited.version === 6,
    edited && [edited.detail, edited.version]);

  // idempotencyKey
  const key = randomUUID();
  const once = await client.createConversation(input('once'), { idempotencyKey: key });
  const twice = await client.createConversation(input('once'), { idempotencyKey: key });
  checkEq('idempotencyKey: the same key and input answer the same conversation', twice, once);
  await expectError('idempotencyKey: the same key with another input', 'CONFLICT', () =>
    client.createConversation(input('other'), { idempotencyKey: key }));
  const burst = await Promise.all(
    Array.from({ length: 5 }, () => client.createConversation(input('burst'), { idempotencyKey: `${key}-burst` })));
  checkEq('idempotencyKey: 5 calls at once create one conversation', new Set(burst.map((b) => b.id)).size, 1);

  // A network that loses the first answer, after the server committed: the retry with the
  // same key answers the conversation created, and there is exactly one.
  let lost = 0;
  const flaky = new ConversationClient(client.url, headersOf(), undefined, async (url, init) => {
    const res = await fetch(url, init);
    if (lost++ === 0) {
      await res.text();
      throw new TypeError('fetch failed: connection reset');
    }
    return res;
  });
  const safe = await flaky.createConversationSafely(input('lost answer'), { retryDelayMs: 50 });
  const found = await client.listConversations({ filter: { ...mine, name: { eq: `${marker} lost answer` } } });
  checkEq('createConversationSafely: the lost answer is retried, one conversation exists',
    [lost, found.totalCount, found.edges[0]?.node.id], [2, 1, safe.id]);

  // bulk
  const three = [once, burst[0]!, safe];
  const order = [three[2]!.id, three[0]!.id, three[1]!.id];
  const bulk = await client.updateConversations(order, { detail: 'bulk' });
  checkEq('updateConversations: answers in the order of ids, each changed',
    bulk.map((b) => [b.id, b.detail]), order.map((id) => [id, 'bulk']));
  const missing = randomUUID();
  try {
    await client.deleteConversations([order[0]!, missing]);
    check('deleteConversations: an unknown id is NOT_FOUND', false);
  } catch (err) {
    if (!(err instanceof GraphQLResponseError)) throw err;
    checkEq('deleteConversations: an unknown id is NOT_FOUND naming it',
      [err.codes[0], err.errors[0]?.extensions?.id], ['NOT_FOUND', missing]);
  }
  checkEq('deleteConversations: ... and nothing was deleted',
    (await client.getConversation(order[0]!))?.tmDelete, null);
  await expectError('updateConversations: a repeated id', 'BAD_USER_INPUT', () =>
    client.updateConversations([order[0]!, order[0]!], { detail: 'x' }), 'ids');
  const gone = await client.deleteConversations([...order, c.id]);
  check('deleteConversations: all deleted', gone.every((g) => g.tmDelete != null), gone.map((g) => g.tmDelete));
}

function headersOf(): Record<string, string> {
  const auth = authorization();
  return auth ? { authorization: auth } : {};
}

/**
 * The server registers a subscription a moment after it receives it and says nothing when it
 * has; an event committed before that is not delivered. So, before the real checks: create
 * "sentinel" conversations that every stream matches, one every 300 ms, until every stream has
 * received one; then read each stream up to the last sentinel's CREATED event. Returns the
 * sentinels' ids (for tidying up).
 */
async function untilLive(
  client: ConversationClient,
  streams: EventStream<ConversationEvent>[],
  input: (i: number) => Schema.CreateConversationInput,
): Promise<string[]> {
  const sentinels: string[] = [];
  const deadline = Date.now() + 15_000;
  while (!streams.every((s) => s.pending > 0 || s.done)) {
    if (Date.now() > deadline) throw new Error('the subscriptions delivered no event within 15 s');
    sentinels.push((await client.createConversation(input(sentinels.length))).id);
    for (let waited = 0; waited < 300 && !streams.every((s) => s.pending > 0 || s.done); waited += 20) {
      await sleep(20);
    }
  }
  const last = sentinels.at(-1);
  for (const stream of streams) {
    for (;;) {
      const e = await stream.next(EVENT_TIMEOUT_MS);
      if (!e) throw new Error(`no event for sentinel ${last} within ${EVENT_TIMEOUT_MS} ms`);
      if (e.kind !== 'CREATED' || !sentinels.includes(e.conversation.id)) {
        throw new Error(`expected sentinel CREATED events, got ${JSON.stringify(e)}`);
      }
      if (e.conversation.id === last) break;
    }
  }
  return sentinels;
}

/** Reads the next event of a stream and checks its kind and conversation. */
async function expectEvent(
  what: string,
  stream: EventStream<ConversationEvent>,
  kind: Schema.ConversationEventKind,
  conversation: Conversation,
  /** The conversation's timestamp the event cannot precede. */
  notBefore: string | null,
): Promise<ConversationEvent | undefined> {
  const start = Date.now();
  let event: ConversationEvent | undefined;
  try {
    event = await stream.next(EVENT_TIMEOUT_MS);
  } catch (err) {
    check(`${what}: ${kind} event arrives`, false, String(err));
    return undefined;
  }
  const ms = Date.now() - start;
  if (!event) {
    check(`${what}: ${kind} event arrives within ${EVENT_TIMEOUT_MS} ms`, false, null, { kind });
    return undefined;
  }
  const right = event.kind === kind && event.conversation.id === conversation.id;
  check(`${what}: the next event is ${kind} (+${ms} ms after the mutation's answer)`, right,
    { kind: event.kind, id: event.conversation.id, name: event.conversation.name },
    { kind, id: conversation.id, name: conversation.name });
  if (!right) return event; // the checks of its data would only repeat the mismatch
  checkEq(`${what}: the event's conversation is the mutation's answer`, event.conversation, conversation);
  check(`${what}: \`at\` is RFC 3339 UTC, not before the change`,
    DATETIME_RE.test(event.at) && (notBefore == null || event.at >= notBefore), event.at, `>= ${notBefore}`);
  return event;
}

/** Checks that no further event arrives within QUIET_MS. */
async function expectQuiet(what: string, stream: EventStream<ConversationEvent>): Promise<void> {
  let extra: ConversationEvent | undefined;
  let error: unknown;
  try {
    extra = await stream.next(QUIET_MS);
  } catch (err) {
    error = err;
  }
  const unexpected = [
    ...(extra ? [extra] : []),
    ...(error ? [String(error)] : []),
  ];
  while (stream.pending) unexpected.push((await stream.next(0))!);
  check(`${what}: no other event (waited ${QUIET_MS} ms)`, unexpected.length === 0,
    unexpected.map((e) => (typeof e === 'string' ? e : { kind: e.kind, id: e.conversation.id, name: e.conversation.name })));
}

/** A conversation to create in the event checks, all but its name. */
function eventInput(customerId: string, accountId: string): Omit<Schema.CreateConversationInput, 'name'> {
  return {
    customerId,
    accountId,
    type: 'MESSAGE',
    dialogId: '+673802',
    self: { type: 'TEL', target: '+14703298699' },
    peer: { type: 'TEL', target: '+673802' },
  };
}

async function subscriptions(client: ConversationClient, accountId: string): Promise<void> {
  const customerId = randomUUID();
  const marker = `ts-events ${customerId.slice(0, 8)}`;
  console.log(`# subscriptions at ${client.wsUrl}, customer ${customerId}, marker "${marker}"`);
  const base = eventInput(customerId, accountId);
  // `contains` ignores case: the filter has the marker in upper case.
  const filter: Schema.ConversationFilter = {
    customerId: { eq: customerId },
    name: { contains: marker.toUpperCase() },
  };
  const all = client.conversationEvents({ filter, kinds: ['CREATED', 'UPDATED', 'DELETED', 'RESTORED'] });
  const some = client.conversationEvents({ filter, kinds: ['CREATED', 'DELETED'] });
  const tidy: string[] = [];
  try {
    tidy.push(...(await untilLive(client, [all, some], (i) => ({ ...base, name: `${marker} sentinel ${i}` }))));
    check(`subscribe: both subscriptions deliver (after ${tidy.length} sentinel conversation(s))`, true);

    // create
    const created = await client.createConversation({ ...base, name: `${marker} events` });
    tidy.push(created.id);
    await expectEvent('create', all, 'CREATED', created, created.tmCreate);
    await expectEvent('create, kinds [CREATED, DELETED]', some, 'CREATED', created, created.tmCreate);

    // outside the filter: another name (same customer), another customer (same name)
    const otherName = await client.createConversation({ ...base, name: 'ts-events, not the marker' });
    const otherCustomer = await client.createConversation({ ...base, customerId: randomUUID(), name: `${marker} elsewhere` });
    tidy.push(otherName.id, otherCustomer.id);
    await client.updateConversation(otherName.id, { detail: 'changed' });
    await client.updateConversation(otherCustomer.id, { detail: 'changed' });

    // update (the new name still matches the filter)
    const updated = await client.updateConversation(created.id, { name: `${marker} events, renamed`, detail: 'updated' });
    await expectEvent('update (after changes outside the filter)', all, 'UPDATED', updated, updated.tmUpdate);

    // delete
    const deleted = await client.deleteConversation(created.id);
    await expectEvent('delete', all, 'DELETED', deleted, deleted.tmDelete);
    await expectEvent('delete, kinds [CREATED, DELETED] (after an UPDATED it must skip)', some, 'DELETED', deleted, deleted.tmDelete);

    // restore
    const restored = await client.restoreConversation(created.id);
    checkEq('restore: tmDelete back to null, version + 1, the rest as deleted', restored,
      { ...deleted, tmDelete: null, version: deleted.version + 1 });
    await expectEvent('restore', all, 'RESTORED', restored, deleted.tmDelete);

    await expectQuiet('all four kinds', all);
    await expectQuiet('kinds [CREATED, DELETED]', some);
  } finally {
    all.close();
    some.close();
    await client.close();
  }
  checkEq('close: both streams ended', [all.done, some.done], [true, true]);
  for (const id of tidy) await client.deleteConversation(id);
}

/** Stops waiting for a promise after `ms`: `undefined` then. */
function within<T>(ms: number, promise: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A client that loses its connection resumes with `after`: the events it missed are replayed
 * in order, then it is live again, none twice. By hand (close, write, subscribe with `after`),
 * with `follow` (which resubscribes by itself when the socket goes), and through the log query.
 */
async function resume(client: ConversationClient, accountId: string): Promise<void> {
  const customerId = randomUUID();
  const marker = `ts-resume ${customerId.slice(0, 8)}`;
  console.log(`# resuming after a disconnect, customer ${customerId}`);
  const base = eventInput(customerId, accountId);
  const filter: Schema.ConversationFilter = { customerId: { eq: customerId } };
  const tidy: string[] = [];

  // Live, then one event and its cursor.
  const first = client.conversationEvents({ filter });
  tidy.push(...(await untilLive(client, [first], (i) => ({ ...base, name: `${marker} sentinel ${i}` }))));
  const a = await client.createConversation({ ...base, name: `${marker} a` });
  tidy.push(a.id);
  const seen = await expectEvent('resume: an event before the disconnect', first, 'CREATED', a, a.tmCreate);
  if (!seen) return;

  // Disconnected: the subscription and its WebSocket are gone while others write.
  first.close();
  await client.close();
  const b = await client.createConversation({ ...base, name: `${marker} b` });
  tidy.push(b.id);
  const renamed = await client.updateConversation(b.id, { name: `${marker} b renamed` });
  const deleted = await client.deleteConversation(a.id);

  // Subscribing again with `after`: the three missed events, in order, then live.
  const resumed = client.conversationEvents({ filter, after: seen.cursor });
  const missed = [
    await expectEvent('resume: the missed CREATED is replayed', resumed, 'CREATED', b, b.tmCreate),
    await expectEvent('resume: the missed UPDATED is replayed', resumed, 'UPDATED', renamed, renamed.tmUpdate),
    await expectEvent('resume: the missed DELETED is replayed', resumed, 'DELETED', deleted, deleted.tmDelete),
  ];
  checkEq('resume: the UPDATED event carries `previous`, the conversation before the rename',
    missed[1]?.previous, b);
  checkEq('resume: the DELETED event: previous.tmDelete null, conversation.tmDelete set',
    [missed[2]?.previous?.tmDelete, missed[2]?.conversation.tmDelete], [null, deleted.tmDelete]);
  const c = await client.createConversation({ ...base, name: `${marker} c` });
  tidy.push(c.id);
  const live = await expectEvent('resume: then live again', resumed, 'CREATED', c, c.tmCreate);
  await expectQuiet('resume: nothing twice', resumed);
  resumed.close();
  if (!live) return;

  // `follow`: the socket drops under it, and it resumes by itself with the last cursor.
  const resumes: Array<string | null> = [];
  const followed = client.follow({ filter, after: live.cursor }, {
    retryDelayMs: 100,
    onResume: (after) => resumes.push(after),
  });
  const d = await client.createConversation({ ...base, name: `${marker} d` });
  tidy.push(d.id);
  const got1 = await within(EVENT_TIMEOUT_MS, followed.next());
  checkEq('follow: the next event', got1?.value?.conversation.id, d.id);
  await client.close(); // the WebSocket goes away
  const e = await client.createConversation({ ...base, name: `${marker} e` });
  tidy.push(e.id);
  const got2 = await within(EVENT_TIMEOUT_MS + 2_000, followed.next());
  checkEq('follow: after the socket dropped, the event written meanwhile, once', got2?.value?.conversation.id, e.id);
  checkEq('follow: it resumed once, after the last event it yielded', resumes, [got1?.value?.cursor]);
  await followed.return(undefined);

  // The log query pages the same events after the same cursor.
  const page = await client.eventLog({ filter, after: seen.cursor, first: 100 });
  checkEq('event log: the same events after the cursor, in order',
    page.edges.map((edge) => [edge.node.kind, edge.node.conversation.name]),
    [['CREATED', b.name], ['UPDATED', renamed.name], ['DELETED', deleted.name], ['CREATED', c.name],
      ['CREATED', d.name], ['CREATED', e.name]]);
  checkEq('event log: endCursor is the last event\'s cursor; nothing after it',
    [page.pageInfo.endCursor, page.pageInfo.hasNextPage], [page.edges.at(-1)?.cursor, false]);
  await client.close();
  for (const id of tidy) await client.deleteConversation(id).catch(() => {});
}

await run(main);
