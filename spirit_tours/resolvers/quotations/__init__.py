"""Quotation domain rules: one module per group of transitions."""
