"""Live updates: the relay that publishes the outbox in commit order, the per-process hub that
fans events out to subscriptions, presence, and the offline inbox."""
