"""GraphQL of mail: types, inputs, queries, mutations."""
