// A small typed client for conversation-graphql: plain `fetch` (Node 20+ or a browser), the
// operations in ../documents/*.graphql, and the types graphql-codegen generates for them.
//
// To add an operation: write it in documents/NAME.graphql, run `npm run codegen`, and add a
// line for it to `Operations` below (tsc then checks every call). A subscription document
// would go over graphql-ws at /graphql/ws rather than through `execute`.
import { readdirSync, readFileSync } from 'node:fs';
import { Kind, parse, print, visit } from 'graphql';
import type { DefinitionNode, DocumentNode, FragmentDefinitionNode, OperationDefinitionNode } from 'graphql';
import type * as Ops from './generated/operations.js';
import type * as Schema from './generated/schema.js';

export type { Ops, Schema };
export type Conversation = Ops.ConversationFieldsFragment;

/** Every operation of documents/, by name: [result data, variables]. */
export interface Operations {
  ListConversations: [Ops.ListConversationsQuery, Ops.ListConversationsQueryVariables];
  GetConversation: [Ops.GetConversationQuery, Ops.GetConversationQueryVariables];
  CreateConversation: [Ops.CreateConversationMutation, Ops.CreateConversationMutationVariables];
  UpdateConversation: [Ops.UpdateConversationMutation, Ops.UpdateConversationMutationVariables];
  DeleteConversation: [Ops.DeleteConversationMutation, Ops.DeleteConversationMutationVariables];
}
export type OperationName = keyof Operations;

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
}

/** The server did not answer with a GraphQL response at all (HTTP error, not JSON, ...). */
export class TransportError extends Error {
  constructor(message: string, readonly httpStatus?: number, readonly body?: string) {
    super(message);
    this.name = 'TransportError';
  }
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

  constructor(
    readonly url: string,
    private readonly headers: Record<string, string> = {},
    documentsDir: URL = DOCUMENTS_DIR,
  ) {
    this.documents = loadDocuments(documentsDir);
  }

  /** Runs one operation of documents/ by name; throws on `errors` or a transport failure. */
  async execute<N extends OperationName>(name: N, variables: Operations[N][1]): Promise<Operations[N][0]> {
    const query = this.documents.get(name);
    if (!query) throw new Error(`no operation named ${name} in documents/`);
    let res: Response;
    try {
      res = await fetch(this.url, {
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

  async createConversation(input: Schema.CreateConversationInput): Promise<Conversation> {
    return (await this.execute('CreateConversation', { input })).createConversation;
  }

  async updateConversation(id: string, input: Schema.UpdateConversationInput): Promise<Conversation> {
    return (await this.execute('UpdateConversation', { id, input })).updateConversation;
  }

  async deleteConversation(id: string): Promise<Conversation> {
    return (await this.execute('DeleteConversation', { id })).deleteConversation;
  }
}
