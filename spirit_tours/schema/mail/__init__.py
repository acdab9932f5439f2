"""GraphQL of mail: types, inputs, queries, mutations and the live statistics (subscriptions)."""
