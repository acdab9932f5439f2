"""The saq workers of one process: maintenance with its cron schedule, one e-mail worker per
priority, the e-mail feed and an outbox relay — started by ``spirit-tours worker``, and
inside ``spirit-tours serve`` when Redis is embedded (the demo sends mail with nothing set)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any, ClassVar

from saq import CronJob, Worker

from spirit_tours.config import Environment, Settings
from spirit_tours.core.tracing import enabled as tracing_enabled
from spirit_tours.emails.claims import ClaimBook
from spirit_tours.emails.compose import Composer, message_id_domain
from spirit_tours.emails.delivery import DeliveryPolicy
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.smtp_pool import PoolLimits
from spirit_tours.emails.transport import Transport, transport_for
from spirit_tours.emails.triggers import FrontEnd
from spirit_tours.jobs.analytics import analytics_cron
from spirit_tours.jobs.bookings import payment_reminders
from spirit_tours.jobs.email import (
    dispatch_stranded,
    email_queues,
    email_workers,
)
from spirit_tours.jobs.email_crons import birthday_mail, deadline_warnings
from spirit_tours.jobs.email_feed import EmailFeed
from spirit_tours.jobs.heartbeat import Heartbeat, heartbeat_path
from spirit_tours.jobs.maintenance import purge_refresh_tokens
from spirit_tours.jobs.ml import TRAIN_TIMEOUT_SECONDS, train_models
from spirit_tours.jobs.names import MAINTENANCE_QUEUE
from spirit_tours.jobs.payments import execute_due_refunds, expire_payment_holds
from spirit_tours.jobs.queue import JOB_DURATION, JobQueue
from spirit_tours.jobs.quotations import expire_quotations
from spirit_tours.jobs.tracing import traced
from spirit_tours.logs.context import REQUEST_ID, bind_request_id
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.realtime.relay import Relay
from spirit_tours.realtime.tasks import stop_tasks
from spirit_tours.redis_clients import WORKER_DEQUEUE_SECONDS, redis_client

log = logging.getLogger(__name__)


MAINTENANCE_JOBS = [
    CronJob(purge_refresh_tokens, cron="17 * * * *"),
    CronJob(payment_reminders, cron="5 * * * *"),
    CronJob(execute_due_refunds, cron="* * * * *"),
    CronJob(expire_payment_holds, cron="* * * * *"),
    CronJob(dispatch_stranded, cron="* * * * *", timeout=300),
    CronJob(deadline_warnings, cron="*/10 * * * *"),
    CronJob(expire_quotations, cron="35 * * * *"),
    CronJob(birthday_mail, cron="0 9 * * *"),
]


def maintenance_jobs(settings: Settings) -> list[CronJob]:
    """The crons above, the rollups' refresh every ``SPIRIT_ANALYTICS_REFRESH_MINUTES`` and the
    models' training on its configured schedule."""
    training = CronJob(train_models, cron=settings.ml_train_cron, timeout=TRAIN_TIMEOUT_SECONDS)
    return [*MAINTENANCE_JOBS, analytics_cron(settings.analytics_refresh_minutes), training]


def smtp_limits(settings: Settings) -> PoolLimits:
    """The SMTP pool's bounds, from ``SPIRIT_SMTP_…``."""
    return PoolLimits(
        size=settings.smtp_pool_size,
        max_messages=settings.smtp_max_messages_per_connection,
        idle_seconds=settings.smtp_idle_seconds,
    )


class _Worker(Worker):  # type: ignore[misc]  # saq.Worker is untyped here
    """A saq worker that leaves signals alone: the process (uvicorn, or ``run``) owns them
    and stops the workers itself; it times every job it runs (``spirit_job_duration_seconds``)
    and, with tracing on, runs each under its own span (``jobs.tracing``)."""

    SIGNALS: ClassVar[list[signal.Signals]] = []
    GRACE_SECONDS: ClassVar[float] = 10.0
    functions: dict[str, Any]  # saq's, by name

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if tracing_enabled():  # each job under its span, continuing the trace that queued it
            self.functions = {name: traced(fn) for name, fn in self.functions.items()}

    async def _before_process(self, ctx: dict[str, Any]) -> None:
        """The job's log lines (saq's "Processing", ours, its errors) carry the id of the
        request that enqueued it. Each job runs in a task of its own: nothing leaks to the
        next one."""
        request_id = ctx["job"].meta.get(REQUEST_ID)
        if isinstance(request_id, str):
            bind_request_id(request_id)
        await super()._before_process(ctx)

    async def _after_process(self, ctx: dict[str, Any]) -> None:
        job = ctx.get("job")
        if job is not None and job.started:  # saq's milliseconds since the epoch
            JOB_DURATION.labels(self.queue.name).observe(max(0.0, time.time() - job.started / 1000))
        await super()._after_process(ctx)

    async def stop(self) -> None:
        """saq cancels running jobs at once (no grace period set); let them finish first, so
        a message the SMTP server accepted is recorded SENT before the worker goes."""
        running = [c["task"] for c in self.job_task_contexts.values() if not c["task"].done()]
        if running:
            await asyncio.wait(running, timeout=self.GRACE_SECONDS)
        await super().stop()


