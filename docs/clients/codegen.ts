// graphql-codegen: TypeScript types for your operations on the desk's schema.
//
//   npm install -D @graphql-codegen/cli @graphql-codegen/typescript-operations typescript
//   # (the versions: docs/clients/package.json)
//   npx graphql-codegen          # reads this file (codegen.ts), writes generated/graphql.ts
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  // A running desk (it answers introspection without a token), or the repository's schema.graphql.
  schema: process.env.HANDOFF_URL ?? "http://127.0.0.1:8000/graphql",
  documents: ["queue.graphql"], // your queries, mutations and subscriptions
  generates: {
    "generated/graphql.ts": {
      plugins: ["typescript-operations"], // the types your operations use, nothing else
      config: {
        // DateTime travels as an ISO 8601 string ("2026-11-29T17:53:05.123456+00:00"): type it
        // so, and make a Date where you need one (new Date(handoff.createdAt)).
        scalars: { DateTime: "string" },
        enumsAsTypes: true, // Priority is "LOW" | "NORMAL" | "HIGH" | "URGENT", no runtime enum
      },
    },
  },
};

export default config;
