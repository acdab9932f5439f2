"""Strawberry types, inputs and the Schema."""
