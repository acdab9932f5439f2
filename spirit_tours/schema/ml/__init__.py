"""The operator's machine-learning fields: recommendations, price estimates, stored models."""
