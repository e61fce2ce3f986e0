// Apollo Client 4 against Handoff Desk, from Node: log in, read the queue, hear of new escalations.
//
//   npm install @apollo/client graphql rxjs graphql-ws ws   # the versions: docs/clients/package.json
//   handoff-desk serve --demo                               # elsewhere: a desk with the demo's data
//   node apollo.mjs                                         # HANDOFF_URL picks another desk
//
// Queries and mutations go over HTTP with an `Authorization: Bearer <token>` header; subscriptions
// over a websocket (graphql-ws), which sends the same header in its `connection_init` payload.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { createClient } from "graphql-ws";
import WebSocket from "ws"; // browsers (and Node 22+) have a WebSocket of their own

const url = process.env.HANDOFF_URL ?? "http://127.0.0.1:8000/graphql";
const email = process.env.HANDOFF_EMAIL ?? "dana@northwind.example"; // a demo login
const password = process.env.HANDOFF_PASSWORD ?? "handoff-demo";

let token = null; // set by the login below; every later request carries it
const bearer = () => (token ? { Authorization: `Bearer ${token}` } : {});

const http = new SetContextLink(({ headers }) => ({ headers: { ...headers, ...bearer() } })).concat(
  new HttpLink({ uri: url }),
);
const websocket = new GraphQLWsLink(
  createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: bearer }),
);
const client = new ApolloClient({
  link: ApolloLink.split((op) => op.operationType === "subscription", websocket, http),
  cache: new InMemoryCache(),
});

// login answers a union: the token, or why not (wrong password, throttled, which account?).
const { data: login } = await client.mutate({
  mutation: gql`
    mutation Login($email: String!, $password: String!) {
      login(input: { email: $email, password: $password }) {
        __typename
        ... on LoginSuccess { token user { name } }
        ... on InvalidCredentials { message }
        ... on LoginThrottled { message }
        ... on AccountChoiceRequired { message }
      }
    }
  `,
  variables: { email, password },
});
if (login.login.__typename !== "LoginSuccess") throw new Error(login.login.message);
token = login.login.token;
console.log(`Signed in as ${login.login.user.name}`);

// The queue: unclaimed first, then by priority. DateTime values are ISO 8601 strings.
const { data } = await client.query({
  query: gql`
    query Queue {
      handoffQueue(first: 1) {
        totalCount
        nodes { id priority createdAt session { problemSummary } }
      }
    }
  `,
});
const [first] = data.handoffQueue.nodes;
console.log(`Queue: ${data.handoffQueue.totalCount} escalation(s)`);
if (first) console.log(`First: [${first.priority}] ${first.session.problemSummary} (${first.createdAt})`);

// Each new escalation of the account, as it is raised (this example stops after the first one).
console.log("Waiting for a new escalation...");
const subscription = client
  .subscribe({
    query: gql`
      subscription Escalations {
        handoffCreated { seq handoff { id priority session { problemSummary } } }
      }
    `,
  })
  .subscribe(({ data, error }) => {
    if (error) {
      console.error(error.message);
      process.exit(1);
    }
    const { handoff } = data.handoffCreated;
    console.log(`New escalation: [${handoff.priority}] ${handoff.session.problemSummary}`);
    subscription.unsubscribe();
    client.stop();
    process.exit(0);
  });
