// The GraphQL-over-HTTP audit suite (graphql-http's auditServer) against one URL.
//
//   node tests/support/graphql_http_audit/audit.mjs <modules> <url>
//
// <modules>: the node_modules folder holding graphql-http (scripts/setup installs it, at the
// versions package.json and package-lock.json beside this file pin, in .node/node_modules).
// With AUDIT_TOKEN set, every audit request also carries `Authorization: Bearer <token>` (the
// audits' own headers kept), through the custom fetch the suite accepts.
// Prints one JSON array: {id, name, status, reason?, responseStatus?, body?} per audit.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, url] = process.argv.slice(2);
const token = process.env.AUDIT_TOKEN;
if (!modules || !url) {
  console.error('usage: audit.mjs <node_modules folder> <url>');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), 'audit.js'));
const { auditServer } = await import(pathToFileURL(require.resolve('graphql-http')).href);

function fetchFn(input, init = {}) {
  if (!token) return fetch(input, init);
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn });
const report = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    entry.responseStatus = result.response.status;
    entry.body = await result.response.text().catch((error) => `(unreadable: ${error})`);
  }
  report.push(entry);
}
console.log(JSON.stringify(report));
