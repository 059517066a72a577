//! GraphiQL, served from the binary so it works with no internet (assets vendored under
//! `assets/graphiql/`, see `LICENSES.txt` there), with the Explorer plugin in its sidebar:
//! build a query by ticking fields and arguments.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// The page, wired to `/graphql` for queries and `/graphql/ws` for subscriptions; the
/// Explorer is in the sidebar (its button is labelled "Show GraphiQL Explorer"). Two tabs open
/// by default: the newest conversations, and live events with how to resume them (`after`).
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>conversation-graphql · GraphiQL</title>
  <link rel="stylesheet" href="/graphql/assets/graphiql.min.css">
  <link rel="stylesheet" href="/graphql/assets/graphiql-plugin-explorer.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphql/assets/react.production.min.js"></script>
  <script src="/graphql/assets/react-dom.production.min.js"></script>
  <script src="/graphql/assets/graphiql.min.js"></script>
  <script src="/graphql/assets/graphiql-plugin-explorer.umd.js"></script>
  <script>
    const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const fetcher = GraphiQL.createFetcher({
      url: location.origin + '/graphql',
      subscriptionUrl: wsScheme + '//' + location.host + '/graphql/ws',
    });
    const newest = `# Welcome to conversation-graphql.
# Ctrl-Enter runs the query; the Docs panel describes every type and field. The second tab
# watches live events and shows how to resume them after a disconnect.
query Newest {
  conversations(first: 10) {
    totalCount
    edges {
      cursor
      node { id name type dialogId peer { type target } tmCreate tmUpdate }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;
    const watch = `# Live conversation events, from a durable log. Run it: events arrive as they commit.
# Every event has a \`cursor\`. After a disconnect (a closed tab, the network, a deploy, or
# a SUBSCRIBER_TOO_SLOW error, whose extensions.lastCursor is the cursor to use), set the
# \`after\` variable below to the last cursor you saw and run again: what you missed is
# replayed in order, then delivery continues live, none skipped and none twice, on any
# replica. Without \`after\`, delivery starts with the next event.
# \`previous\` is the conversation before the change: a filtered view also learns when a
# row leaves it. The same log as pages: the conversationEventLog query.
subscription Watch($after: String) {
  conversationEvents(after: $after) {
    cursor
    kind
    at
    conversation { id name ownerId tmDelete }
    previous { name ownerId tmDelete }
  }
}
`;
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultTabs: [
          { query: newest },
          { query: watch, variables: '{\n  "after": null\n}' },
        ],
        shouldPersistHeaders: true,
        plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      })
    );
  </script>
</body>
</html>
"#;

pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /graphql/assets/{file}`: the vendored scripts and styles.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            "text/css; charset=utf-8",
        ),
        "graphiql-plugin-explorer.umd.js" => (
            include_bytes!("../../assets/graphiql/graphiql-plugin-explorer.umd.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql-plugin-explorer.css" => (
            include_bytes!("../../assets/graphiql/graphiql-plugin-explorer.css"),
            "text/css; charset=utf-8",
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
