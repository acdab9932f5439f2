"""GraphiQL served by this server alone: its page, its pinned files and their Content Security
Policy. No CDN, no font host: the page works on a network that reaches nothing but this server
(``SPIRIT_GRAPHIQL`` turns it off; see README, "GraphiQL")."""
