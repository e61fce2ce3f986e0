// GraphiQL at /graphql, with the explorer plugin: what Strawberry's own page does
// (strawberry/static/graphiql.html), from files this server serves (web/graphiql/vendor/).
//
// Queries and mutations are POSTed to this address; subscriptions speak graphql-transport-ws
// to the same address, and GraphiQL sends the Headers pane as the connection_init payload, so
// `{"Authorization": "Bearer <token>"}` there authenticates both (README, "The live desk").
"use strict";

(function () {
  const EXAMPLE_QUERY = `# Handoff Desk. Log in:
#
# mutation { login(input: {
#     email: "…",
#     password: "…" }) {
#   ... on LoginSuccess { token }
#   ... on InvalidCredentials {
#     message } } }
#
# then put the token in the Headers
# pane below (queries and
# subscriptions both use it):
#
# {"Authorization": "Bearer <token>"}
#
# Run: Ctrl-Enter. Complete: Ctrl-Space.

{ me { name role } }
`;

  // The query and variables can be shared in the address (?q=…&variables=…); the headers are
  // never put there (they hold the token): GraphiQL keeps them in this browser's storage.
  const parameters = {};
  for (const [key, value] of new URLSearchParams(window.location.search)) {
    parameters[key] = value;
  }

  function updateURL(data) {
    Object.assign(parameters, data);
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(parameters)) {
      if (value) search.set(key, value);
    }
    history.replaceState(null, "", "?" + search.toString());
  }

  const fetchURL = window.location.href.split("?")[0].split("#")[0];
  const subscriptionURL = new URL(fetchURL);
  subscriptionURL.protocol = subscriptionURL.protocol === "https:" ? "wss:" : "ws:";

  const fetcher = GraphiQL.createFetcher({
    url: fetchURL,
    subscriptionUrl: subscriptionURL.toString(),
  });

  const explorer = GraphiQLPluginExplorer.explorerPlugin();

  function GraphiQLWithExplorer() {
    const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
    const [variables, setVariables] = React.useState(parameters.variables);

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorer],
      query: query,
      variables: variables,
      onEditQuery: function (edited) {
        setQuery(edited);
        updateURL({ q: edited });
      },
      onEditVariables: function (edited) {
        setVariables(edited);
        updateURL({ variables: edited });
      },
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQLWithExplorer),
  );
})();
