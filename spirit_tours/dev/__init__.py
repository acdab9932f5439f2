"""Development-only modules: demo data, the embedded PostgreSQL and Valkey servers, the test and
benchmark server finder, and the generated development secrets. Production never runs them."""
