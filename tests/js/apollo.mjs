// Apollo Client (core, no React) against the live server, configured as an app would: one
// normalised InMemoryCache (objects keyed by __typename and id), a cache redirect for
// `quotation(id:)`, and the error policies an app picks per query.
//
// Usage: node apollo.mjs <http base url> <email> <password> <quotation id> <unknown id>
// Prints one JSON object on stdout: what each step observed (data, cache entries, how many
// requests reached the server, the errors reported). tests/test_js_clients.py asserts on it.
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from "@apollo/client";

const [base, email, password, quotationId, unknownId] = process.argv.slice(2);

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;

async function signIn() {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: LOGIN, variables: { input: { email, password } } }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data.login.accessToken;
}

const token = await signIn();
let requests = 0; // the requests that reached the server (cache hits never do)

const client = new ApolloClient({
  link: new HttpLink({
    uri: `${base}/graphql`,
    headers: { authorization: `Bearer ${token}` },
    fetch: (...args) => {
      requests += 1;
      return fetch(...args);
    },
  }),
  cache: new InMemoryCache({
    // node(id:) answers any Node: Apollo matches fragments on the interface through these.
    possibleTypes: {
      Node: ["Quotation", "Offer", "Invitation", "Booking", "Payment", "ChatMessage", "Guide",
        "User", "Company", "Hotel", "Vehicle"],
    },
    typePolicies: {
      Query: {
        fields: {
          // A quotation already in the cache (from a list, node(id:), a mutation) is read
          // from there: the id is all it takes to find it.
          quotation: {
            read: (_, { args, toReference }) =>
              toReference({ __typename: "Quotation", id: args.id }),
          },
        },
      },
    },
  }),
});

const LIST = gql`
  query List {
    quotations(first: 10) {
      totalCount
      edges { cursor node { id destination travellers } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;
const NODE = gql`
  query Node($id: ID!) {
    node(id: $id) { id ... on Quotation { status destination } }
  }
`;
const TYPED = gql`
  query Typed($id: ID!) {
    quotation(id: $id) { id destination travellers }
  }
`;
const RENAME = gql`
  mutation Rename($id: ID!, $destination: String!) {
    updateQuotation(input: { quotationId: $id, destination: $destination }) {
      quotation { id destination }
    }
  }
`;
const PARTIAL = gql`
  query Partial($id: ID!) {
    viewer { email }
    quotation(id: $id) { id destination }
  }
`;
const MANY = gql`
  query Many($ids: [ID!]!) {
    nodes(ids: $ids) { id ... on Quotation { destination } }
  }
`;

function errorsOf(error) {
  if (!CombinedGraphQLErrors.is(error)) return error ? { other: String(error) } : null;
  return error.errors.map((e) => ({ code: e.extensions?.code ?? null, path: e.path ?? null }));
}

const out = {};
const key = client.cache.identify({ __typename: "Quotation", id: quotationId });
out.key = key;

const list = await client.query({ query: LIST });
out.list = list.data.quotations;
out.requestsAfterList = requests;

const node = await client.query({ query: NODE, variables: { id: quotationId } });
out.node = node.data.node;
// One entry for the quotation, holding what the list and node(id:) each brought.
out.entryAfterNode = client.cache.extract()[key];
out.quotationEntries = Object.keys(client.cache.extract()).filter((k) =>
  k.startsWith("Quotation:"),
);

const typed = await client.query({ query: TYPED, variables: { id: quotationId } });
out.typed = typed.data.quotation;
out.requestsAfterTyped = requests; // unchanged: served by the cache redirect

const renamed = await client.mutate({
  mutation: RENAME,
  variables: { id: quotationId, destination: "Arequipa" },
});
out.renamed = renamed.data.updateQuotation.quotation;
const requestsAfterMutation = requests;
// The list, read again from the cache alone, shows the mutation's result.
const again = await client.query({ query: LIST, fetchPolicy: "cache-only" });
out.listAfterMutation = again.data.quotations.edges.map((edge) => edge.node);
out.requestsForListAfterMutation = requests - requestsAfterMutation;

const all = await client.query({
  query: PARTIAL,
  variables: { id: unknownId },
  errorPolicy: "all",
  fetchPolicy: "network-only",
});
out.errorPolicyAll = { data: all.data, errors: errorsOf(all.error) };

const none = await client
  .query({ query: PARTIAL, variables: { id: unknownId }, fetchPolicy: "network-only" })
  .then(
    (result) => ({ data: result.data ?? null, errors: errorsOf(result.error) }),
    (error) => ({ data: null, errors: errorsOf(error), thrown: true }),
  );
out.errorPolicyNone = none;

const many = await client.query({
  query: MANY,
  variables: { ids: [quotationId, unknownId, quotationId] },
  fetchPolicy: "network-only",
});
out.nodes = many.data.nodes;

process.stdout.write(JSON.stringify(out) + "\n");
