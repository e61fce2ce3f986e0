// GraphQL over HTTP, and the bearer token this browser keeps.

const TOKEN_KEY = "handoff-desk:token";

export class Unauthenticated extends Error {}

/** The API answered with errors (a malformed id, say): not a network failure. */
export class ApiError extends Error {}

export const auth = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

/** The operation's data; throws Unauthenticated when the token is missing or stale. */
export async function gql(query, variables = {}) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  const errors = body.errors || [];
  if (errors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) {
    auth.token = null;
    throw new Unauthenticated(errors[0].message);
  }
  if (errors.length) throw new ApiError(errors.map((e) => e.message).join("; "));
  return body.data;
}

// What a queue card shows; subscriptions ask for the same fields.
export const CARD = `
  fragment Card on Handoff {
    id intent priority createdAt claimedAt unread dueAt overdue slaState withdrawnAt
    session { id problemSummary status }
    createdBy { id name }
    claimedBy { id name }
    assessment { status }
  }`;

// An assessment, with who asked for it and the seniors' ratings (the caller's own among them:
// no per-caller field, so a live subscription of it stays one for everyone).
export const ASSESSMENT = `
  fragment AssessmentFields on Assessment {
    id number status summary likelyCause suggestedSteps confidence updatedAt assessor
    requestedBy { id name } requestedAt
    ratings { rating reason ratedAt ratedBy { id name } }
  }`;

// An internal note, as the detail shows it (the query, the live events and the mutation alike).
export const NOTE = `
  fragment NoteFields on HandoffNote { id body createdAt author { id name } }`;
