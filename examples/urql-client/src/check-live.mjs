// urql with Graphcache against a live server: relayPagination() over Query.conversations.
// Page by page with `after: endCursor`, each answer is every page so far, merged with no
// conversation twice; fetching a page again adds nothing; the first page's variables then
// answer the whole list from the cache; a mutation's answer updates the list by its key
// (`Conversation:<id>`).
//
//   GRAPHQL_URL=http://127.0.0.1:8080/graphql node src/check-live.mjs
//
// GRAPHQL_TOKEN: a superadmin token, when the server has authentication on.
// Prints one line per check and `N passed, M failed`; exits 1 if any check failed.
import { Client, fetchExchange, gql } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';

import { authorization, check, checkEq, createConversations, deleteConversations, distinct, endpoint, run } from '../../shared/live-check.mjs';

const url = endpoint();

const LIST = gql`
  query List($filter: ConversationFilter, $first: Int, $after: String) {
    conversations(filter: $filter, first: $first, after: $after) {
      totalCount
      edges { cursor node { id name } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const RENAME = gql`
  mutation Rename($id: UUID!, $name: String!) {
    updateConversation(id: $id, input: { name: $name }) { id name }
  }
`;

// Every request that reached the network: [operationName-ish, variables].
const sent = [];
const recordingFetch = (input, init) => {
  const u = new URL(String(input));
  const body = init?.body ? JSON.parse(init.body) : null;
  const variables = body ? body.variables : JSON.parse(u.searchParams.get('variables') ?? 'null');
  const query = body ? body.query : u.searchParams.get('query');
  sent.push([/(query|mutation) (\w+)/.exec(query)?.[2], variables]);
  return fetch(input, init);
};

const auth = authorization();
const client = new Client({
  url,
  fetch: recordingFetch,
  fetchOptions: () => (auth ? { headers: { authorization: auth } } : {}),
  exchanges: [
    cacheExchange({
      // Connections, edges, page info and addresses have no id of their own: they are
      // embedded in their parent instead of normalised.
      keys: {
        ConversationConnection: () => null,
        ConversationEdge: () => null,
        PageInfo: () => null,
        Address: () => null,
      },
      resolvers: { Query: { conversations: relayPagination() } },
    }),
    fetchExchange,
  ],
});

async function list(variables, requestPolicy = 'cache-and-network') {
  const result = await client.query(LIST, variables, { requestPolicy }).toPromise();
  if (result.error) throw result.error;
  return result.data.conversations;
}

async function main() {
  console.log(`# ${url}`);
  const { customerId, created } = await createConversations(url, 'urql', 5);
  const newestFirst = created.map((c) => c.name).reverse();
  const filter = { customerId: { eq: customerId } };
  const names = (c) => c.edges.map((e) => e.node.name);
  const ids = (c) => c.edges.map((e) => e.node.id);
  try {
    const page1 = await list({ filter, first: 2, after: null });
    checkEq('page 1: the 2 newest, totalCount 5', [names(page1), page1.totalCount], [newestFirst.slice(0, 2), 5]);
    const page2 = await list({ filter, first: 2, after: page1.pageInfo.endCursor });
    checkEq('page 2 answers pages 1 and 2 merged', names(page2), newestFirst.slice(0, 4));
    const page3 = await list({ filter, first: 2, after: page2.pageInfo.endCursor });
    checkEq('page 3 answers all 5 merged, in order', names(page3), newestFirst);
    check('no conversation twice', distinct(ids(page3)), ids(page3));
    checkEq('the merged pageInfo is the last page\'s: hasNextPage false', page3.pageInfo.hasNextPage, false);
    checkEq('three requests went out, each for the next cursor',
      sent.map(([name, v]) => [name, v.after ?? null]),
      [['List', null], ['List', page1.pageInfo.endCursor], ['List', page2.pageInfo.endCursor]]);

    const again = await list({ filter, first: 2, after: page1.pageInfo.endCursor }, 'network-only');
    checkEq('fetching page 2 again adds nothing: still the 5, once each', names(again), newestFirst);
    const sentBefore = sent.length;
    const fromCache = await list({ filter, first: 2, after: null }, 'cache-only');
    checkEq('page 1\'s variables, from the cache only: the whole merged list', names(fromCache), newestFirst);
    checkEq('and no request for it', sent.length, sentBefore);

    const target = created[1];
    const renamed = await client.mutation(RENAME, { id: target.id, name: 'urql renamed' }).toPromise();
    checkEq('a rename answered through urql', renamed.data?.updateConversation?.name, 'urql renamed');
    const updated = await list({ filter, first: 2, after: null }, 'cache-only');
    checkEq('the cached list shows it in place (Conversation:<id> updated from the mutation)',
      names(updated), newestFirst.map((n) => (n === target.name ? 'urql renamed' : n)));
  } finally {
    await deleteConversations(url, created.map((c) => c.id));
  }
}

await run(main);
