"""E-mail benchmark: how many messages one worker process renders and delivers per hour.

Two questions, each answered next to a baseline measured in the same run on the same machine:

Render. ``Composer.compose`` turns a stored row into the MIME message that goes out: the MJML
template compiled in the recipient's locale (mjml-python), tracked links, the unsubscribe
headers of marketing mail, and for ``booking_confirmed`` a PDF voucher (fpdf2). It runs here, in
this process, on in-memory rows (no database) with a realistic mix: mostly ``newsletter``, some
``booking_confirmed``, ``payment_received`` and ``hotel_invitation``, in all three locales. The
baseline builds a ``email.message.EmailMessage`` of the same shape from a prebuilt HTML string
and its prebuilt text with the standard library's ``set_content``: no MJML, no translation, no
tracking. Compose assembles its messages more cheaply than that (``emails.mime``), so a second
row, the render floor, assembles the same prebuilt parts the way compose does: compose is shown
against the baseline (the issue's yardstick) and, in a note, against that floor.

Delivery. One real ``spirit-tours worker`` process (maintenance, one saq worker per priority
lane, the e-mail feed, the relay: all it runs in production) drains thousands of BULK
newsletter rows queued in PostgreSQL and saq to an SMTP sink: aiosmtpd in a process of its own
(not on the worker's event loop; on a small machine they still share cores) that counts
messages and answers 250. The clock runs from
the worker's start until every row is SENT (start-up included); the steady-state rate is the
messages sent between 10 % and 90 % done divided by that time (and the steady CPU per message
the worker's CPU time over that stretch). At 10 % one ``password_reset``
(HIGH) is queued as a producer queues it; its latency (``sent_at - created_at``) shows whether a
draining bulk delays urgent mail. The baseline sends the same number of pre-rendered messages
from one process with bare aiosmtplib (``aiosmtplib.send``: one connection per message, as
``SmtpTransport`` did before it kept a pool of open connections) to the same sink, four at a
time and with the BULK lane's concurrency: the faster of the two is the SMTP ceiling without
queue, database or render that the worker is compared with.

Our goal is 100,000 e-mails/hour across a cluster; the table says how one process compares.
The scratch database is dropped at the end; the Redis database (``SPIRIT_BENCH_REDIS_URL``,
default db 14 on the local server) is flushed before and after the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from asyncio.subprocess import Process
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import aiosmtplib
import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session
from redis.asyncio import Redis
from sqlalchemy import func, insert, select

from benchmarks.keys import KEYRING
from benchmarks.live_processes import stop
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EmailStatus
from spirit_tours.dev import servers as devservers
from spirit_tours.emails.catalog import LOCALES
from spirit_tours.emails.compose import Composer, message_id_domain
from spirit_tours.emails.context import encode_context
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.mime import assemble
from spirit_tours.emails.queueing import Priority, Queued, enqueue_messages, queue_email
from spirit_tours.emails.render import render_html, template_info
from spirit_tours.emails.text import html_to_text
from spirit_tours.jobs.email import CONCURRENCY, email_queues
from spirit_tours.persistence.database import SessionFactory, create_engine, create_session_factory
from spirit_tours.persistence.emails import EmailMessage
from spirit_tours.persistence.migrate import migrate

REDIS_URL = os.environ.get("SPIRIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SENDER = "Spirit Tours <no-reply@spirit-tours.example>"
DOMAIN = message_id_domain(SENDER)
EMAIL_SECRET = "benchmark-email-secret-" + "x" * 16
SIGNER = LinkSigner(EMAIL_SECRET.encode(), "https://api.spirit-tours.example")
GOAL_EMAILS_PER_HOUR = 100_000  # the project's goal, across a cluster
# Out of every 20 messages composed: 17 newsletters, one of each transactional template.
MIX: tuple[tuple[str, int], ...] = (
    ("newsletter", 17),
    ("booking_confirmed", 1),
    ("payment_received", 1),
    ("hotel_invitation", 1),
)
CONTEXT: dict[str, object] = {
    "name": "Ana Pérez",
    "hotel_name": "Qorikancha Suites",
    "reference": "BK-2026-0042",
    "destination": "Cusco and the Sacred Valley",
    "start_date": date(2026, 3, 1),
    "end_date": date(2026, 3, 8),
    "deadline": date(2026, 2, 20),
    "paid_on": date(2026, 2, 10),
    "travellers": 4,
    "total": (Decimal("4630.00"), "USD"),
    "amount": (Decimal("1500.00"), "USD"),
    "headline": "Machu Picchu in spring",
    "body": "Five new itineraries through the Sacred Valley, with a night in Aguas Calientes.",
    "article_url": "https://spirit-tours.example/news/machu-picchu-in-spring",
    "booking_url": "https://app.spirit-tours.example/bookings/BK-2026-0042",
    "offer_url": "https://app.spirit-tours.example/offers/42",
}
ARTICLE_URL = "https://spirit-tours.example/news/machu-picchu-in-spring"
POLL_SECONDS = 0.1
STALL_SECONDS = 120.0  # no new SENT row for this long: give up
STOP_SECONDS = 10.0  # SIGINT, then SIGKILL
BASELINE_CONCURRENCY = 4  # besides the BULK lane's: connections opened per message cost more


# --- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    case: str
    messages: int
    seconds: float

    @property
    def per_hour(self) -> float:
        return self.messages * 3600 / self.seconds if self.seconds > 0 else math.nan


def _table(rows: Sequence[tuple[Row, Row | None]]) -> str:
    width = max(len(row.case) for row, _ in rows)
    lines = [
        f"{'case':<{width}}  {'messages':>8}  {'seconds':>8}  {'messages/hour':>13}  vs baseline"
    ]
    for row, baseline in rows:
        ratio = f"{row.per_hour / baseline.per_hour:.2f}x" if baseline else "1.00x (baseline)"
        if not math.isfinite(row.per_hour):
            ratio = "n/a"
        lines.append(
            f"{row.case:<{width}}  {row.messages:>8}  {row.seconds:>8.2f}  "
            f"{row.per_hour:>13,.0f}  {ratio}"
        )
    return "\n".join(lines)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- render -------------------------------------------------------------------------------


def _message_row(template: str, locale: str, index: int) -> EmailMessage:
    """A stored message as the worker reads it, without a database."""
    info = template_info(template)
    context = {key: CONTEXT[key] for key in info.required if key in CONTEXT}
    message_id = uuid.uuid4()
    return EmailMessage(
        id=message_id,
        template=template,
        locale=locale,
        recipient=f"reader{index}@example.com",
        priority=info.priority,
        context=encode_context(context),
        status=EmailStatus.QUEUED,
        message_id=make_msgid(idstring=message_id.hex[:12], domain=DOMAIN),
        attempts=0,
    )


def _mix(count: int) -> list[EmailMessage]:
    pattern = [template for template, weight in MIX for _ in range(weight)]
    return [
        _message_row(pattern[index % len(pattern)], LOCALES[index % len(LOCALES)], index)
        for index in range(count)
    ]


@dataclass
class RenderFigures:
    total: Row
    templates: list[Row]
    newsletters: list[MimeMessage] = field(repr=False)


def render_case(count: int) -> RenderFigures:
    composer = Composer(SENDER, SIGNER)
    for template, _ in MIX:  # untimed: templates, catalogs and fpdf2 load on first use
        for locale in LOCALES:
            composer.compose(_message_row(template, locale, 0))
    rows = _mix(count)
    spent: dict[str, float] = {template: 0.0 for template, _ in MIX}
    done: dict[str, int] = {template: 0 for template, _ in MIX}
    newsletters: list[MimeMessage] = []
    started = time.perf_counter()
    for row in rows:
        before = time.perf_counter()
        message, _ = composer.compose(row)
        spent[row.template] += time.perf_counter() - before
        done[row.template] += 1
        if row.template == "newsletter":
            newsletters.append(message)
    seconds = time.perf_counter() - started
    return RenderFigures(
        total=Row("render: Composer.compose, the whole mix", count, seconds),
        templates=[
            Row(
                f"render:   {template}" + (" (+ PDF)" if template == "booking_confirmed" else ""),
                done[template],
                spent[template],
            )
            for template, _ in MIX
        ],
        newsletters=newsletters,
    )


def mime_baseline(count: int) -> Row:
    """A message of the newsletter's shape from prebuilt parts, ``count`` times."""
    context = {**CONTEXT, "unsubscribe_url": SIGNER.unsubscribe_url(uuid.uuid4())}
    html = render_html("newsletter", "en", context)
    plain = html_to_text(html)

    def build(index: int) -> MimeMessage:
        message = MimeMessage()
        message["Subject"] = "Machu Picchu in spring"
        message["From"] = SENDER
        message["To"] = f"reader{index}@example.com"
        message["Date"] = format_datetime(now_utc())
        message["Message-ID"] = make_msgid(domain=DOMAIN)
        message["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(plain, subtype="plain", charset="utf-8")
        message.add_alternative(html, subtype="html", charset="utf-8")
        message["Content-Language"] = "en"
        return message

    return Row("render baseline: EmailMessage from prebuilt HTML", count, _timed(build, count))


def _timed(build: Callable[[int], object], count: int) -> float:
    """Seconds for ``count`` builds, after 20 untimed ones."""
    for index in range(20):
        build(index)
    started = time.perf_counter()
    for index in range(count):
        build(index)
    return time.perf_counter() - started


def mime_floor(count: int) -> Row:
    """The same message from the same prebuilt parts, assembled as ``Composer`` assembles it
    (``emails.mime``: raw folded headers, C-encoded bodies) rather than with ``set_content``:
    the floor under compose once MJML, translation and tracking cost nothing."""
    context = {**CONTEXT, "unsubscribe_url": SIGNER.unsubscribe_url(uuid.uuid4())}
    html = render_html("newsletter", "en", context)
    plain = html_to_text(html)

    def build(index: int) -> MimeMessage:
        return assemble(
            subject="Machu Picchu in spring",
            sender=SENDER,
            to=f"reader{index}@example.com",
            date=format_datetime(now_utc()),
            message_id=make_msgid(domain=DOMAIN),
            unsubscribe_url=str(context["unsubscribe_url"]),
            language="en",
            text=plain,
            html=html,
        )

    return Row("render floor: our MIME assembly from prebuilt parts", count, _timed(build, count))


# --- the SMTP sink (a process of its own) -------------------------------------------------


class _Counter:
    """aiosmtpd handler: count the message, accept it."""

    def __init__(self, received: Synchronized[int]) -> None:
        self.received = received

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.received.get_lock():
            self.received.value += 1
        return "250 OK"


async def _sink(port: int, received: Synchronized[int]) -> None:
    handler = _Counter(received)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.spirit-tours.example", ident="benchmark sink"),
        "127.0.0.1",
        port,
        backlog=1024,
    )
    async with server:
        await server.serve_forever()


