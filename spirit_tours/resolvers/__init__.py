"""Query, mutation and subscription resolvers and the domain rules they apply."""
