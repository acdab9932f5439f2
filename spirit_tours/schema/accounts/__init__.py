"""GraphQL of accounts: the viewer, users, companies, hotels, sign-in and password reset."""
