"""Spirit Tours: the reactive GraphQL backend of a tour operator."""

__version__ = "0.1.0"
