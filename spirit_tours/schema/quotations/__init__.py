"""GraphQL of quotations: types, inputs, queries, mutations."""
