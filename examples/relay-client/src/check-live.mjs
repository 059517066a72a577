// relay-runtime against a live server, without React, doing what the hooks do:
// - usePaginationFragment: the first page of ConversationList_query, then loadNext twice
//   (ConversationListPaginationQuery), the connection handler merging the pages;
// - useRefetchableFragment: ConversationDetail_conversation refetched by its nodeId
//   (ConversationDetailRefetchQuery, `node(id: $nodeId)`);
// and checks that the store keys every conversation by nodeId, so the refetch updates the
// list too. The artifacts are relay-compiler's (`npm run relay` first).
//
//   GRAPHQL_URL=http://127.0.0.1:8080/graphql node src/check-live.mjs
//
// GRAPHQL_TOKEN: a superadmin token, when the server has authentication on.
// Prints one line per check and `N passed, M failed`; exits 1 if any check failed.
import {
  Environment,
  Network,
  RecordSource,
  Store,
  createOperationDescriptor,
  fetchQuery,
  getPaginationMetadata,
  getPaginationVariables,
  getRefetchMetadata,
  getSelector,
  getValueAtPath,
} from 'relay-runtime';

import ConversationDetailFragment from './__generated__/ConversationDetail_conversation.graphql.js';
import ConversationListFragment from './__generated__/ConversationList_query.graphql.js';
import ConversationListQuery from './__generated__/ConversationListQuery.graphql.js';
import { authorization, check, checkEq, createConversations, deleteConversations, distinct, endpoint, rename, run } from '../../shared/live-check.mjs';

const url = endpoint();

// Every request the network layer sent: { name, text, variables }.
const sent = [];
const network = Network.create(async (params, variables) => {
  sent.push({ name: params.name, text: params.text, variables });
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  const auth = authorization();
  if (auth) headers.authorization = auth;
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: params.text, variables }),
  });
  return res.json();
});

// The Node interface's id field is `nodeId` (relay.config.json: schemaConfig), so the store
// must key records by it too; records without one (connections, edges, addresses) get
// client ids.
const environment = new Environment({
  network,
  store: new Store(new RecordSource()),
  getDataID: (fieldValue) => fieldValue.nodeId,
});
const retained = [];

/** Fetches an operation and keeps its data in the store (as a mounted component does). */
async function load(request, variables) {
  const operation = createOperationDescriptor(request, variables, { force: true });
  retained.push(environment.retain(operation));
  await fetchQuery(environment, request, variables).toPromise();
  return environment.lookup(operation.fragment).data;
}

const read = (fragment, ref) => environment.lookup(getSelector(fragment, ref)).data;

/** usePaginationFragment's loadNext(count). */
async function loadNext(fragment, ref, count) {
  const { paginationRequest, paginationMetadata, connectionPathInFragmentData } =
    getPaginationMetadata(fragment, 'check-live');
  const selector = getSelector(fragment, ref);
  const connection = getValueAtPath(environment.lookup(selector).data, connectionPathInFragmentData);
  const baseVariables = { ...selector.owner.variables, ...selector.variables };
  const variables = getPaginationVariables(
    'forward', count, connection.pageInfo.endCursor, baseVariables, {}, paginationMetadata,
  );
  await load(paginationRequest, variables);
  return variables;
}

/** useRefetchableFragment's refetch({}): the same fragment, fetched again by its id. */
async function refetch(fragment, ref) {
  const { refetchableRequest, fragmentRefPathInResponse, identifierInfo } =
    getRefetchMetadata(fragment, 'check-live');
  const selector = getSelector(fragment, ref);
  const fragmentData = environment.lookup(selector).data;
  const variables = {
    ...selector.owner.variables,
    ...selector.variables,
    [identifierInfo.identifierQueryVariableName]: fragmentData[identifierInfo.identifierField],
  };
  const response = await load(refetchableRequest, variables);
  return read(fragment, getValueAtPath(response, fragmentRefPathInResponse));
}

