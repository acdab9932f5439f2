"""The server of the HTTP benchmark: the API as ``spirit-tours serve --workers N`` runs it (its
uvicorn configuration, one or N worker processes on one listening socket), with the floor and the
hand-written baselines as extra routes of the same app, so they run in the same processes."""

from __future__ import annotations

from starlette.applications import Starlette

import benchmarks.keys  # noqa: F401 - the run's encryption key, in every worker process
from benchmarks.http_baseline import baseline_page, baseline_viewer
from benchmarks.http_floor import add_floor
from benchmarks.live_servers import api_environment, serve_api
from spirit_tours.app import create_app
from spirit_tours.config import get_settings

FACTORY = "benchmarks.http_server:create_bench_app"


def create_bench_app() -> Starlette:
    """The API with ``/floor/quotations``, ``/baseline/viewer`` and ``/baseline/quotations``;
    settings from the environment (:func:`environment`), read in each worker process."""
    settings = get_settings()
    app = create_app(settings)
    app.add_route("/baseline/viewer", baseline_viewer)
    app.add_route("/baseline/quotations", baseline_page)
    assert settings.database_url is not None
    add_floor(app, settings.database_url, settings.database_pool_size)
    return app


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The live benchmarks' production settings (no job workers, rate limit lifted, day-long
    tokens for a run of many minutes)."""
    return api_environment(database_url, redis_url, compression=False)


def serve(database_url: str, redis_url: str, port: int, workers: int) -> None:
    """Run in a process of its own until terminated."""
    serve_api(environment(database_url, redis_url), port, workers, app=FACTORY)
