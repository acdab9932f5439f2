"""GraphQL documents kept by this process, below the schema that uses them: ``persisted``
keeps the documents of Apollo's automatic persisted queries and registers them once they are
valid."""
