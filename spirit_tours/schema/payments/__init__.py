"""GraphQL of payments: types, inputs, queries, mutations."""
