"""Development-only modules: the demo data (``serve --demo``), the embedded PostgreSQL and Valkey
servers (started only when no server URL is configured) and the server finder of the tests and
benchmarks. Nothing below the entry points imports them (docs/architecture.md)."""
