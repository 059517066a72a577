// Read by relay-compiler only (as babel-plugin-relay would replace each graphql`` tag by an
// import of its artifact, check-live.mjs imports the artifacts from __generated__/ itself).
const { graphql } = require('relay-runtime');

// The list: a @connection over Query.conversations that usePaginationFragment can page
// (@refetchable makes relay-compiler write ConversationListPaginationQuery for it).
exports.list = graphql`
  fragment ConversationList_query on Query
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 2 }
    cursor: { type: "String" }
    filter: { type: "ConversationFilter" }
  )
  @refetchable(queryName: "ConversationListPaginationQuery") {
    conversations(first: $count, after: $cursor, filter: $filter)
      @connection(key: "ConversationList_conversations", filters: ["filter"]) {
      totalCount
      edges {
        node {
          id
          name
          ...ConversationDetail_conversation
        }
      }
    }
  }
`;

// The page's query: the first page of the list.
exports.query = graphql`
  query ConversationListQuery($filter: ConversationFilter) {
    ...ConversationList_query @arguments(filter: $filter)
  }
`;
