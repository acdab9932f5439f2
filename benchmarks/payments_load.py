"""The payment benchmark's load generator: payers and their provider, in a process of its own.

Each payer calls ``startPayment`` (CARD in the booking's currency: the offline gateway in
development; its deposit, as the amount is left out; an idempotency key of its own), then
this process plays the provider and sends the gateway's signed webhooks to
``/webhooks/offline`` the way providers deliver them: at least once, concurrently, duplicated
and out of order (see :func:`plan`). Requests go over a pool of keep-alive HTTP/1.1
connections spoken by an asyncio ``Protocol`` on uvloop (as ``benchmarks.loadgen``), so the
generator stays cheap next to the server on a two-core machine.

A delivery the server does not answer 200 is retried after a pause, as providers retry; a
``startPayment`` answered SERVICE_UNAVAILABLE is sent again with the same key after its
``retryAfterSeconds``, and one answered "still being processed; retry in a moment" after a
second, as the API asks clients to. A payment counts as credited when the
server answers ``APPLIED`` to its success event.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

import uvloop

from benchmarks.loadgen import _parse
from spirit_tours.payments.offline.webhook import event_body, sign

START = (
    "mutation($input: StartPaymentInput!) { startPayment(input: $input) { "
    "payment { id status amount { amount currency } } nextAction { kind } } }"
)
RETURN_URL = "https://app.spirit-tours.example/bookings/paid"
DELIVERY_ATTEMPTS = 8
START_ATTEMPTS = 200  # a claim left by a request that failed is taken over after 2 minutes
BUSY = "SERVICE_UNAVAILABLE"
IN_PROGRESS = "still being processed; retry in a moment"  # CONFLICT on idempotencyKey
RETRY_SECONDS = 0.25


@dataclass(frozen=True)
class Delivery:
    """One webhook POST: which event (``success`` or the decline), after how long."""

    event: str  # "success" | "decline"
    delay: float


@dataclass(frozen=True)
class Plan:
    scenario: str
    deliveries: tuple[Delivery, ...]
    retry_start: bool  # the client sends startPayment twice at once with the same key


def plan(rng: random.Random) -> Plan:
    """How the provider delivers one payment's events (delays after the payment started):

    - ``paid`` (70 %): the success event delivered 2 or 3 times: at once, a second copy at the
      same moment or within 20 ms (concurrent duplicates), and for half of them a late copy
      100-400 ms later (a provider retry that lost the race with its own acknowledgement).
    - ``declined, then paid`` (20 %): the card is declined (the failure event, twice, close
      together), then a second try of the same payment succeeds 20-100 ms later (its success
      event twice, one copy late): FAILED may still turn SUCCEEDED.
    - ``out of order`` (10 %): the success arrives first (twice); the earlier decline shows up
      50-300 ms late and must not undo it.

    And 5 % of payers send ``startPayment`` twice at once with the same key (a client retry):
    one payment, one provider call.
    """
    roll = rng.random()
    if roll < 0.7:
        second = rng.choice((0.0, rng.uniform(0, 0.02)))
        copies = [Delivery("success", 0.0), Delivery("success", second)]
        if rng.random() < 0.5:
            copies.append(Delivery("success", rng.uniform(0.1, 0.4)))
        scenario, deliveries = "paid", copies
    elif roll < 0.9:
        paid = rng.uniform(0.02, 0.1)
        scenario, deliveries = (
            "declined, then paid",
            [
                Delivery("decline", 0.0),
                Delivery("decline", rng.uniform(0, 0.01)),
                Delivery("success", paid),
                Delivery("success", paid + rng.uniform(0.1, 0.3)),
            ],
        )
    else:
        scenario, deliveries = (
            "out of order",
            [
                Delivery("success", 0.0),
                Delivery("success", rng.uniform(0, 0.02)),
                Delivery("decline", rng.uniform(0.05, 0.3)),
            ],
        )
    return Plan(scenario, tuple(deliveries), rng.random() < 0.05)


@dataclass(frozen=True)
class PayerSpec:
    token: str
    booking_id: str


@dataclass
class LoadResult:
    started: int = 0
    credited: int = 0
    errors: int = 0
    first_error: str = ""
    requests: int = 0
    retries: int = 0  # deliveries retried after a non-200 answer
    start_retries: int = 0  # startPayment sent again after SERVICE_UNAVAILABLE
    first_start: float = 0.0  # perf_counter, this process
    last_credit: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # startPayment → credited
    start_latencies_ms: list[float] = field(default_factory=list)  # startPayment's answer
    credit_times: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # "success APPLIED": n, …
    scenarios: Counter[str] = field(default_factory=Counter)
    payment_ids: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = what[:400]


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def request(self, raw: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        assert self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        parsed = _parse(self.buffer)
        if parsed is None:
            return
        status, body, used = parsed
        del self.buffer[:used]
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the server closed the connection"))


class Pool:
    """``size`` keep-alive connections; a request waits for an idle one."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.idle: asyncio.Queue[_Connection] = asyncio.Queue()
        self.authority = f"{host}:{port}"

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await self._connect())

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Connection, self.host, self.port)
        return protocol

    async def call(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.authority}",
                 f"Content-Length: {len(body)}"]  # fmt: skip
        lines += [f"{name}: {value}" for name, value in headers.items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        connection = await self.idle.get()
        try:
            if connection.closed:
                connection = await self._connect()
            return await connection.request(raw)
        except ConnectionError:
            connection = await self._connect()
            raise
        finally:
            self.idle.put_nowait(connection)

    def close(self) -> None:
        while not self.idle.empty():
            connection = self.idle.get_nowait()
            if connection.transport is not None:
                connection.transport.close()


class Payers:
    """Runs every payer's flow, ``concurrency`` at a time, and gathers the figures."""

    def __init__(self, pool: Pool, secret: bytes, result: LoadResult, seed: int) -> None:
        self.pool = pool
        self.secret = secret
        self.result = result
        self.rng = random.Random(seed)
        self.run = uuid.uuid4().hex[:8]

    async def _start(self, payer: PayerSpec, key: str) -> dict[str, object] | None:
        """``startPayment``, again with the same key after ``retryAfterSeconds`` when the
        server is busy (SERVICE_UNAVAILABLE), as the API asks clients to."""
        variables = {"input": {"bookingId": payer.booking_id, "method": "CARD",
                               "returnUrl": RETURN_URL, "idempotencyKey": key}}  # fmt: skip
        body = json.dumps({"query": START, "variables": variables}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {payer.token}"}
        for _ in range(START_ATTEMPTS):
            self.result.requests += 1
            try:
                status, answer = await self.pool.call("/graphql", headers, body)
            except ConnectionError as error:
                status, answer = 0, str(error).encode()
            data = json.loads(answer) if status else {}
            errors = data.get("errors") or []
            if status == 200 and not errors and data.get("data"):
                started: dict[str, object] = data["data"]["startPayment"]
                return started
            busy = [e for e in errors if e.get("extensions", {}).get("code") == BUSY]
            pending = [e for e in errors if IN_PROGRESS in e.get("message", "")]
            if status not in (0, 503) and not busy and not pending:
                break
            self.result.start_retries += 1
            wait = busy[0]["extensions"].get("retryAfterSeconds", 1) if busy else 1
            await asyncio.sleep(float(wait))
        self.result.fail(f"startPayment: {status} {answer[:300]!r}")
        return None

    async def _deliver(self, body: bytes, delay: float) -> str | None:
        """POST one signed event until it is answered 200; its outcome."""
        await asyncio.sleep(delay)
        for attempt in range(DELIVERY_ATTEMPTS):
            headers = {"Content-Type": "application/json", **sign(self.secret, body)}
            self.result.requests += 1
            try:
                status, answer = await self.pool.call("/webhooks/offline", headers, body)
            except ConnectionError as error:
                status, answer = 0, str(error).encode()
            if status == 200:
                outcome: str = json.loads(answer)["outcome"]
                return outcome
            self.result.retries += 1
            if attempt == DELIVERY_ATTEMPTS - 1:
                self.result.fail(f"webhook: {status} {answer[:300]!r}")
            await asyncio.sleep(RETRY_SECONDS * (attempt + 1))
        return None

    async def pay(self, payer: PayerSpec, index: int) -> None:
        chosen = plan(self.rng)
        self.result.scenarios[chosen.scenario] += 1
        key = f"bench-{self.run}-{index}"
        began = time.perf_counter()
        if not self.result.first_start:
            self.result.first_start = began
        self.result.started += 1
        starts = [self._start(payer, key) for _ in range(2 if chosen.retry_start else 1)]
        answers = await asyncio.gather(*starts)
        self.result.start_latencies_ms.append((time.perf_counter() - began) * 1000)
        if any(answer is None for answer in answers):
            return
        first = cast(dict[str, dict[str, object]], answers[0])
        payment = first["payment"]
        ids = {cast(dict[str, dict[str, object]], answer)["payment"]["id"] for answer in answers}
        if len(ids) != 1 or payment["status"] != "REQUIRES_ACTION":
            self.result.fail(f"startPayment answered {answers!r}")
            return
        payment_id = uuid.UUID(str(payment["id"]))
        self.result.payment_ids.append(str(payment_id))
        money = cast(dict[str, str], payment["amount"])
        amount, currency = Decimal(money["amount"]), money["currency"]
        bodies = {
            "success": event_body(payment_id, approved=True, amount=amount, currency=currency),
            "decline": event_body(payment_id, approved=False, amount=amount, currency=currency),
        }
        credited: list[float] = []

        async def deliver(delivery: Delivery) -> None:
            outcome = await self._deliver(bodies[delivery.event], delivery.delay)
            self.result.outcomes[f"{delivery.event} {outcome}"] += 1
            if delivery.event == "success" and outcome == "APPLIED":
                credited.append(time.perf_counter())

        await asyncio.gather(*(deliver(delivery) for delivery in chosen.deliveries))
        if len(credited) == 1:
            self.result.credited += 1
            self.result.credit_times.append(credited[0])
            self.result.last_credit = max(self.result.last_credit, credited[0])
            self.result.latencies_ms.append((credited[0] - began) * 1000)
        else:
            self.result.fail(f"payment {payment_id}: success applied {len(credited)} times")

    async def run_all(
        self, payers: list[PayerSpec], concurrency: int, seconds: float | None
    ) -> None:
        queue = iter(enumerate(payers))
        deadline = time.perf_counter() + seconds if seconds else None

        async def lane() -> None:
            for index, payer in queue:
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                await self.pay(payer, index)

        await asyncio.gather(*(lane() for _ in range(concurrency)))


async def _run(
    host: str, port: int, payers: list[PayerSpec], secret: str, concurrency: int,
    connections: int, seconds: float | None, seed: int,
) -> LoadResult:  # fmt: skip
    result = LoadResult()
    pool = Pool(host, port, connections)
    await pool.open()
    try:
        await Payers(pool, secret.encode(), result, seed).run_all(payers, concurrency, seconds)
    finally:
        pool.close()
    return result


def run_payers(
    host: str, port: int, payers: list[PayerSpec], secret: str, concurrency: int,
    connections: int, seconds: float | None, seed: int = 16,
) -> LoadResult:  # fmt: skip
    """Entry point for a ProcessPoolExecutor: every payer pays once (or until ``seconds``)."""
    return uvloop.run(_run(host, port, payers, secret, concurrency, connections, seconds, seed))
