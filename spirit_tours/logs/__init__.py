"""Logs: one JSON object per line (or a readable line in development) for every logger of the
process — ours, uvicorn's, saq's, SQLAlchemy's — with the request id and trace id of the work
that wrote it, and no secret or personal data (README, Logs)."""
