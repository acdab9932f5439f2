// GraphiQL for this server (spirit_tours/graphiql). Queries and mutations go over HTTP to this
// page's URL; subscriptions over a WebSocket to the same URL (protocol graphql-transport-ws, by
// the graphql-ws client inside GraphiQL's bundle). The headers editor's headers go with every
// HTTP request and, as the connection_init payload, with each subscription's WebSocket: the
// server reads `Authorization: Bearer <token>` from either.
"use strict";

(function () {
  const DEFAULT_QUERY = `# Spirit Tours GraphQL API.
#
# Sign in: run the login mutation below, then open "Headers" at the bottom and write
#   {"Authorization": "Bearer <the accessToken>"}
# Queries and mutations then run as you, and so do subscriptions (they go over a WebSocket
# that sends the same headers when it connects).
#
# Run: Ctrl-Enter or the play button. Complete: Ctrl-Space. Docs: the book icon on the left.

mutation Login {
  login(input: {email: "", password: ""}) {
    accessToken
    accessTokenExpiresAt
  }
}
`;

  const url = window.location.origin + window.location.pathname;
  const socket = new URL(url);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";

  const fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: socket.href });

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // A token typed in the headers is not kept in this browser's storage.
      shouldPersistHeaders: false,
      // Tabs, queries, variables and history (the login mutation holds a password) last as
      // long as this tab, not in localStorage for whoever uses this browser next.
      storage: window.sessionStorage,
      inputValueDeprecation: true,
    }),
  );
})();
