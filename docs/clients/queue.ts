// The generated types in use: `QueueQuery` is what the Queue query (queue.graphql) answers.
import type { QueueQuery } from "./generated/graphql";

export function describeFirst(data: QueueQuery): string {
  const first = data.handoffQueue.nodes[0];
  if (!first) return "The queue is empty";
  const raised: Date = new Date(first.createdAt); // createdAt: string (DateTime, see codegen.ts)
  return `[${first.priority}] ${first.session.problemSummary}, raised ${raised.toISOString()}`;
}
