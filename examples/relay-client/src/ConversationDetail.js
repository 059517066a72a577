// Read by relay-compiler only (see ConversationList.js).
const { graphql } = require('relay-runtime');

// One conversation, refetchable by its nodeId as useRefetchableFragment does:
// relay-compiler writes ConversationDetailRefetchQuery, `node(id: $nodeId)`.
exports.detail = graphql`
  fragment ConversationDetail_conversation on Conversation
  @refetchable(queryName: "ConversationDetailRefetchQuery") {
    id
    name
    detail
    tmUpdate
  }
`;
