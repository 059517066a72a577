//! GraphiQL, served from the binary so it works with no internet (assets vendored under
//! `assets/graphiql/`, see `LICENSES.txt` there), with the Explorer plugin in its sidebar:
//! build a query by ticking fields and arguments.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// The page, wired to `/graphql` for queries and `/graphql/ws` for subscriptions; the
/// Explorer is in the sidebar (its button is labelled "Show GraphiQL Explorer").
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
    const defaultQuery = `# Welcome to conversation-graphql.
# Ctrl-Enter runs the query; the Docs panel describes every type and field.
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
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultQuery,
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
