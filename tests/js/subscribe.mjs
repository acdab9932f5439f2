// One subscription through the reference graphql-ws client, configured as an app would
// (`createClient` with its default retry policy: `lazy`, `retryAttempts`, `shouldRetry` and
// `retryWait` untouched), whose `connectionParams` signs in on the first connection and
// refreshes the access token on every later one.
//
// Usage: node subscribe.mjs <http base url> <email> <password> <query> [<variables JSON>]
// Prints what happens as JSON lines on stdout: {"event": "connectionParams" | "connecting" |
// "connected" | "closed" | "next" | "error" | "complete", ...}. Runs until the subscription
// ends, or stdin closes (the test is done with it), or 60 s pass.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [base, email, password, query, variables = "{}"] = process.argv.slice(2);

const LOGIN = `mutation($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken } }`;
const REFRESH = `mutation($t: String!) {
  refreshToken(input: {refreshToken: $t}) { accessToken refreshToken } }`;

function print(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

async function graphql(document, vars) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: document, variables: vars }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

let calls = 0;
let refreshToken = null;

async function freshAccessToken() {
  if (refreshToken === null) {
    const { login } = await graphql(LOGIN, { input: { email, password } });
    refreshToken = login.refreshToken;
    return { via: "login", token: login.accessToken };
  }
  const { refreshToken: pair } = await graphql(REFRESH, { t: refreshToken });
  refreshToken = pair.refreshToken;
  return { via: "refresh", token: pair.accessToken };
}

const client = createClient({
  url: base.replace(/^http/, "ws") + "/graphql",
  webSocketImpl: WebSocket,
  connectionParams: async () => {
    calls += 1;
    const { via, token } = await freshAccessToken();
    print("connectionParams", { call: calls, via });
    return { authorization: `Bearer ${token}` };
  },
  on: {
    connecting: (retrying) => print("connecting", { retrying }),
    connected: (_socket, _payload, retrying) => print("connected", { retrying }),
    closed: (event) => print("closed", { code: event.code, reason: event.reason }),
  },
});

function finish(code) {
  client.dispose();
  process.exit(code);
}

client.subscribe(
  { query, variables: JSON.parse(variables) },
  {
    next: (result) => print("next", { result }),
    error: (error) =>
      print("error", {
        code: error?.code ?? null,
        reason: error?.reason ?? null,
        message: error instanceof Error ? error.message : null,
        connectionParamsCalls: calls,
      }),
    complete: () => {
      print("complete", { connectionParamsCalls: calls });
      finish(0);
    },
  },
);

process.stdin.on("end", () => finish(0));
process.stdin.resume();
setTimeout(() => {
  print("timeout");
  finish(1);
}, 60_000).unref();