def _serve_sink(port: int, received: Synchronized[int]) -> None:
    uvloop.run(_sink(port, received))


@dataclass
class Sink:
    process: BaseProcess
    port: int
    received: Synchronized[int]

    @property
    def count(self) -> int:
        with self.received.get_lock():
            value: int = self.received.value
            return value

    def cpu(self) -> float:
        assert self.process.pid is not None
        return cpu_seconds(self.process.pid)


def start_sink(context: SpawnContext) -> Sink:
    port = _free_port()
    received: Synchronized[int] = context.Value("q", 0)
    process = context.Process(target=_serve_sink, args=(port, received), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return Sink(process, port, received)
        if not process.is_alive():
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the SMTP sink did not start")


# --- delivery baseline: aiosmtplib straight to the sink -----------------------------------


async def smtp_baseline(
    port: int, messages: Sequence[MimeMessage], count: int, concurrency: int
) -> Row:
    """``count`` sends of pre-rendered messages, ``concurrency`` at a time."""
    indices = iter(range(count))

    async def sender() -> None:
        for index in indices:
            await aiosmtplib.send(
                messages[index % len(messages)],
                hostname="127.0.0.1",
                port=port,
                use_tls=False,
                start_tls=None,
                timeout=30,
            )

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return Row(
        f"deliver baseline: aiosmtplib, a connection per message, {concurrency} at a time",
        count,
        seconds,
    )


# --- delivery through one worker process --------------------------------------------------


@dataclass
class DeliveryFigures:
    total: Row
    steady: Row
    high_seconds: float
    bulk_sent_before_high: int
    worker_cpu_seconds: float
    steady_cpu_seconds: float  # the worker's, from 10 % to 90 % SENT
    sink_cpu_seconds: float
    sink_received: int
    failed: int
    stopped: str  # how the worker ended


async def _queue_bulk(sessions: SessionFactory, queues: Any, count: int) -> None:
    async with sessions() as session, session.begin():
        # Through the model, as tests/test_email_delivery.py does: each context is sealed.
        run = uuid.uuid4().hex[:8]
        rows = await session.execute(
            insert(EmailMessage).returning(EmailMessage.id, EmailMessage.scheduled_at),
            [
                {"id": uuid.uuid4(), "template": "newsletter", "locale": ("es", "en", "pt")[n % 3],
                 "recipient": f"reader{n}@example.com", "priority": "BULK",
                 "context": {"name": f"Reader {n}", "headline": "Machu Picchu in spring",
                             "body": "Five new itineraries through the Sacred Valley.",
                             "article_url": ARTICLE_URL},
                 "status": EmailStatus.QUEUED,
                 "message_id": f"<bulk{n}.{run}@spirit-tours.example>"}
                for n in range(1, count + 1)
            ],
        )  # fmt: skip
        bulk = [Queued(row.id, Priority.BULK.value, row.scheduled_at) for row in rows]
    added = await enqueue_messages(queues, bulk)
    if added != count:
        raise RuntimeError(f"saq took {added} of {count} BULK jobs")


async def _queue_high(sessions: SessionFactory, queues: Any) -> uuid.UUID:
    """One password reset, queued as a producer queues it: row, commit, then saq."""
    context = {
        "name": "Ana",
        "minutes": 30,
        "reset_url": "https://app.spirit-tours.example/reset?token=benchmark",
    }
    async with sessions() as session, session.begin():
        queued = await queue_email(
            session,
            template="password_reset",
            to="ana@example.com",
            locale="es",
            context=context,
            message_id_domain=DOMAIN,
        )
    assert queued is not None
    await enqueue_messages(queues, [queued])
    return queued.id


async def _count(sessions: SessionFactory, status: EmailStatus) -> int:
    async with sessions() as session:
        counted = await session.scalar(
            select(func.count())
            .select_from(EmailMessage)
            .where(EmailMessage.priority == Priority.BULK.value, EmailMessage.status == status)
        )
    return counted or 0


def _worker_command(concurrency: int) -> list[str]:
    return [
        str(Path(sys.executable).with_name("spirit-tours")),
        "worker",
        f"--concurrency={concurrency}",
    ]


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def stop_worker(worker: Process) -> str:
    """SIGINT (what Ctrl-C sends), then SIGKILL if it is still running after STOP_SECONDS."""
    if worker.returncode is not None:
        return f"had already exited with {worker.returncode}"
    worker.send_signal(signal.SIGINT)
    started = time.perf_counter()
    try:
        await asyncio.wait_for(worker.wait(), STOP_SECONDS)
    except TimeoutError:
        worker.kill()
        await worker.wait()
        return f"still ran {STOP_SECONDS:.0f} s after SIGINT: SIGKILLed"
    return f"exited {time.perf_counter() - started:.1f} s after SIGINT with {worker.returncode}"


async def delivery_case(
    database_url: str, sink: Sink, count: int, worker_concurrency: int, log: Path
) -> DeliveryFigures:
    engine = create_engine(database_url, pool_size=2, keyring=KEYRING)
    sessions = create_session_factory(engine)
    queues = email_queues(REDIS_URL)
    env = {
        **os.environ,
        "SPIRIT_DATABASE_URL": database_url,
        "SPIRIT_REDIS_URL": REDIS_URL,
        "SPIRIT_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
        "SPIRIT_ENV": "test",  # outside development every secret must be set (and strong)
        "SPIRIT_JWT_SECRET": "benchmark-secret-" + "x" * 32,
        "SPIRIT_EMAIL_SECRET": EMAIL_SECRET,
    }
    worker: Process | None = None
    try:
        await _queue_bulk(sessions, queues, count)
        sink_before, sink_cpu_before = sink.count, sink.cpu()
        with log.open("wb") as output:
            started = time.perf_counter()
            worker = await asyncio.create_subprocess_exec(
                *_worker_command(worker_concurrency), env=env, stdout=output, stderr=output
            )
        marks: dict[int, tuple[float, int, float]] = {}  # 10 / 90 → (seconds, SENT, CPU then)
        high: uuid.UUID | None = None
        sent = failed = 0
        progress_at = time.perf_counter()
        while sent + failed < count:
            await asyncio.sleep(POLL_SECONDS)
            if worker.returncode is not None or worker.pid is None:
                raise RuntimeError(f"the worker exited with {worker.returncode}:\n{_tail(log)}")
            now = time.perf_counter()
            current = await _count(sessions, EmailStatus.SENT)
            failed = await _count(sessions, EmailStatus.FAILED)
            if current != sent:
                progress_at = now
            elif now - progress_at > STALL_SECONDS:
                raise RuntimeError(f"no message sent for {STALL_SECONDS:.0f} s:\n{_tail(log)}")
            sent = current
            for percent in (10, 90):
                if percent not in marks and sent >= count * percent / 100:
                    marks[percent] = (now, sent, cpu_seconds(worker.pid))
            if high is None and 10 in marks:
                high = await _queue_high(sessions, queues)
        seconds = time.perf_counter() - started
        assert worker.pid is not None
        worker_cpu = cpu_seconds(worker.pid)
        assert high is not None
        async with sessions() as session:
            row = await session.get(EmailMessage, high)
            for _ in range(300):  # it normally went long before the bulk finished
                if row is not None and row.sent_at is not None:
                    break
                await asyncio.sleep(POLL_SECONDS)
                session.expire_all()
                row = await session.get(EmailMessage, high)
            if row is None or row.sent_at is None:
                raise RuntimeError("the HIGH message was not sent")
            high_seconds = (row.sent_at - row.created_at).total_seconds()
            before_high = await session.scalar(
                select(func.count())
                .select_from(EmailMessage)
                .where(
                    EmailMessage.priority == Priority.BULK.value,
                    EmailMessage.sent_at <= row.sent_at,
                )
            )
        (start10, sent10, cpu10), (end90, sent90, cpu90) = marks[10], marks[90]
        stopped = await stop_worker(worker)
        return DeliveryFigures(
            total=Row("deliver: worker, start → all SENT", sent, seconds),
            steady=Row(
                "deliver: worker, steady 10 % → 90 %",
                sent90 - sent10,
                end90 - start10,
            ),
            high_seconds=high_seconds,
            bulk_sent_before_high=before_high or 0,
            worker_cpu_seconds=worker_cpu,
            steady_cpu_seconds=cpu90 - cpu10,
            sink_cpu_seconds=sink.cpu() - sink_cpu_before,
            sink_received=sink.count - sink_before,
            failed=failed,
            stopped=stopped,
        )
    finally:
        if worker is not None:
            await stop_worker(worker)
        for queue in queues.values():
            with contextlib.suppress(Exception):
                await queue.disconnect()
        await engine.dispose()


# --- the run ------------------------------------------------------------------------------


async def _prepare_database() -> str:
    url = await devservers.create_database("spirit_bench")
    engine = create_engine(url, pool_size=2, keyring=KEYRING)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    return url


async def _flush_redis() -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def _floor_note(composed: Row, floor: Row) -> str:
    return (
        f"compose runs at {composed.per_hour / floor.per_hour:.2f}x the render floor (the same "
        "assembly from prebuilt parts): the rest is MJML filling, Babel, tracking and the PDF"
    )


def render_only(renders: int) -> None:
    """The render half alone: no database, no worker, no SMTP (seconds instead of minutes)."""
    if renders < 1:
        raise SystemExit("renders must be positive")
    print(f"E-mail render benchmark: {os.cpu_count()} cores; compose {renders} messages")
    render_baseline = mime_baseline(renders)
    floor = mime_floor(renders)
    rendered = render_case(renders)
    print(_table([
        (render_baseline, None),
        (floor, render_baseline),
        (rendered.total, render_baseline),
        *((row, render_baseline) for row in rendered.templates),
    ]))  # fmt: skip
    print(_floor_note(rendered.total, floor))


def main(messages: int = 5000, renders: int = 2000, worker_concurrency: int = 4) -> None:
    if min(messages, renders, worker_concurrency) < 1:
        raise SystemExit("messages, renders and worker concurrency must be positive")
    if messages < 10:
        raise SystemExit("deliver at least 10 messages (the steady state spans 10 % → 90 %)")
    run_started = time.perf_counter()
    load_before = os.getloadavg()[0]
    context = multiprocessing.get_context("spawn")
    bulk_lane = CONCURRENCY[Priority.BULK]
    print(
        f"E-mail benchmark: {os.cpu_count()} cores; render {renders} messages in this process; "
        f"deliver {messages} BULK newsletters through 1 `spirit-tours worker "
        f"--concurrency={worker_concurrency}` process (BULK lane: {bulk_lane} concurrent sends) "
        f"to an aiosmtpd sink in its own process; Redis {REDIS_URL}"
    )
    weights = sum(weight for _, weight in MIX)
    print(
        "Render mix: "
        + ", ".join(f"{weight / weights:.0%} {template}" for template, weight in MIX)
        + f"; locales {'/'.join(LOCALES)} in turn; each template warmed up untimed"
    )
    render_baseline = mime_baseline(renders)
    floor = mime_floor(renders)
    rendered = render_case(renders)
    asyncio.run(_flush_redis())
    database_url = asyncio.run(_prepare_database())
    sink: Sink | None = None
    log = Path(tempfile.mkstemp(prefix="spirit-bench-worker-", suffix=".log")[1])
    try:
        sink = start_sink(context)
        baselines = []
        for concurrency in sorted({BASELINE_CONCURRENCY, bulk_lane}):
            before = sink.count
            baselines.append(
                asyncio.run(smtp_baseline(sink.port, rendered.newsletters, messages, concurrency))
            )
            if sink.count - before != messages:
                print(f"  warning: the sink counted {sink.count - before} of {messages} messages")
        smtp = max(baselines, key=lambda row: row.per_hour)
        delivered = asyncio.run(
            delivery_case(database_url, sink, messages, worker_concurrency, log)
        )
    finally:
        if sink is not None:
            stop(sink.process)
        asyncio.run(devservers.drop_database(database_url))
        asyncio.run(_flush_redis())
    log_lines = len(log.read_text(errors="replace").splitlines())
    log.unlink()

    print(_table([
        (render_baseline, None),
        (floor, render_baseline),
        (rendered.total, render_baseline),
        *((row, render_baseline) for row in rendered.templates),
        *((row, None if row is smtp else smtp) for row in baselines),
        (delivered.total, smtp),
        (delivered.steady, smtp),
    ]))  # fmt: skip
    print(_floor_note(rendered.total, floor))
    wall = delivered.total.seconds
    print(
        f"HIGH password_reset queued once 10 % of the bulk was SENT: SENT "
        f"{delivered.high_seconds:.2f} s after it was queued, after "
        f"{delivered.bulk_sent_before_high} of {messages} BULK messages"
    )
    print(
        f"worker process: {delivered.worker_cpu_seconds:.1f} s CPU in {wall:.1f} s "
        f"({delivered.worker_cpu_seconds / wall:.0%} of one core, "
        f"{delivered.worker_cpu_seconds * 1000 / messages:.1f} ms CPU per message, "
        f"{delivered.steady_cpu_seconds * 1000 / max(delivered.steady.messages, 1):.1f} ms "
        f"from 10 % to 90 %; composing "
        f"alone {rendered.total.seconds * 1000 / rendered.total.messages:.1f} ms in this "
        f"process), {log_lines} log lines at the "
        f"default level; sink: {delivered.sink_received} messages received, "
        f"{delivered.sink_cpu_seconds:.1f} s CPU; {delivered.failed} dead letters; the worker "
        f"{delivered.stopped}"
    )
    steady = delivered.steady
    if not steady.seconds > 0:  # too few messages: 10 % and 90 % fell in one poll
        steady = delivered.total
    rate = steady.per_hour
    needed = math.ceil(GOAL_EMAILS_PER_HOUR / rate)
    print(
        f"Goal: {GOAL_EMAILS_PER_HOUR:,} e-mails/hour across a cluster. One worker "
        f"process delivered {rate:,.0f}/hour ({steady.case}), {rate / GOAL_EMAILS_PER_HOUR:.2f}x "
        "the goal: "
        + ("one such process covers it" if needed == 1 else f"about {needed} such processes")
        + f"; composing alone runs at {rendered.total.per_hour:,.0f}/hour on one core."
    )
    print(
        f"run took {time.perf_counter() - run_started:.0f} s; 1-minute load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after (other work on the machine "
        "skews every figure)"
    )


if __name__ == "__main__":
    main()
