"""The bottom layer: the clock, errors, money, ids, text rules, crypto primitives and the enums
every other layer shares. It imports nothing else of the project (docs/architecture.md)."""
