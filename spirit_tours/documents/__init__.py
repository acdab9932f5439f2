"""GraphQL documents kept by this process, below the schema that uses them: ``parsed`` caches
parsed documents (and makes the validation caches' lookups cheap), ``persisted`` keeps the
documents of Apollo's automatic persisted queries and registers them once they are valid."""
