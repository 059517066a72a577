// A small typed client for conversation-graphql (Node 20+): queries and mutations over plain
// `fetch`, subscriptions over the graphql-ws client at /graphql/ws (WebSocket from the `ws`
// package, since Node 20 has a global WebSocket only behind a flag), the operations in
// ../documents/*.graphql, and the types graphql-codegen generates for them.
//
// To add an operation: write it in documents/NAME.graphql, run `npm run codegen`, and add a
// line for it to `Operations` below (a subscription: to `Subscriptions`); tsc then checks
// every call.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Kind, parse, print, visit } from 'graphql';
import type { DefinitionNode, DocumentNode, FragmentDefinitionNode, OperationDefinitionNode } from 'graphql';
import { createClient } from 'graphql-ws';
import type { Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type * as Ops from './generated/operations.js';
import type * as Schema from './generated/schema.js';

export type { Ops, Schema };
export type Conversation = Ops.ConversationFieldsFragment;
export type ConversationEvent = Ops.ConversationEventsSubscription['conversationEvents'];

/** Every operation of documents/, by name: [result data, variables]. */
export interface Operations {
  ListConversations: [Ops.ListConversationsQuery, Ops.ListConversationsQueryVariables];
  GetConversation: [Ops.GetConversationQuery, Ops.GetConversationQueryVariables];
  CreateConversation: [Ops.CreateConversationMutation, Ops.CreateConversationMutationVariables];
  UpdateConversation: [Ops.UpdateConversationMutation, Ops.UpdateConversationMutationVariables];
  DeleteConversation: [Ops.DeleteConversationMutation, Ops.DeleteConversationMutationVariables];
  RestoreConversation: [Ops.RestoreConversationMutation, Ops.RestoreConversationMutationVariables];
  UpdateConversations: [Ops.UpdateConversationsMutation, Ops.UpdateConversationsMutationVariables];
  DeleteConversations: [Ops.DeleteConversationsMutation, Ops.DeleteConversationsMutationVariables];
  RestoreConversations: [Ops.RestoreConversationsMutation, Ops.RestoreConversationsMutationVariables];
  ConversationEventLog: [Ops.ConversationEventLogQuery, Ops.ConversationEventLogQueryVariables];
}
export type OperationName = keyof Operations;

/** Every subscription of documents/, by name: [one event's data, variables]. */
export interface Subscriptions {
  ConversationEvents: [Ops.ConversationEventsSubscription, Ops.ConversationEventsSubscriptionVariables];
}
export type SubscriptionName = keyof Subscriptions;

/** One entry of a GraphQL response's `errors`. */
export interface GraphQLErrorEntry {
  message: string;
  path?: (string | number)[];
  locations?: { line: number; column: number }[];
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

/** The server answered, with `errors` (and maybe partial `data`). */
export class GraphQLResponseError extends Error {
  constructor(
    readonly operation: string,
    /** The HTTP status; 0 for an answer that came over the WebSocket. */
    readonly httpStatus: number,
    readonly errors: GraphQLErrorEntry[],
    readonly data: unknown,
  ) {
    super(
      `${operation}: ` +
        errors.map((e) => `${e.message}${e.extensions?.code ? ` [${e.extensions.code}]` : ''}`).join('; '),
    );
    this.name = 'GraphQLResponseError';
  }
  /** The `extensions.code` of every error, e.g. `['NOT_FOUND']`. */
  get codes(): (string | undefined)[] {
    return this.errors.map((e) => e.extensions?.code);
  }
  /** `extensions.currentVersion` of a CONFLICT from a stale `ifVersion`: the version now. */
  get currentVersion(): number | undefined {
    const v = this.errors.find((e) => e.extensions?.code === 'CONFLICT')?.extensions?.currentVersion;
    return typeof v === 'number' ? v : undefined;
  }
}

/**
 * The server did not answer with a GraphQL response at all (HTTP error, not JSON, ...), or the
 * WebSocket of a subscription closed (`closeCode`, e.g. 4401 or 4403).
 */
export class TransportError extends Error {
  constructor(message: string, readonly httpStatus?: number, readonly body?: string, readonly closeCode?: number) {
    super(message);
    this.name = 'TransportError';
  }
}

/**
 * One running subscription: its events are buffered in arrival order until read with `next`
 * (or `for await`). `close()` ends it (the client sends `complete`).
 */
export class EventStream<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;
  private unsubscribe: () => void = () => {};

  constructor(readonly operation: string) {}

  /** @internal Called by ConversationClient.subscribe with the graphql-ws unsubscribe. */
  attach(unsubscribe: () => void): void {
    this.unsubscribe = unsubscribe;
  }
  /** @internal */
  push(event: T): void {
    this.buffer.push(event);
    this.signal();
  }
  /** @internal The stream is over: completed (no error) or failed. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    this.signal();
  }
  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** How many events arrived and were not read yet. */
  get pending(): number {
    return this.buffer.length;
  }
  /** The server completed the subscription, it failed, or it was closed. */
  get done(): boolean {
    return this.ended;
  }

  /**
   * The next event; `undefined` if none arrives within `timeoutMs` or the stream completed
   * with none left. Throws (GraphQLResponseError, TransportError) if the stream failed and
   * every event before the failure was read. One reader at a time.
   */
  async next(timeoutMs = Infinity): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffer.length) return this.buffer.shift();
      if (this.ended) {
        if (this.failure) throw this.failure;
        return undefined;
      }
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (Number.isFinite(left)) timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const event = await this.next();
      if (event === undefined) return;
      yield event;
    }
  }

  /** Ends the subscription (idempotent); events already buffered can still be read. */
  close(): void {
    if (!this.ended) this.unsubscribe();
    this.end();
  }
}

