"""GraphQL of accounts: types, inputs, queries, mutations."""