class JobRunner:
    """Every background worker of one process, sharing one engine and one set of queues."""

    def __init__(
        self,
        settings: Settings,
        database_url: str,
        redis_url: str,
        *,
        transport: Transport | None = None,
        sweep_seconds: int | None = None,
        concurrency: int = 4,
    ) -> None:
        self.settings = settings
        sweep_seconds = sweep_seconds or settings.job_sweep_seconds
        smtp = settings.smtp_url.get_secret_value() if settings.smtp_url else None
        production = settings.env == Environment.PRODUCTION
        # First: a production worker without SMTP refuses before it opens anything.
        self.transport = transport or transport_for(
            smtp, Path(settings.data_dir), allow_outbox=not production, limits=smtp_limits(settings)
        )
        self.engine = create_engine(
            database_url, pool_size=concurrency + 16, keyring=settings.keyring()
        )
        self.sessions = create_session_factory(self.engine)
        self.claims = ClaimBook(self.engine)
        # Commands give up after the read timeout; the workers block on BLMOVE for less.
        self.redis = redis_client(redis_url, settings)
        self.maintenance = JobQueue(self.redis, name=MAINTENANCE_QUEUE)
        self.email_queues = email_queues(redis_url, client=self.redis)
        sender = settings.email_sender
        domain = message_id_domain(sender)
        signer = LinkSigner(
            settings.email_secret.get_secret_value().encode(), settings.public_url.rstrip("/")
        )
        if smtp is None and not settings.is_development and transport is None:
            log.warning("SPIRIT_SMTP_URL is not set: e-mail goes to %s/outbox", settings.data_dir)
        self._shared: dict[str, Any] = {
            "sessions": self.sessions,
            "claims": self.claims,
            "settings": settings,
            "payments": PaymentProviders.from_settings(settings),
            "email_queues": self.email_queues,
            "composer": Composer(sender, signer),
            "delivery": DeliveryPolicy(retry_delay_seconds=settings.email_retry_delay_seconds),
            "transport": self.transport,
            "message_id_domain": domain,
            "front_end": FrontEnd(settings.front_end_url),
        }
        crons = maintenance_jobs(settings)
        self.workers = [
            _Worker(
                self.maintenance,
                functions=[job.function for job in crons],
                cron_jobs=crons,
                concurrency=concurrency,
                startup=self._startup,
                timers={"sweep": sweep_seconds},
                dequeue_timeout=WORKER_DEQUEUE_SECONDS,
            ),
            *email_workers(
                self.email_queues,
                self._startup,
                None,
                sweep_seconds=sweep_seconds,
                kind=_Worker,
                dequeue_timeout=WORKER_DEQUEUE_SECONDS,
            ),
        ]
        self.feed = EmailFeed(
            self.sessions,
            self.email_queues,
            FrontEnd(settings.front_end_url),
            domain,
            send_timeout_seconds=settings.email_send_timeout_seconds,
        )
        self.relay = Relay(self.sessions, self.redis)
        self._tasks: list[asyncio.Task[None]] = []

    def job_context(self) -> dict[str, Any]:
        """What every job of this process finds in its ``ctx`` (besides saq's own keys)."""
        return dict(self._shared)

    async def _startup(self, ctx: dict[str, Any]) -> None:
        ctx.update(self._shared)

    async def start(self) -> None:
        for queue in {self.maintenance, *self.email_queues.values()}:
            await queue.connect()
        self._tasks = [asyncio.create_task(worker.start()) for worker in self.workers]
        self.feed.start()
        self.relay.start()
        log.info("job workers started: maintenance and e-mail (%s)", type(self.transport).__name__)

    def alive(self) -> bool:
        """Every part started and none has ended: each one's loop survives the errors it
        expects, so one that ended has died and only a restart brings it back."""
        return (
            bool(self._tasks)
            and not any(task.done() for task in self._tasks)
            and self.feed.running
            and self.relay.running
        )

    async def run(self) -> None:
        """Run until SIGINT or SIGTERM (the ``worker`` command), then stop gracefully;
        meanwhile beat for ``spirit-tours worker-health`` (jobs/heartbeat.py)."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        heartbeat = Heartbeat(heartbeat_path(self.settings.data_dir), self.alive)
        await self.start()
        heartbeat.start()
        try:
            await stopping.wait()
        finally:
            await heartbeat.stop()
            await self.stop()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Take no new jobs, let running ones finish (a message the SMTP server accepted is
        marked SENT before we go), then stop."""
        await self.feed.stop()
        await self.relay.stop()
        for worker in self.workers:
            worker.event.set()  # no new jobs; each worker's stop lets running ones finish
        results = await asyncio.gather(
            *(asyncio.wait_for(worker.stop(), grace_seconds + 5) for worker in self.workers),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("worker stop: %s", result)
        await stop_tasks(self._tasks)
        self._tasks = []
        try:
            await self.transport.close()
        except Exception as error:
            log.debug("transport close: %s", error)
        for queue in {self.maintenance, *self.email_queues.values()}:
            try:
                await queue.disconnect()
            except Exception as error:
                log.debug("queue disconnect: %s", error)
        await self.engine.dispose()
