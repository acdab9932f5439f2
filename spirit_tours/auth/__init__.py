"""Authentication: password hashing, access tokens, refresh tokens and login throttling."""
