"""Payment providers behind one gateway interface, routing with fallbacks, webhooks."""
