"""The analytics benchmark measures what it claims: a tiny run prints the refresh and, for every
report of the registry, its GraphQL and CSV latencies beside the baseline, and its statements
over the raw tables give the same figures as over the rollups."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from spirit_tours.resolvers.analytics.reports import REPORTS

FIGURES = r"p50 +[\d.]+ ms +p95 +[\d.]+ ms"
AGAINST = r"\(p50 +[\d.]+x the baseline\)"


@pytest.mark.slow  # a server and a scratch database in subprocesses
def test_the_smoke_run_times_every_report(redis_url: str) -> None:
    env = {**os.environ, "SPIRIT_TEST_REDIS_URL": redis_url}  # this xdist worker's database
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "analytics", "--smoke"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert re.search(r"^  run 1: \d+ ms in all \(analytics_quotation_funnel \d+ ms", output, re.M)
    assert re.search(rf"^  {{ __typename }} \(baseline\) +{FIGURES}", output, re.M), output
    for name in REPORTS:
        for kind in ("GraphQL", "CSV"):
            line = rf"^  {re.escape(name)}(?: by \w+)?: {kind} +{FIGURES} +{AGAINST}"
            assert re.search(line, output, re.M), (name, kind, output)
        database = rf"^  {re.escape(name)}(?: by \w+)? +rollup p50 .* same figures: yes$"
        assert re.search(database, output, re.M), (name, output)
    assert "Traceback" not in output
