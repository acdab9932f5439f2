"""GraphQL of bookings: types, inputs, queries, mutations."""
