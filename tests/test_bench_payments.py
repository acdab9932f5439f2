"""The payment benchmark checks what it claims: a tiny run pays every booking once through the
real server and worker, and its integrity lines (read back from the database) say so; a count
that is off fails the run."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from benchmarks.payments_checks import QUERIES, Integrity

CLEAN = {
    "payments started": 40,
    "credited exactly once": 40,
    "lost payments": 0,
    "double credits": 0,
    "over-credited bookings": 0,
    "duplicate webhook applications": 0,
    "events processed without one APPLIED delivery": 0,
    "payment.succeeded events not exactly one per payment": 0,
}


def test_the_smoke_run_pays_every_booking_exactly_once(redis_url: str) -> None:
    env = {**os.environ, "SPIRIT_BENCH_REDIS_URL": redis_url}  # this xdist worker's database
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "payments", "--smoke"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    counts = {
        name: int(value)
        for name, value in re.findall(r"^  ([^:\n]+): (\d+) (?:ok|FAIL)$", output, re.MULTILINE)
    }
    assert counts == CLEAN, output
    credited = re.search(r"^40 payments started, (\d+) credited", output, re.MULTILINE)
    assert credited is not None, output
    assert credited.group(1) == "40", output
    mails = re.search(r"payment_received mails queued: (\d+) \((\d+) distinct\)", output)
    assert mails is not None, output
    assert mails.groups() == ("40", "40"), output
    assert "integrity: all checks passed" in output


def test_any_count_off_fails_the_run() -> None:
    assert set(CLEAN) == set(QUERIES)
    assert Integrity(dict(CLEAN), {}, expected=40).failures() == []
    for name, value in CLEAN.items():
        off = Integrity({**CLEAN, name: value + 1}, {}, expected=40)
        assert name in off.failures(), name
        assert f"  {name}: {value + 1} FAIL" in off.lines()
    unanswered = Integrity(dict(CLEAN), {}, expected=41)  # a start the generator saw answered
    assert unanswered.failures() == ["payments started"]
