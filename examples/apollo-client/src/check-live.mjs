// Apollo Client 4 (no React) against a live server:
// - relayStylePagination over Query.conversations: a watched query, fetchMore through every
//   page, the pages merged in the cache;
// - cache entries keyed by __typename + id (`Conversation:<uuid>`): a mutation's answer updates
//   the watched list in place, and a delete evicts the conversation from it;
// - errors read through Apollo's types (CombinedGraphQLErrors: extensions.code and .field);
// - a subscription through GraphQLWsLink (graphql-ws over /graphql/ws), whose events land in
//   the same cache entries.
//
//   GRAPHQL_URL=http://127.0.0.1:8080/graphql node src/check-live.mjs
//
// GRAPHQL_TOKEN: a superadmin token, when the server has authentication on.
// Prints one line per check and `N passed, M failed`; exits 1 if any check failed.
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { isSubscriptionOperation, relayStylePagination } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { authorization, check, checkEq, createConversations, deleteConversations, distinct, endpoint, rename, run } from '../../shared/live-check.mjs';

const url = endpoint();
const wsUrl = (() => {
  const u = new URL(url);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/$/, '')}/ws`;
  return u.href;
})();

const LIST = gql`
  query List($filter: ConversationFilter, $first: Int, $after: String) {
    conversations(filter: $filter, first: $first, after: $after) {
      totalCount
      edges { cursor node { id name tmUpdate } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const RENAME = gql`
  mutation Rename($id: UUID!, $name: String!) {
    updateConversation(id: $id, input: { name: $name }) { id name tmUpdate }
  }
`;
const DELETE = gql`
  mutation Delete($id: UUID!) { deleteConversation(id: $id) { id tmDelete } }
`;
const TOO_BIG_PAGE = gql`query TooBig { conversations(first: 1000) { totalCount } }`;
const EVENTS = gql`
  subscription Events($filter: ConversationFilter) {
    conversationEvents(filter: $filter, kinds: [UPDATED]) { kind conversation { id name tmUpdate } }
  }
`;
const NAME = gql`fragment Name on Conversation { id name }`;

// The operation names the HTTP link sent, in order.
const sentOverHttp = [];
const recordingFetch = (input, init) => {
  sentOverHttp.push(JSON.parse(init.body).operationName);
  return fetch(input, init);
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `get()` is truthy (checked every 20 ms), at most `ms`; returns its last value. */
async function until(get, ms = 5_000) {
  const deadline = Date.now() + ms;
  let value = get();
  while (!value && Date.now() < deadline) {
    await sleep(20);
    value = get();
  }
  return value;
}

async function main() {
  console.log(`# ${url} (subscriptions: ${wsUrl})`);
  const auth = authorization();
  const wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: auth ? { Authorization: auth } : {},
    retryAttempts: 0,
  });
  const client = new ApolloClient({
    link: ApolloLink.split(
      ({ query }) => isSubscriptionOperation(query),
      new GraphQLWsLink(wsClient),
      new HttpLink({ uri: url, fetch: recordingFetch, headers: auth ? { authorization: auth } : {} }),
    ),
    cache: new InMemoryCache({
      typePolicies: {
        Query: {
          fields: {
            // Pages of the same filter (and includeDeleted, orderBy) merge into one list.
            conversations: relayStylePagination(['filter', 'includeDeleted', 'orderBy']),
          },
        },
      },
    }),
  });

  const { customerId, created } = await createConversations(url, 'apollo', 5);
  const newestFirst = created.map((c) => c.name).reverse();
  const filter = { customerId: { eq: customerId } };
  const subscriptions = [];
  try {
    // --- a watched list, then fetchMore to the end
    const list = client.watchQuery({ query: LIST, variables: { filter, first: 2 } });
    let latest;
    subscriptions.push(list.subscribe((result) => { latest = result.data?.conversations; }));
    await until(() => latest);
    const names = () => latest.edges.map((e) => e.node.name);
    checkEq('first page: 2 of 5, newest first', [names(), latest.totalCount], [newestFirst.slice(0, 2), 5]);
    let fetches = 0;
    while (latest.pageInfo.hasNextPage && fetches < 10) {
      await list.fetchMore({ variables: { after: latest.pageInfo.endCursor } });
      fetches++;
      await until(() => latest.edges.length >= Math.min(2 + 2 * fetches, 5));
    }
    checkEq('fetchMore through every page: 2 more fetches', fetches, 2);
    checkEq('relayStylePagination merged all 5, in order', names(), newestFirst);
    check('no conversation twice', distinct(latest.edges.map((e) => e.node.id)), names());
    checkEq('pageInfo at the end: hasNextPage false', latest.pageInfo.hasNextPage, false);

    // --- the cache keys conversations by __typename + id
    const key = client.cache.identify({ __typename: 'Conversation', id: created[2].id });
    checkEq('cache.identify gives Conversation:<id>', key, `Conversation:${created[2].id}`);
    const stored = client.cache.extract();
    check('each conversation is one cache entry under Conversation:<id>',
      created.every((c) => stored[`Conversation:${c.id}`]?.name === c.name), Object.keys(stored));

    // --- a mutation's answer updates the watched list in place (no refetch of the list)
    const httpBefore = sentOverHttp.length;
    const renamed = await client.mutate({ mutation: RENAME, variables: { id: created[2].id, name: 'apollo renamed' } });
    checkEq('the mutation answered the new name', renamed.data.updateConversation.name, 'apollo renamed');
    await until(() => names().includes('apollo renamed'));
    checkEq('the watched list shows it, in place', names(), newestFirst.map((n) => (n === created[2].name ? 'apollo renamed' : n)));
    checkEq('only the mutation went over HTTP', sentOverHttp.slice(httpBefore), ['Rename']);
    checkEq('readFragment by the cache id has it', client.cache.readFragment({ id: key, fragment: NAME })?.name, 'apollo renamed');

    // --- a delete evicts the conversation by its cache id; the list drops it
    const gone = created[0];
    await client.mutate({
      mutation: DELETE,
      variables: { id: gone.id },
      update(cache, { data }) {
        cache.evict({ id: cache.identify(data.deleteConversation) });
        cache.gc();
      },
    });
    await until(() => latest.edges.length === 4);
    check('after the delete the list holds the other 4', latest.edges.length === 4 &&
      !latest.edges.some((e) => e.node.id === gone.id), names());
    checkEq('and the cache has no Conversation:<deleted id>', client.cache.extract()[`Conversation:${gone.id}`], undefined);

    // --- errors through Apollo's error types
    try {
      await client.query({ query: TOO_BIG_PAGE, fetchPolicy: 'network-only' });
      check('first: 1000 is refused', false, 'no error');
    } catch (err) {
      check('first: 1000 rejects with a CombinedGraphQLErrors', CombinedGraphQLErrors.is(err), String(err));
      checkEq('its extensions: BAD_USER_INPUT on field `first`',
        [err.errors?.[0]?.extensions?.code, err.errors?.[0]?.extensions?.field], ['BAD_USER_INPUT', 'first']);
    }
    const missing = await client.mutate({
      mutation: RENAME,
      variables: { id: '00000000-0000-4000-8000-000000000000', name: 'x' },
      errorPolicy: 'all',
    });
    check('renaming a missing conversation (errorPolicy all): error is a CombinedGraphQLErrors',
      CombinedGraphQLErrors.is(missing.error), String(missing.error));
    checkEq('with extensions.code NOT_FOUND', missing.error?.errors?.[0]?.extensions?.code, 'NOT_FOUND');

    // --- a subscription through GraphQLWsLink; its events land in the cache
    const events = [];
    let subscriptionError;
    subscriptions.push(client.subscribe({ query: EVENTS, variables: { filter } }).subscribe({
      next: (result) => (result.error ? (subscriptionError = result.error) : events.push(result.data.conversationEvents)),
      error: (err) => { subscriptionError = err; },
    }));
    // The server says nothing when a subscription is registered: rename (outside Apollo) until
    // an event arrives, then make the change that is checked.
    const sentinel = created[1];
    let live = false;
    for (let i = 0; i < 40 && !live && !subscriptionError; i++) {
      await rename(url, sentinel.id, `apollo sentinel ${i}`);
      live = await until(() => events.length > 0, 250);
    }
    check('the subscription delivers over GraphQLWsLink', live, subscriptionError ? String(subscriptionError) : events);
    const target = created[4];
    const before = events.length;
    await rename(url, target.id, 'apollo via event');
    const event = await until(() => events.slice(before).find((e) => e.conversation.id === target.id));
    checkEq('the UPDATED event of a change made outside Apollo arrives',
      event && [event.kind, event.conversation.name], ['UPDATED', 'apollo via event']);
    await until(() => names().includes('apollo via event'));
    checkEq('the event updated the cache entry Conversation:<id>',
      client.cache.extract()[`Conversation:${target.id}`]?.name, 'apollo via event');
    check('and the watched list shows it', names().includes('apollo via event'), names());
  } finally {
    subscriptions.forEach((s) => s.unsubscribe());
    client.stop();
    await wsClient.dispose();
    await deleteConversations(url, created.map((c) => c.id));
  }
}

await run(main);
