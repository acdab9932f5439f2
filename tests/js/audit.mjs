// The GraphQL-over-HTTP conformance audit of the `graphql-http` package (its `serverAudits`,
// the reference implementation's own checks of the spec's MUST, SHOULD and MAY rules), run
// against a live server.
//
// Usage: node audit.mjs <GraphQL endpoint URL>
// Prints one JSON array on stdout: [{"id", "name", "status": "ok" | "warn" | "error",
// "reason"?, "response"?: {"status", "headers", "body"}}], one entry per audit, in order.
import { serverAudits } from "graphql-http";

const [url] = process.argv.slice(2);
if (!url) {
  process.stderr.write("usage: node audit.mjs <GraphQL endpoint URL>\n");
  process.exit(2);
}

async function describe(response) {
  if (!response) return undefined;
  let body;
  try {
    body = await response.clone().text();
  } catch {
    body = undefined; // already read by the audit
  }
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body,
  };
}

const results = [];
for (const { id, name, fn } of serverAudits({ url, fetchFn: fetch })) {
  const result = await fn();
  const entry = { id, name, status: result.status };
  if (result.status !== "ok") {
    entry.reason = result.reason;
    entry.response = await describe(result.response);
  }
  results.push(entry);
}
process.stdout.write(JSON.stringify(results) + "\n");
