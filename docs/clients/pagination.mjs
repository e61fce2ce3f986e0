// Relay-style pagination against Handoff Desk, from Node: Apollo Client's relayStylePagination
// (fetchMore) and urql's relayPagination (Graphcache) page the desk's connections and merge the
// pages into one list; each must equal the whole list, read in one page, in order.
//
//   npm install @apollo/client @urql/core @urql/exchange-graphcache graphql rxjs   # docs/clients/package.json
//   handoff-desk serve --demo                                   # elsewhere: a desk with the demo's data
//   node pagination.mjs                                         # HANDOFF_URL picks another desk
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";
import { Client, fetchExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { relayPagination } from "@urql/exchange-graphcache/extras";

const url = process.env.HANDOFF_URL ?? "http://127.0.0.1:8000/graphql";
const email = process.env.HANDOFF_EMAIL ?? "dana@northwind.example"; // a demo login
const password = process.env.HANDOFF_PASSWORD ?? "handoff-demo";
const PAGE = 1; // small pages, so that even the demo's short lists take several

async function post(query, variables = {}, token = null) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const { login } = await post(
  `mutation($email: String!, $password: String!) {
     login(input: { email: $email, password: $password }) { __typename ... on LoginSuccess { token } }
   }`,
  { email, password },
);
if (login.__typename !== "LoginSuccess") throw new Error(`login: ${login.__typename}`);
const headers = { Authorization: `Bearer ${login.token}` };

// The lists as they stand, each in one page: what the paged clients must end up with.
const whole = await post(
  `{ usersConnection(first: 100) { nodes { id } }
     handoffQueue(first: 1) { nodes { session { id } } } }`,
  {},
  login.token,
);
const sessionId = whole.handoffQueue.nodes[0].session.id;
const { session } = await post(
  `query($id: ID!) { session(id: $id) { messagesConnection(first: 500) { nodes { position } } } }`,
  { id: sessionId },
  login.token,
);
const expected = {
  users: whole.usersConnection.nodes.map((u) => u.id),
  messages: session.messagesConnection.nodes.map((m) => m.position),
};

const USERS = `
  query Users($first: Int!, $after: String) {
    usersConnection(first: $first, after: $after) {
      edges { cursor node { id name } }
      pageInfo { hasNextPage endCursor }
    }
  }`;
const MESSAGES = `
  query Messages($id: ID!, $first: Int!, $after: String) {
    node(id: $id) {
      id
      ... on Session {
        messagesConnection(first: $first, after: $after) {
          edges { cursor node { position content } }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
  }`;

function check(client, list, got, pages) {
  const want = expected[list];
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${client}, ${list}: merged ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
  if (pages < 2) throw new Error(`${client}, ${list}: one page only; nothing was merged`);
  console.log(`${client}, ${list}: ${got.length} in ${pages} pages, in order`);
}

// Apollo Client: relayStylePagination merges each fetchMore's page into the cached connection.
const apollo = new ApolloClient({
  link: new HttpLink({ uri: url, headers }),
  cache: new InMemoryCache({
    possibleTypes: { Node: ["Handoff", "Session", "User"] },
    typePolicies: {
      Query: { fields: { usersConnection: relayStylePagination() } },
      Session: { fields: { messagesConnection: relayStylePagination() } },
    },
  }),
});

async function pageWithApollo(query, variables, connectionOf) {
  const document = gql(query);
  const first = { ...variables, first: PAGE };
  const watched = apollo.watchQuery({ query: document, variables: first });
  const subscription = watched.subscribe({});
  try {
    let { data } = await watched.refetch();
    let pages = 1;
    while (connectionOf(data).pageInfo.hasNextPage) {
      await watched.fetchMore({ variables: { after: connectionOf(data).pageInfo.endCursor } });
      // The cache's connection now: every page so far, merged by relayStylePagination.
      data = apollo.readQuery({ query: document, variables: first });
      pages += 1;
      if (pages > 100) throw new Error("Apollo Client: never reached the last page");
    }
    return { edges: connectionOf(data).edges, pages };
  } finally {
    subscription.unsubscribe();
  }
}

{
  const users = await pageWithApollo(USERS, {}, (d) => d.usersConnection);
  check("Apollo Client", "users", users.edges.map((e) => e.node.id), users.pages);
  const messages = await pageWithApollo(MESSAGES, { id: sessionId }, (d) => d.node.messagesConnection);
  check("Apollo Client", "messages", messages.edges.map((e) => e.node.position), messages.pages);
}

// urql with Graphcache: relayPagination answers each page's query with every page cached so far.
const urql = new Client({
  url,
  fetchOptions: { headers },
  requestPolicy: "cache-first",
  exchanges: [
    cacheExchange({
      keys: {
        PageInfo: () => null,
        UserConnection: () => null,
        UserEdge: () => null,
        MessageConnection: () => null,
        MessageEdge: () => null,
        Message: () => null,
      },
      resolvers: {
        Query: { usersConnection: relayPagination() },
        Session: { messagesConnection: relayPagination() },
      },
    }),
    fetchExchange,
  ],
});

async function pageWithUrql(query, variables, connectionOf) {
  let after = null;
  for (let pages = 1; pages <= 100; pages += 1) {
    const result = await urql.query(query, { ...variables, first: PAGE, after }).toPromise();
    if (result.error) throw result.error;
    const connection = connectionOf(result.data);
    if (!connection.pageInfo.hasNextPage) return { edges: connection.edges, pages };
    after = connection.pageInfo.endCursor;
  }
  throw new Error("urql: never reached the last page");
}

{
  const users = await pageWithUrql(USERS, {}, (d) => d.usersConnection);
  check("urql", "users", users.edges.map((e) => e.node.id), users.pages);
  const messages = await pageWithUrql(MESSAGES, { id: sessionId }, (d) => d.node.messagesConnection);
  check("urql", "messages", messages.edges.map((e) => e.node.position), messages.pages);
}
