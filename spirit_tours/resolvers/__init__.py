"""Domain services: plain async functions over a session and plain values, one module or package
per domain. The GraphQL resolvers that call them live in ``spirit_tours.schema``."""
