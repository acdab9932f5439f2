"""deploy/prometheus and deploy/grafana: the alert rules pass ``promtool check rules`` and their
unit tests (``promtool test rules``), the scrape configuration ``promtool check config``, every
dashboard query parses as PromQL, and every metric they name is one /metrics serves today or
one of PLANNED_METRICS below.

promtool is Debian's ``prometheus`` package (``make promtool`` installs it); without it these
tests fail and say so: they are never skipped."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from spirit_tours.config import Settings
from spirit_tours.worker_metrics import metrics_app
from tests.conftest import METRICS_TOKEN

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "spirit-tours.json"

# Metrics the alerts and the dashboard use that /metrics does not serve yet: another change
# adds them. Name (as Prometheus stores it) → what it is. When one appears on /metrics,
# test_every_metric_used_is_served_or_planned says to remove it from here.
PLANNED_METRICS: dict[str, str] = {}
METRIC = re.compile(r"\bspirit_[a-z0-9_]*[a-z0-9]\b")
# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is missing: `make promtool` installs Debian's prometheus package "
            "(as root), or install it yourself (apt-get install prometheus)",
            pytrace=False,
        )
    return found


def _promtool_run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - promtool with our own files
        [_promtool(), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def _alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _dashboard_queries() -> list[str]:
    return [
        target["expr"]
        for panel in _dashboard()["panels"]
        for target in panel.get("targets", [])
    ]  # fmt: skip


def test_the_alert_rules_pass_promtool() -> None:
    result = _promtool_run("check", "rules", ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    names = {rule["alert"] for rule in _alert_rules()}
    wanted = {"SpiritHighErrorRate", "SpiritHighLatencyP95", "SpiritQueueBacklog",
              "SpiritDeadLetters", "SpiritWebhookFailures", "SpiritHubReconnects",
              "SpiritApiUnreachable", "SpiritWorkerUnreachable"}  # fmt: skip
    assert wanted <= names
    for rule in _alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_alert_unit_tests_pass_and_can_fail(tmp_path: Path) -> None:
    tests = PROMETHEUS / "tests" / "alerts_test.yml"
    result = _promtool_run("test", "rules", tests)
    assert result.returncode == 0, result.stdout + result.stderr
    # The same tests against rules whose error threshold moved fail: they test the rules.
    loosened = ALERTS.read_text().replace("> 0.02", "> 0.05", 1)
    assert loosened != ALERTS.read_text()
    (tmp_path / "alerts.yml").write_text(loosened)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "alerts_test.yml").write_text(tests.read_text())
    failed = _promtool_run("test", "rules", tmp_path / "tests" / "alerts_test.yml")
    assert failed.returncode != 0
    assert "SpiritHighErrorRate" in failed.stdout + failed.stderr


def test_the_scrape_configuration_passes_promtool(tmp_path: Path) -> None:
    """prometheus.yml with its rule file; the token file it names is made here (promtool
    checks that it exists)."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    token = tmp_path / "metrics-token"
    token.write_text("token\n")
    for job in config["scrape_configs"]:
        job["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    result = _promtool_run("check", "config", tmp_path / "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert config["rule_files"] == ["alerts.yml"]


def _as_promql(query: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
    assert "$" not in query, query
    return query


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses them as the expressions of recording rules."""
    queries = _dashboard_queries()
    rules = [
        {"record": f"dashboard:query_{i}", "expr": _as_promql(q)} for i, q in enumerate(queries)
    ]
    (tmp_path / "queries.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]})
    )
    result = _promtool_run("check", "rules", tmp_path / "queries.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(queries)} rules found" in result.stdout
    (tmp_path / "broken.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "d", "rules": [{"record": "x:y", "expr": "sum(("}]}]})
    )
    assert _promtool_run("check", "rules", tmp_path / "broken.yml").returncode != 0


def test_the_dashboard_is_well_formed() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "spirit-tours"
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    titles = {panel["title"] for panel in panels}
    for wanted in ("Requests by route", "Error rate (5xx)", "Latency p95 by route",
                   "Operations by type", "WebSockets and subscriptions", "Queue depth",
                   "Job duration p95 by queue", "Payments by provider and outcome",
                   "E-mails by template and outcome", "Undelivered e-mail and dead letters",
                   "Hub reconnects", "Webhook failures"):  # fmt: skip
        assert wanted in titles, wanted
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}  # fmt: skip
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]
            refs = [target["refId"] for target in panel["targets"]]
            assert len(set(refs)) == len(refs), panel["title"]


def _served(body: str) -> set[str]:
    """The series names /metrics can serve: every family, with its type's suffixes (a family
    with labels and no sample yet is still announced by its HELP and TYPE lines)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "gauge": ("",),
        "untyped": ("",),
    }
    names = set()
    for family in text_string_to_metric_families(body):
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


async def test_every_metric_used_is_served_or_planned(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    """Served by the API's /metrics or the worker's (``spirit-tours worker``, which imports
    the job modules: the e-mail outcomes are counted there). This process imports them as
    the worker does, rather than counting on another test having imported them first."""
    importlib.import_module("spirit_tours.jobs.worker")
    await http.get("/healthz")  # the request histogram has a route label: give it a sample
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    response = await http.get("/metrics", headers=auth)
    assert response.status_code == 200
    worker_app = metrics_app(settings)  # the settings carry the metrics token
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=worker_app), base_url="http://worker"
    ) as worker:
        from_worker = await worker.get("/metrics", headers=auth)
    assert from_worker.status_code == 200
    served = _served(response.text) | _served(from_worker.text)
    assert "spirit_http_requests_total" in served
    assert "spirit_http_request_duration_seconds_bucket" in served
    assert "spirit_webhook_refusals_total" in served  # labelled, maybe without a sample yet
    rules = [rule["expr"] for rule in _alert_rules()]
    used = {name for query in [*rules, *_dashboard_queries()] for name in METRIC.findall(query)}
    unknown = used - served - set(PLANNED_METRICS)
    assert not unknown, f"not on /metrics and not planned: {sorted(unknown)}"
    arrived = set(PLANNED_METRICS) & served
    assert not arrived, f"now served by /metrics: remove from PLANNED_METRICS: {sorted(arrived)}"
    assert set(PLANNED_METRICS) <= used, "PLANNED_METRICS lists only what is used"


def test_the_readme_lists_every_alert() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Deploying\n") :]
    section = section[: section.index("\n## ", 1)]
    listed = set(re.findall(r"`(Spirit[A-Za-z0-9]+)`", section))
    assert listed == {rule["alert"] for rule in _alert_rules()}
