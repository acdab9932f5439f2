"""A typed wrapper around the untyped ``mjml`` package (mjml-python)."""

from __future__ import annotations

from mjml import mjml2html


def compile_mjml(source: str) -> str:
    """Responsive HTML with styles inlined on each element by MJML."""
    result = mjml2html(source, disable_comments=False)
    if not isinstance(result, str):
        raise TypeError(f"mjml2html returned {type(result).__name__}, expected str.")
    return result
