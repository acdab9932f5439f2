"""The ML benchmark's smoke run: a tiny generated history goes through every step (generate,
train with the time-ordered hold-out, store, load as a server would, predict) and the report
prints each figure beside its baseline."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.slow  # a scratch database and a subprocess of its own
def test_the_smoke_run_reports_the_models_beside_their_baselines() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "ml", "--smoke"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "300 quotations generated" in output, output
    for metric in ("precision_at_1", "precision_at_3", "auc"):
        assert re.search(rf"^  {metric} +(\d\.\d{{3}}|n/a) +(\d\.\d{{3}}|n/a)$", output,
                         re.MULTILINE), output  # fmt: skip
    price_rows = re.findall(r"^  (USD|EUR|BRL|COP) +\d+ +[\d,.]+ +[\d,.]+ +[\d,.]+$", output,
                            re.MULTILINE)  # fmt: skip
    assert price_rows, output
    assert re.search(r"^training \(both models.*\): [\d.]+ s", output, re.MULTILINE), output
    assert re.search(r"^prediction, hotel ranking of a destination: median [\d.]+ ms", output,
                     re.MULTILINE), output  # fmt: skip
    assert "beats its baseline:" in output