/** http(s)://host/graphql -> ws(s)://host/graphql/ws */
export function webSocketUrl(httpUrl: string): string {
  const u = new URL(httpUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws`;
  return u.href;
}

function closeEventError(operation: string, e: unknown): Error {
  if (e instanceof Error) return e;
  if (Array.isArray(e)) return new GraphQLResponseError(operation, 0, e as GraphQLErrorEntry[], null);
  const { code, reason } = (e ?? {}) as { code?: unknown; reason?: unknown };
  if (typeof code === 'number') {
    return new TransportError(`${operation}: WebSocket closed: ${code}${reason ? ` ${String(reason)}` : ''}`,
      undefined, undefined, code);
  }
  return new TransportError(`${operation}: ${String(e)}`);
}

/**
 * Reads every `.graphql` file in `dir` and returns, for each named operation, a document with
 * that operation and exactly the fragments it uses (transitively), printed as text.
 */
export function loadDocuments(dir: URL): Map<string, string> {
  const definitions: DefinitionNode[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort()) {
    definitions.push(...parse(readFileSync(new URL(file, dir), 'utf8')).definitions);
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

  const spreadsOf = (node: DefinitionNode): string[] => {
    const names: string[] = [];
    visit(node, { FragmentSpread: (s) => void names.push(s.name.value) });
    return names;
  };
  const documents = new Map<string, string>();
  for (const op of definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)) {
    if (!op.name) throw new Error('every operation in documents/ needs a name');
    const used = new Set<string>();
    const queue = spreadsOf(op);
    while (queue.length) {
      const name = queue.pop()!;
      if (used.has(name)) continue;
      const fragment = fragments.get(name);
      if (!fragment) throw new Error(`${op.name.value} uses unknown fragment ${name}`);
      used.add(name);
      queue.push(...spreadsOf(fragment));
    }
    const doc: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: [op, ...[...used].sort().map((n) => fragments.get(n)!)],
    };
    documents.set(op.name.value, print(doc));
  }
  return documents;
}

const DOCUMENTS_DIR = new URL('../documents/', import.meta.url);

export class ConversationClient {
  private readonly documents: Map<string, string>;
  private ws: WsClient | undefined;
  /** Where subscriptions go: `url` + `/ws`, as ws: or wss:. */
  readonly wsUrl: string;

  constructor(
    readonly url: string,
    private readonly headers: Record<string, string> = {},
    documentsDir: URL = DOCUMENTS_DIR,
    /** How requests are sent (a test can make a network that loses answers). */
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.documents = loadDocuments(documentsDir);
    this.wsUrl = webSocketUrl(url);
  }

  /**
   * Starts a subscription of documents/ by name over graphql-ws (protocol
   * `graphql-transport-ws`). One WebSocket carries every subscription of this client; it opens
   * with the first and closes after the last. An `Authorization` header given to the
   * constructor goes into `connection_init`'s payload, where the server looks for it.
   *
   * The server registers the subscription a moment after it receives it, and sends nothing to
   * say so: an event that commits in between is not delivered.
   */
  subscribe<N extends SubscriptionName>(name: N, variables: Subscriptions[N][1]): EventStream<Subscriptions[N][0]> {
    return this.start(name, variables, (data) => data);
  }

  private start<N extends SubscriptionName, T>(
    name: N,
    variables: Subscriptions[N][1],
    select: (data: Subscriptions[N][0]) => T,
  ): EventStream<T> {
    const query = this.documents.get(name);
    if (!query) throw new Error(`no operation named ${name} in documents/`);
    const stream = new EventStream<T>(name);
    const unsubscribe = this.wsClient().subscribe<Subscriptions[N][0]>(
      { query, operationName: name, variables },
      {
        next: (result) => {
          // An event the server could not produce (e.g. the subscriber fell too far behind)
          // comes as a result with `errors`; the server then ends the subscription.
          if (result.errors?.length) {
            stream.end(new GraphQLResponseError(name, 0, result.errors as GraphQLErrorEntry[], result.data));
          } else if (result.data != null) {
            stream.push(select(result.data));
          }
        },
        error: (e) => stream.end(closeEventError(name, e)),
        complete: () => stream.end(),
      },
    );
    stream.attach(unsubscribe);
    return stream;
  }

  private wsClient(): WsClient {
    if (this.ws) return this.ws;
    const authorization = Object.entries(this.headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
    this.ws = createClient({
      url: this.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: authorization ? { Authorization: authorization } : {},
      lazy: true,
      // Fail at once instead of retrying silently: the caller sees the close code.
      retryAttempts: 0,
    });
    return this.ws;
  }

  /** Closes the subscriptions' WebSocket, if open. */
  async close(): Promise<void> {
    const ws = this.ws;
    this.ws = undefined;
    await ws?.dispose();
  }

  /** Runs one operation of documents/ by name; throws on `errors` or a transport failure. */
  async execute<N extends OperationName>(name: N, variables: Operations[N][1]): Promise<Operations[N][0]> {
    const query = this.documents.get(name);
    if (!query) throw new Error(`no operation named ${name} in documents/`);
    let res: Response;
    try {
      res = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json;q=0.9',
          ...this.headers,
        },
        body: JSON.stringify({ query, operationName: name, variables }),
      });
    } catch (err) {
      throw new TransportError(`${name}: cannot reach ${this.url}: ${String((err as Error).cause ?? err)}`);
    }
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    if (!/^application\/(graphql-response\+)?json/.test(type)) {
      throw new TransportError(`${name}: HTTP ${res.status} with content-type "${type}"`, res.status, text);
    }
    let body: { data?: Operations[N][0] | null; errors?: GraphQLErrorEntry[] };
    try {
      body = JSON.parse(text);
    } catch {
      throw new TransportError(`${name}: HTTP ${res.status}, body is not JSON`, res.status, text);
    }
    if (body.errors?.length) throw new GraphQLResponseError(name, res.status, body.errors, body.data);
    if (!res.ok || body.data == null) {
      throw new TransportError(`${name}: HTTP ${res.status} without data or errors`, res.status, text);
    }
    return body.data;
  }

  async listConversations(variables: Ops.ListConversationsQueryVariables) {
    return (await this.execute('ListConversations', variables)).conversations;
  }

  /** Walks every page of a list with `first`/`after`, yielding one page at a time. */
  async *pages(variables: Omit<Ops.ListConversationsQueryVariables, 'after'>) {
    let after: string | null = null;
    for (;;) {
      const page = await this.listConversations({ ...variables, after });
      yield page;
      if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor == null) return;
      after = page.pageInfo.endCursor;
    }
  }

  async getConversation(id: string): Promise<Conversation | null> {
    return (await this.execute('GetConversation', { id })).conversation;
  }

  /**
   * Creates a conversation. With `idempotencyKey`, calling again with the same key and input
   * (after a timeout, a dropped connection, a crash) answers the conversation the first call
   * created and creates nothing; see `createConversationSafely`.
   */
  async createConversation(
    input: Schema.CreateConversationInput,
    options: { idempotencyKey?: string } = {},
  ): Promise<Conversation> {
    const { idempotencyKey = null } = options;
    return (await this.execute('CreateConversation', { input, idempotencyKey })).createConversation;
  }

  /**
   * Creates a conversation exactly once however the network behaves: one idempotency key for
   * every attempt, and attempts again (up to `attempts`, `retryDelayMs` apart, doubling) when
   * the answer is lost (TransportError) or the server failed (INTERNAL_SERVER_ERROR, e.g. a
   * 504 timeout before the commit). Any other error (BAD_USER_INPUT, FORBIDDEN, CONFLICT: the
   * key was used with another input) is thrown at once.
   */
  async createConversationSafely(
    input: Schema.CreateConversationInput,
    options: { idempotencyKey?: string; attempts?: number; retryDelayMs?: number } = {},
  ): Promise<Conversation> {
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    const attempts = options.attempts ?? 4;
    let delay = options.retryDelayMs ?? 200;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.createConversation(input, { idempotencyKey });
      } catch (err) {
        const retryable = err instanceof TransportError ||
          (err instanceof GraphQLResponseError && err.codes.every((c) => c === 'INTERNAL_SERVER_ERROR'));
        if (!retryable || attempt >= attempts) throw err;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }

  /**
   * Changes a conversation. With `ifVersion`, only if it is still at that version (the one
   * this client last saw): otherwise GraphQLResponseError with code CONFLICT and
   * `currentVersion`, and nothing changes. See `editConversation`.
   */
  async updateConversation(
    id: string,
    input: Schema.UpdateConversationInput,
    options: { ifVersion?: number } = {},
  ): Promise<Conversation> {
    const { ifVersion = null } = options;
    return (await this.execute('UpdateConversation', { id, input, ifVersion })).updateConversation;
  }

  /**
   * Read, decide, write, without losing anyone else's change: reads the conversation, asks
   * `edit` for the change, and writes it with `ifVersion` = the version read. If someone
   * wrote in between (CONFLICT), it reads again and asks `edit` again, up to `attempts`.
   */
  async editConversation(
    id: string,
    edit: (current: Conversation) => Schema.UpdateConversationInput,
    attempts = 5,
  ): Promise<Conversation> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.getConversation(id);
      if (!current) throw new Error(`editConversation: no conversation ${id}`);
      try {
        return await this.updateConversation(id, edit(current), { ifVersion: current.version });
      } catch (err) {
        if (!(err instanceof GraphQLResponseError && err.currentVersion !== undefined) || attempt >= attempts) {
          throw err;
        }
      }
    }
  }

  async deleteConversation(id: string, options: { ifVersion?: number } = {}): Promise<Conversation> {
    const { ifVersion = null } = options;
    return (await this.execute('DeleteConversation', { id, ifVersion })).deleteConversation;
  }

  async restoreConversation(id: string, options: { ifVersion?: number } = {}): Promise<Conversation> {
    const { ifVersion = null } = options;
    return (await this.execute('RestoreConversation', { id, ifVersion })).restoreConversation;
  }

  /**
   * The same change to 1 to 100 conversations, all or nothing (NOT_FOUND with
   * `extensions.id` if any is missing, deleted or out of reach); answers in the order of `ids`.
   */
  async updateConversations(ids: string[], input: Schema.UpdateConversationInput): Promise<Conversation[]> {
    return (await this.execute('UpdateConversations', { ids, input })).updateConversations;
  }

  async deleteConversations(ids: string[]): Promise<Conversation[]> {
    return (await this.execute('DeleteConversations', { ids })).deleteConversations;
  }

  async restoreConversations(ids: string[]): Promise<Conversation[]> {
    return (await this.execute('RestoreConversations', { ids })).restoreConversations;
  }

  /**
   * Conversation events (documents/ConversationEvents.graphql): from the next one on, or,
   * with `after`, the ones after that cursor replayed first. One subscription; it ends when
   * the socket does. For a stream that survives disconnects, see `follow`.
   */
  conversationEvents(variables: Ops.ConversationEventsSubscriptionVariables = {}): EventStream<ConversationEvent> {
    return this.start('ConversationEvents', variables, (data) => data.conversationEvents);
  }

  /**
   * Conversation events that survive disconnects: whenever the subscription ends (the socket
   * dropped, the server restarted or moved, or SUBSCRIBER_TOO_SLOW), it subscribes again with
   * `after` set to the cursor of the last event it yielded (or the error's
   * `extensions.lastCursor`), so every event arrives once, in order. Starts after
   * `variables.after` when given, else with the next event. Stops when the consumer stops
   * iterating; `onResume(cursor, cause)` hears about each reconnection. Errors other than a
   * dropped socket or SUBSCRIBER_TOO_SLOW (a bad filter, EVENT_CURSOR_EXPIRED: fetch the list
   * again, then follow without `after`) are thrown.
   */
  async *follow(
    variables: Ops.ConversationEventsSubscriptionVariables = {},
    options: { retryDelayMs?: number; onResume?: (after: string | null, cause: string) => void } = {},
  ): AsyncGenerator<ConversationEvent> {
    let after = variables.after ?? null;
    let stream: EventStream<ConversationEvent> | undefined;
    try {
      for (;;) {
        stream = this.conversationEvents({ ...variables, after });
        let cause = 'the subscription completed';
        try {
          for (;;) {
            const event = await stream.next();
            if (event === undefined) break;
            after = event.cursor;
            yield event;
          }
        } catch (err) {
          const first = err instanceof GraphQLResponseError ? err.errors[0] : undefined;
          const code = first?.extensions?.code;
          if (code === 'SUBSCRIBER_TOO_SLOW') {
            const last = first?.extensions?.lastCursor;
            if (typeof last === 'string') after = last;
            cause = 'SUBSCRIBER_TOO_SLOW';
          } else if (err instanceof TransportError) {
            cause = err.message;
          } else {
            throw err;
          }
        } finally {
          stream.close();
        }
        options.onResume?.(after, cause);
        // A fresh WebSocket for the next try.
        await this.close();
        await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 500));
      }
    } finally {
      stream?.close();
    }
  }

  /** One page of the event log (documents/ConversationEventLog.graphql). */
  async eventLog(variables: Ops.ConversationEventLogQueryVariables = {}) {
    return (await this.execute('ConversationEventLog', variables)).conversationEventLog;
  }
}
