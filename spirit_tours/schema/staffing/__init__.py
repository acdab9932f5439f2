"""GraphQL of staffing: types, inputs, queries, mutations."""
