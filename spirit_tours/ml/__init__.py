"""Machine learning for the operator (ADMIN only, docs/privacy.md §1): which hotels to invite
for a quotation and what net price range to expect, learned from the quotation history.

Layers: reads ``persistence``; ``resolvers``, ``jobs`` and ``services`` use it. scikit-learn
is imported only where a model is trained (``training``) or unpickled (``serving`` loads it),
so neither the server's start-up nor a process that never asks pays for it.
"""
