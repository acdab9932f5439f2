"""Queries and writes, one module per domain; each function takes a session and plain values."""
