"""The table of the HTTP benchmark: each case's figures, its ratio to the floor of the same run
and (GraphQL) to its hand-written baseline, and whether it meets the issue's target."""

from __future__ import annotations

from benchmarks.http_cases import FLOOR, Case
from benchmarks.loadgen import Figures

HEADER = (
    f"{'case':<48} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}"
    f" {'xfloor':>7} {'xbase':>6}  target"
)


def _ratio(figures: Figures, versus: Figures | None) -> float | None:
    if versus is None or not versus.rps:
        return None
    return figures.rps / versus.rps


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def verdict(case: Case, figures: Figures, measured: dict[str, Figures]) -> str:
    """The target beside the row: met or missed, with what it asks."""
    target = case.target
    if target is None:
        return ""
    ratio = _ratio(figures, measured.get(target.versus))
    if ratio is None:
        return f"{target.describe()}: no {target.versus!r} in this run"
    met = ratio >= target.ratio and figures.percentile(95) < target.p95_ms and not figures.errors
    return f"{target.describe()}: {'met' if met else 'MISSED'}"


def row(case: Case, figures: Figures, measured: dict[str, Figures]) -> str:
    to_floor = _ratio(figures, measured.get(FLOOR))
    to_baseline = _ratio(figures, measured.get(case.baseline)) if case.baseline else None
    line = (
        f"{case.name:<48} {figures.rps:>7.0f} {figures.percentile(50):>8.1f}"
        f" {figures.percentile(95):>8.1f} {figures.percentile(99):>8.1f} {figures.errors:>6}"
        f" {_times(to_floor):>7} {_times(to_baseline):>6}  {verdict(case, figures, measured)}"
    )
    if figures.first_error:
        line += f"\n{'':<4}first error: {figures.first_error}"
    return line


def failed(case: Case, reason: str) -> str:
    return f"{case.name:<48} not measured: {reason}"