async function main() {
  console.log(`# ${url}`);
  const { refetchableRequest, identifierInfo } = getRefetchMetadata(ConversationDetailFragment, 'check-live');
  checkEq('relay-compiler: refetch by the Node interface field nodeId, variable $nodeId',
    identifierInfo, { identifierField: 'nodeId', identifierQueryVariableName: 'nodeId' });
  check('relay-compiler: ConversationDetailRefetchQuery asks node(id: $nodeId)',
    refetchableRequest.params.text.includes('node(id: $nodeId)'), refetchableRequest.params.text);

  const { customerId, created } = await createConversations(url, 'relay', 5);
  const newestFirst = created.map((c) => c.name).reverse();
  const filter = { customerId: { eq: customerId } };
  try {
    // --- the first page (count: 2), then loadNext(2) twice
    const root = await load(ConversationListQuery, { filter });
    const list = () => read(ConversationListFragment, root).conversations;
    const names = () => list().edges.map((e) => e.node.name);
    checkEq('first page: 2 conversations, newest first', names(), newestFirst.slice(0, 2));
    checkEq('first page: totalCount 5, hasNextPage', [list().totalCount, list().pageInfo.hasNextPage], [5, true]);

    let cursor = list().pageInfo.endCursor;
    await loadNext(ConversationListFragment, root, 2);
    checkEq('loadNext(2) sent ConversationListPaginationQuery with the endCursor and the filter',
      [sent.at(-1).name, sent.at(-1).variables], ['ConversationListPaginationQuery', { count: 2, cursor, filter }]);
    checkEq('after one loadNext: 4 conversations, merged in order', names(), newestFirst.slice(0, 4));
    cursor = list().pageInfo.endCursor;
    await loadNext(ConversationListFragment, root, 2);
    checkEq('the second loadNext asked from the new endCursor', sent.at(-1).variables.cursor, cursor);
    checkEq('after two loadNext: all 5, in order', names(), newestFirst);
    check('no conversation twice in the connection', distinct(list().edges.map((e) => e.node.id)), names());
    checkEq('the end: hasNextPage false', list().pageInfo.hasNextPage, false);

    // --- the store: records keyed by nodeId
    const source = environment.getStore().getSource();
    const byNodeId = created.map((c) => source.get(c.nodeId));
    check('the store holds each conversation under its nodeId',
      byNodeId.every((r, i) => r?.__id === created[i].nodeId && r.__typename === 'Conversation' && r.id === created[i].id),
      byNodeId);
    check('and none under its UUID', created.every((c) => source.get(c.id) == null), source.getRecordIDs());

    // --- refetch one conversation, renamed behind Relay's back
    const target = list().edges[2].node;
    const renamed = await rename(url, target.id, 'relay renamed');
    checkEq('before the refetch the store still has the old name', read(ConversationDetailFragment, target).name, newestFirst[2]);
    let listNotified = 0;
    const listSnapshot = environment.lookup(getSelector(ConversationListFragment, root));
    const subscription = environment.subscribe(listSnapshot, () => listNotified++);
    const before = sent.length;
    const fresh = await refetch(ConversationDetailFragment, target);
    subscription.dispose();
    const request = sent.slice(before);
    checkEq('refetch sent one ConversationDetailRefetchQuery with exactly { nodeId }',
      request.map((r) => [r.name, r.variables]), [['ConversationDetailRefetchQuery', { nodeId: created[2].nodeId }]]);
    checkEq('the refetched fragment has the new name', fresh?.name, renamed);
    checkEq('the same record: the list shows the new name without being fetched again',
      names(), newestFirst.map((n, i) => (i === 2 ? renamed : n)));
    check('a subscriber to the list was told of the change', listNotified > 0, listNotified);
    checkEq('the record under the nodeId has the new name', source.get(created[2].nodeId)?.name, renamed);
  } finally {
    retained.forEach((r) => r.dispose());
    await deleteConversations(url, created.map((c) => c.id));
  }
}

await run(main);
