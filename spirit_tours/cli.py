"""The ``spirit-tours`` command line: serve, worker, worker-health, migrate, seed-demo,
create-user, export-schema, generate-key, rotate-keys."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spirit_tours.config import Environment, InsecureSettingsError, Settings, get_settings
from spirit_tours.core.crypto import EncryptionError, KeyConfigurationError, Keyring, new_key_spec
from spirit_tours.core.enums import Locale, Role
from spirit_tours.core.errors import DomainError
from spirit_tours.core.metrics import MULTIPROC_ENV
from spirit_tours.dev.embedded import EmbeddedServerError, ServerUrls, start_embedded
from spirit_tours.logs.setup import configure_logging
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.persistence.migrate import migrate

T = TypeVar("T")


def _servers(settings: Settings) -> ServerUrls:
    """The configured URLs, starting the embedded servers for those that are not set."""
    try:
        return start_embedded(settings.data_dir, settings.database_url, settings.redis_url)
    except EmbeddedServerError as error:
        raise click.ClickException(str(error)) from error


def _exit_normally(signum: int, frame: object) -> None:
    """SIGTERM (docker stop, Kubernetes) ends the command normally, so the ``atexit`` handlers
    run and stop the embedded servers this process started (SIGTERM's default action would skip
    them). uvicorn re-raises the signal after its graceful shutdown, which lands here."""
    sys.exit(0)


async def _with_database(
    settings: Settings,
    database_url: str,
    work: Callable[[AsyncEngine, AsyncSession], Awaitable[T]],
) -> T:
    engine = create_engine(database_url, pool_size=2, keyring=_keyring(settings))
    try:
        await migrate(engine)
        async with create_session_factory(engine)() as session, session.begin():
            return await work(engine, session)
    finally:
        await engine.dispose()


def _keyring(settings: Settings) -> Keyring:
    try:
        return settings.keyring()
    except KeyConfigurationError as error:
        raise click.ClickException(str(error)) from error


@click.group()
@click.option("--log-level", default=None, help="debug, info, warning, error")
def main(log_level: str | None) -> None:
    """Spirit Tours backend."""
    if log_level is not None:  # the worker processes of `serve` read it from the environment
        os.environ["SPIRIT_LOG_LEVEL"] = log_level
        get_settings.cache_clear()
    _configure_logging()
    signal.signal(signal.SIGTERM, _exit_normally)


def _configure_logging() -> None:
    """Logs as the settings say (again after ``--demo`` turned development on)."""
    settings = get_settings()
    configure_logging(settings.logs_as, settings.log_level)


def _secured(settings: Settings) -> Settings:
    """The settings ready to serve, or a clean exit saying what to set."""
    try:
        return settings.secured()
    except InsecureSettingsError as error:
        raise _refusal(settings, error) from None


def _checked(settings: Settings) -> Settings:
    """For the commands that do not serve: the same checks as ``serve`` of every value that is
    set (a weak metrics token, a too-wide proxy list, a bad public URL are refused here too),
    without asking for the secrets only a server uses."""
    try:
        settings.check_secrets(serving=False)
    except InsecureSettingsError as error:
        raise _refusal(settings, error) from None
    return settings


def _refusal(settings: Settings, error: InsecureSettingsError) -> click.ClickException:
    lines = "\n".join(f"  - {problem}" for problem in error.problems)
    hint = "" if settings.is_development else (
        "\n(For the demo on this machine, run `make run` or `spirit-tours serve --demo`.)"
    )  # fmt: skip
    return click.ClickException(f"refusing to start in {settings.env}:\n{lines}{hint}")


def local_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches ``serve --host H --port P``."""
    if host in ("0.0.0.0", ""):  # noqa: S104 - any address: this machine's loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, as ``os.process_cpu_count`` of
    Python 3.13 counts them; a container's CPU quota is not seen: set SPIRIT_WEB_WORKERS)."""
    process_cpu_count = getattr(os, "process_cpu_count", None)
    if process_cpu_count is not None:  # Python 3.13+
        return int(process_cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def default_workers(settings: Settings) -> int:
    """serve's processes without --workers: SPIRIT_WEB_WORKERS, else one in development (the
    demo's embedded servers, a laptop), else one per CPU this process may run on."""
    if settings.web_workers is not None:
        return settings.web_workers
    return 1 if settings.is_development else available_cpus()


def _settings_of(demo: bool) -> Settings:
    if demo:
        os.environ["SPIRIT_ENV"] = Environment.DEVELOPMENT.value
    get_settings.cache_clear()
    return get_settings()


def _metrics_folder(workers: int) -> None:
    """Several processes: a private, empty folder for prometheus_client's multiprocess mode
    (``core.metrics``), which they inherit through the environment and which goes when serve
    ends. One process keeps its metrics in memory: an inherited folder is not used (files
    left there by another run would be summed with ours)."""
    os.environ.pop(MULTIPROC_ENV, None)
    if workers == 1:
        return
    folder = tempfile.mkdtemp(prefix="spirit-tours-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1),
    help="API server processes. Default: SPIRIT_WEB_WORKERS, else 1 with --demo (development), "
    "else the CPUs this process may run on.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Development mode (SPIRIT_ENV=development): generated secrets, the offline payment "
    "gateway, demo data in an empty embedded database. `make run` uses it.",
)
def serve(host: str, port: int, workers: int | None, demo: bool) -> None:
    """Run the API server (migrates; with --demo, seeds an empty embedded database)."""
    from spirit_tours.dev.demo import database_is_empty, format_logins, seed_demo
    from spirit_tours.edge.server import run as run_server
    from spirit_tours.edge.server import server_config

    # Before uvicorn spawns the processes that serve: each reads the variable when it first
    # imports prometheus_client (this parent has imported it already and serves nothing).
    _metrics_folder(workers or default_workers(_settings_of(demo)))
    # The worker processes read their settings from the environment: what serve decides
    # (the mode, the public URL) is passed on there.
    if demo:
        os.environ["SPIRIT_ENV"] = Environment.DEVELOPMENT.value
    get_settings.cache_clear()
    _configure_logging()
    configured = get_settings()
    if "public_url" not in configured.model_fields_set and configured.env != Environment.PRODUCTION:
        os.environ["SPIRIT_PUBLIC_URL"] = local_url(host, port)  # production must say it
        get_settings.cache_clear()
    settings = _secured(get_settings())
    # Ctrl+C, like SIGTERM, is the normal way to stop the server: uvicorn shuts down gracefully,
    # then re-raises the signal, which ends the process through the atexit handlers with 0.
    signal.signal(signal.SIGINT, _exit_normally)
    urls = _servers(settings)
    seed = settings.seed_demo and settings.database_url is None and settings.is_development

    async def prepare(engine: AsyncEngine, session: AsyncSession) -> str | None:
        if seed and await database_is_empty(session):
            return format_logins(await seed_demo(session, settings))
        return None

    printed = asyncio.run(_with_database(settings, urls.database_url, prepare))
    if printed:
        click.echo(printed)
    # Worker processes inherit the servers through the environment; with embedded Redis the
    # server also runs the job workers, so the demo sends its mail with nothing configured.
    if settings.run_workers is None:
        os.environ["SPIRIT_RUN_WORKERS"] = "false" if settings.redis_url else "true"
    os.environ["SPIRIT_DATABASE_URL"] = urls.database_url
    os.environ["SPIRIT_REDIS_URL"] = urls.redis_url
    workers = workers or default_workers(settings)
    served = "GraphQL and GraphiQL" if settings.serves_graphiql else "GraphQL"
    click.echo(
        f"{settings.env} mode, {workers} worker process{'es' if workers > 1 else ''}; {served} "
        f"at {settings.public_url}/graphql"
    )
    config = server_config(
        "spirit_tours.app:create_serving_app",
        settings,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    run_server(config)


@main.command()
@click.option("--concurrency", default=4, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Development mode, sharing `serve --demo`'s secrets.")
def worker(concurrency: int, demo: bool) -> None:
    """Run the job workers: housekeeping, cron jobs, the e-mail feed and e-mail delivery."""
    import uvloop

    from spirit_tours.core.tracing_setup import configure_tracing, flush_tracing
    from spirit_tours.emails.transport import OutboxRefusedError
    from spirit_tours.jobs.worker import JobRunner
    from spirit_tours.worker_metrics import metrics_server

    if demo:
        os.environ["SPIRIT_ENV"] = Environment.DEVELOPMENT.value
        get_settings.cache_clear()
        _configure_logging()
    settings = _secured(get_settings())
    if settings.worker_metrics_port and not settings.metrics_token and not settings.is_development:
        raise click.ClickException(
            "SPIRIT_WORKER_METRICS_PORT needs SPIRIT_METRICS_TOKEN (Prometheus's bearer token)"
        )
    urls = _servers(settings)

    configure_tracing("spirit-tours-worker")  # off unless OTEL_* asks for it

    async def run() -> None:
        await _with_database(settings, urls.database_url, _nothing)
        runner = JobRunner(settings, urls.database_url, urls.redis_url, concurrency=concurrency)
        server = metrics_server(settings)
        serving = asyncio.create_task(server.serve()) if server else None
        try:
            await runner.run()
        finally:
            flush_tracing()
            if server is not None and serving is not None:
                server.should_exit = True
                await serving

    try:
        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(run())  # the loop `serve` runs on: less CPU per socket read and write
    except OutboxRefusedError as error:
        raise click.ClickException(str(error)) from error


@main.command(name="worker-health")
@click.option(
    "--max-age",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds since the worker's last heartbeat beyond which it is not alive.",
)
def worker_health(max_age: float) -> None:
    """Exit 0 when the `worker` of this data folder (SPIRIT_DATA_DIR) beat recently, else 1:
    the worker's liveness probe (a blocked loop or a dead part stops its heartbeat)."""
    from spirit_tours.core.clock import epoch_seconds
    from spirit_tours.jobs.heartbeat import heartbeat_path, stale_reason

    path = heartbeat_path(get_settings().data_dir)
    reason = stale_reason(path, epoch_seconds(), max_age)
    if reason is not None:
        raise click.ClickException(reason)
    click.echo("worker alive")


async def _nothing(engine: AsyncEngine, session: AsyncSession) -> None:
    return None


@main.command(name="migrate")
def migrate_command() -> None:
    """Apply database migrations."""
    settings = _checked(get_settings())
    urls = _servers(settings)

    asyncio.run(_with_database(settings, urls.database_url, _nothing))
    click.echo("database is at the newest revision")


@main.command(name="seed-demo")
@click.option(
    "--history",
    type=click.IntRange(min=0),
    default=None,
    help="Also add this many past quotations with their offers, bookings and payments "
    "(spirit_tours/dev/history); each run adds another history.",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed of the generated history (default: a fixed one, so runs are repeatable).",
)
def seed_demo_command(history: int | None, seed: int | None) -> None:
    """Load the demo data (idempotent) and print the demo logins."""
    from spirit_tours.dev.demo import format_logins, seed_demo
    from spirit_tours.dev.history import DEFAULT_SEED, seed_history

    if seed is not None and history is None:
        raise click.UsageError("--seed goes with --history N.")
    settings = _checked(get_settings())
    urls = _servers(settings)

    async def seed_all(engine: AsyncEngine, session: AsyncSession) -> str:
        printed = format_logins(await seed_demo(session, settings))
        if history is None:
            return printed
        summary = await seed_history(
            session, settings, history, seed=DEFAULT_SEED if seed is None else seed
        )
        return f"{printed}\n{summary.format()}"

    click.echo(asyncio.run(_with_database(settings, urls.database_url, seed_all)))


@main.command(name="refresh-analytics")
def refresh_analytics_command() -> None:
    """Refresh the analytics rollups now (the workers also do it on a schedule)."""
    from spirit_tours.resolvers.analytics.refresh import refresh_rollups

    settings = _checked(get_settings())
    urls = _servers(settings)

    async def refresh(engine: AsyncEngine, session: AsyncSession) -> str:
        done = await refresh_rollups(session)
        return "\n".join(f"refreshed {item.view} in {item.duration_ms} ms" for item in done)

    click.echo(asyncio.run(_with_database(settings, urls.database_url, refresh)))


@main.command(name="create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", "full_name", default=None, help="Full name (default: from the e-mail)")
@click.option("--company", default=None, help="Company; created when missing")
@click.option("--hotel", default=None, help="Hotel of a HOTEL user's company; created when missing")
@click.option("--locale", default="es", type=click.Choice([loc.value for loc in Locale]))
def create_user_command(
    email: str,
    password: str,
    role: str,
    full_name: str | None,
    company: str | None,
    hotel: str | None,
    locale: str,
) -> None:
    """Create a user (and its company and hotel when they do not exist yet)."""
    from spirit_tours.resolvers.accounts import NewUser, create_user

    settings = _checked(get_settings())
    urls = _servers(settings)
    new = NewUser(
        email=email,
        password=password,
        role=Role(role),
        full_name=full_name,
        company=company,
        hotel=hotel,
        locale=Locale(locale),
    )

    async def create(engine: AsyncEngine, session: AsyncSession) -> str:
        user = await create_user(session, new)
        return f"created {user.role} {user.email} ({user.id})"

    try:
        click.echo(asyncio.run(_with_database(settings, urls.database_url, create)))
    except DomainError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error


@main.command(name="export-schema")
@click.option(
    "--guards",
    is_flag=True,
    help="Print instead which fields the privacy rules hide (docs/api/guarded-fields.md)",
)
def export_schema(guards: bool) -> None:
    """Print the GraphQL SDL (what schema.graphql holds)."""
    from spirit_tours.schema.build import guarded_fields_doc, sdl

    click.echo(guarded_fields_doc() if guards else sdl(), nl=False)


@main.command(name="generate-key")
@click.option("--id", "key_id", default="k1", show_default=True, help="The key's id")
def generate_key(key_id: str) -> None:
    """Print a new encryption key entry (id:base64key) for SPIRIT_ENCRYPTION_KEYS."""
    try:
        click.echo(new_key_spec(key_id))
    except KeyConfigurationError as error:
        raise click.BadParameter(str(error), param_hint="--id") from error


@main.command(name="rotate-keys")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
def rotate_keys_command(batch_size: int) -> None:
    """Re-wrap every encrypted value's data key under the active (first) key.

    Put the new key first in SPIRIT_ENCRYPTION_KEYS and keep the old ones after it, on every
    process; run this (idempotent: a rerun resumes); then the old keys can be removed.
    """
    from spirit_tours.persistence.encryption import rotate_keys
    from spirit_tours.persistence.models import Base

    settings = _checked(get_settings())
    keyring = _keyring(settings)
    urls = _servers(settings)

    async def rotate() -> None:
        engine = create_engine(urls.database_url, pool_size=1, keyring=keyring)
        try:
            await migrate(engine)
            report = await rotate_keys(engine, keyring, Base.metadata, batch_size=batch_size)
        finally:
            await engine.dispose()
        for column in report.columns:
            click.echo(
                f"{column.context}: {column.rewrapped} re-wrapped in {column.batches} "
                f"batches, {column.current} already under {report.active_key}"
                + (f", {column.left} rewritten meanwhile under an old key" if column.left else "")
            )
        if report.left:
            raise click.ClickException(
                f"{report.left} values were rewritten under an old key while rotating: a "
                "process still runs without the new key first; reconfigure it and run again"
            )
        others = [key for key in keyring.ids if key != report.active_key]
        click.echo(
            f"every encrypted value is under key {report.active_key}"
            + (f"; {', '.join(others)} can be removed" if others else "")
        )

    try:
        asyncio.run(rotate())
    except EncryptionError as error:
        raise click.ClickException(str(error)) from error


@main.command(name="train-models")
def train_models_command() -> None:
    """Train the hotel ranking and net price models now, in this process, and store them
    (the workers also train on SPIRIT_ML_TRAIN_CRON; ADMIN's trainModels queues it)."""
    from spirit_tours.ml.training import train_models

    settings = _checked(get_settings())
    urls = _servers(settings)

    async def train() -> None:
        engine = create_engine(urls.database_url, pool_size=2, keyring=_keyring(settings))
        try:
            await migrate(engine)
            stored = await train_models(
                create_session_factory(engine), min_currency_rows=settings.ml_min_currency_rows
            )
        finally:
            await engine.dispose()
        for info in stored:
            click.echo(
                f"{info.kind} v{info.version}: {info.training_rows} rows, "
                f"held-out evaluation {json.dumps(info.evaluation, sort_keys=True)}"
            )

    asyncio.run(train())
