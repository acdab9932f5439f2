"""Every privacy rule of docs/privacy.md, as plain functions per domain (queries' SQL
conditions, mutations' tables, live events, presence, chat, e-mail), plus the viewer, the
permission classes every field and mutation declares and the field guards."""
