"""The command line: create-user and seed-demo against the test database; serve's worker
processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
from pathlib import Path

import argon2
import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from spirit_tours.cli import available_cpus, default_workers
from spirit_tours.config import Environment, Settings
from spirit_tours.core.enums import CompanyKind, Role
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.persistence.accounts import Company, Hotel, User
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.resolvers.accounts import NewUser, create_user
from tests.cli import SCRIPT, clean_env, run_cli
from tests.conftest import TEST_ENCRYPTION_KEYS
from tests.graphql_client import GraphQLClient


def _env(database_url: str, redis_url: str) -> dict[str, str]:
    return clean_env(
        SPIRIT_DATABASE_URL=database_url,
        SPIRIT_REDIS_URL=redis_url,
        SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,  # the demo's payment is sealed with it
    )


@pytest.mark.slow  # runs the console script
async def test_create_user_creates_company_and_hotel_then_can_sign_in(
    database_url: str, redis_url: str, sessions: SessionFactory, gql: GraphQLClient
) -> None:
    env = _env(database_url, redis_url)
    args = ["--password", "secret-pass-1", "--role", "HOTEL", "--company", "Sol Hotels"]

    first = await run_cli(
        "create-user", "--email", "a@sol.example", *args, "--hotel", "Sol Cusco", env=env
    )
    second = await run_cli(
        "create-user", "--email", "b@sol.example", *args, "--hotel", "Sol Lima", env=env
    )

    assert first.code == 0, first.stderr
    assert second.code == 0, second.stderr
    async with sessions() as session:
        companies = (await session.scalars(select(Company))).all()
        hotels = sorted((await session.scalars(select(Hotel.name))).all())
    assert [(c.name, c.kind) for c in companies] == [("Sol Hotels", CompanyKind.HOTEL)]
    assert hotels == ["Sol Cusco", "Sol Lima"]
    assert (await gql.login("b@sol.example", "secret-pass-1"))["user"]["role"] == "HOTEL"


@pytest.mark.slow  # runs the console script
async def test_production_hashes_passwords_with_argon2s_default_parameters(
    database_url: str, redis_url: str, sessions: SessionFactory, gql: GraphQLClient
) -> None:
    """The suite's cheap password profile stays in the test process: the console script (as
    production runs it) stores argon2id with argon2-cffi's defaults, RFC 9106's low-memory
    profile (t=3, m=64 MiB, p=4), and such a hash signs in on the test server too."""
    env = _env(database_url, redis_url)
    args = ["--password", "secret-pass-1", "--role", "CLIENT"]
    created = await run_cli("create-user", "--email", "p@prod.example", *args, env=env)
    assert created.code == 0, created.stderr

    async with sessions() as session:
        stored = await session.scalar(select(User.password_hash))
    assert stored is not None
    assert argon2.extract_parameters(stored) == argon2.profiles.RFC_9106_LOW_MEMORY
    assert (await gql.login("p@prod.example", "secret-pass-1"))["user"]["role"] == "CLIENT"


@pytest.mark.slow  # runs the console script
async def test_create_user_refuses_bad_input_and_changes_nothing(
    database_url: str, redis_url: str, sessions: SessionFactory
) -> None:
    env = _env(database_url, redis_url)
    ok = await run_cli(
        "create-user", "--email", "m@andes.example", "--password", "secret-pass-1",
        "--role", "AGENCY", "--company", "Andes Travel", env=env,
    )  # fmt: skip
    assert ok.code == 0, ok.stderr

    cases = {
        "CONFLICT": ["--email", "M@andes.example", "--role", "AGENCY", "--company", "Andes"],
        "cannot join": ["--email", "h@x.example", "--role", "HOTEL", "--company", "Andes Travel"],
    }
    for expected, args in cases.items():
        result = await run_cli("create-user", "--password", "secret-pass-1", *args, env=env)
        assert result.code == 1, (expected, result.stdout)
        assert expected in result.stderr, result.stderr

    async with sessions() as session:
        assert (await session.scalars(select(User.email))).all() == ["m@andes.example"]
        assert len((await session.scalars(select(Company))).all()) == 1


@pytest.mark.parametrize(
    ("new", "field", "expected"),
    [
        (NewUser("not-an-email", "secret-pass-1", Role.CLIENT), "email", "e-mail address"),
        (NewUser("s@y.example", "short", Role.CLIENT), "password", "at least 8"),
        (NewUser("x@y.example", "secret-pass-1", Role.AGENCY), "company", "needs a company"),
        (
            NewUser("c@y.example", "secret-pass-1", Role.CLIENT, company="Acme"),
            "company",
            "no company",
        ),
        (
            NewUser("g@y.example", "secret-pass-1", Role.GUIDE, hotel="Somewhere"),
            "hotel",
            "Only HOTEL",
        ),
    ],
)
async def test_account_rules_name_the_bad_field(
    sessions: SessionFactory, new: NewUser, field: str, expected: str
) -> None:
    async with sessions() as session:
        with pytest.raises(DomainError) as raised:
            await create_user(session, new)
        await session.rollback()
        assert (await session.scalars(select(User))).all() == []
    assert raised.value.code == ErrorCode.BAD_USER_INPUT
    assert raised.value.field == field
    assert expected in raised.value.message


@pytest.mark.slow  # runs the console script
async def test_seed_demo_is_idempotent_and_prints_logins(
    database_url: str, redis_url: str, sessions: SessionFactory, gql: GraphQLClient
) -> None:
    env = _env(database_url, redis_url)
    first = await run_cli("seed-demo", env=env)
    again = await run_cli("seed-demo", env=env)

    assert first.code == 0, first.stderr
    assert again.code == 0, again.stderr
    assert "admin@spirit-tours.example" in first.stdout
    assert first.stdout == again.stdout
    async with sessions() as session:
        users = (await session.scalars(select(User))).all()
        hotels = (await session.scalars(select(Hotel))).all()
    assert sorted(u.role.value for u in users) == [
        "ADMIN", "AGENCY", "AGENCY", "CLIENT", "GUIDE", "HOTEL", "HOTEL", "HOTEL",
    ]  # fmt: skip
    assert {h.city for h in hotels} == {"Cusco"}
    assert len({h.company_id for h in hotels}) == 3  # three competing hotel companies
    password = first.stdout.split("password for all: ")[1].split(")")[0]
    assert (await gql.login("admin@spirit-tours.example", password))["user"]["role"] == "ADMIN"

    # The demo OPEN quotation: each hotel sees competitors' prices, never their names.
    query = """{ quotations(filter: {statuses: [OPEN]}) {
      totalCount edges { node { competitorPrices myRank
      offers { hotelAlias isMine netPrice { amount } hotel { name } } } } } }"""
    for email, rank in (
        ("reservas@inti-palace.example", 3),
        ("sales@qorikancha-suites.example", 1),
        ("front@andean-lodge.example", 2),
    ):
        token = await gql.token_for(email, password)
        page = (await gql.execute(query, token=token)).ok()["quotations"]
        assert page["totalCount"] == 1
        node = page["edges"][0]["node"]
        assert node["competitorPrices"] == "OPEN"
        assert node["myRank"] == rank
        assert len(node["offers"]) == 3
        assert sum(1 for offer in node["offers"] if offer["hotel"] is not None) == 1

    # The demo booking: confirmed by its deposit, guided in Portuguese, seen by its guide
    # without prices and by the hotel with its net price only.
    bookings = """{ bookings { edges { node { status sellingPrice { amount }
      guide { language guide { fullName } } transport { vehicle { capacity } }
      hotels { hotel { name } netPrice { amount } } } } } }"""
    seen = {}
    for email in ("admin@spirit-tours.example", "pedro.guide@spirit-tours.example",
                  "sales@qorikancha-suites.example", "reservas@inti-palace.example"):  # fmt: skip
        token = await gql.token_for(email, password)
        seen[email] = (await gql.execute(bookings, token=token)).ok()["bookings"]["edges"]
    admin = seen["admin@spirit-tours.example"][0]["node"]
    assert admin["status"] == "CONFIRMED"
    assert admin["guide"] == {"language": "pt", "guide": {"fullName": "Pedro Guía"}}
    assert admin["transport"] == {"vehicle": {"capacity": 12}}
    guide = seen["pedro.guide@spirit-tours.example"][0]["node"]
    assert guide["sellingPrice"] is None
    assert guide["hotels"][0]["netPrice"] is None
    hotel = seen["sales@qorikancha-suites.example"][0]["node"]
    assert hotel["sellingPrice"] is None
    assert hotel["hotels"][0]["netPrice"] == {"amount": "2980.00"}
    assert seen["reservas@inti-palace.example"] == []


# --- serve's worker processes ------------------------------------------------------------------


def test_serve_defaults_to_one_worker_per_cpu_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SPIRIT_WEB_WORKERS", raising=False)
    cpus = len(os.sched_getaffinity(0))
    assert available_cpus() == cpus
    assert default_workers(Settings(env=Environment.PRODUCTION)) == cpus
    assert default_workers(Settings(env=Environment.TEST)) == cpus
    # The demo (serve --demo is development mode) runs one process beside its embedded servers.
    assert default_workers(Settings(env=Environment.DEVELOPMENT)) == 1
    monkeypatch.setenv("SPIRIT_WEB_WORKERS", "3")
    assert default_workers(Settings(env=Environment.PRODUCTION)) == 3
    assert default_workers(Settings(env=Environment.DEVELOPMENT)) == 3
    monkeypatch.setenv("SPIRIT_WEB_WORKERS", "0")
    with pytest.raises(ValidationError):
        Settings()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _running(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()}


def _descendants(pid: int) -> set[int]:
    """The live processes below ``pid`` (uvicorn's workers, multiprocessing's tracker)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.slow  # runs the console script's server, with two worker processes
async def test_serve_with_workers_stops_them_all_on_sigterm(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = _env(database_url, redis_url) | {
        "SPIRIT_JWT_SECRET": secrets.token_urlsafe(48),
        "SPIRIT_EMAIL_SECRET": secrets.token_urlsafe(48),
        "SPIRIT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SPIRIT_DATA_DIR": str(tmp_path),
        "SPIRIT_WEB_WORKERS": "2",
    }
    process = await asyncio.create_subprocess_exec(
        SCRIPT, "serve", "--port", str(port), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(1200):  # the workers import the app: slow on a busy machine
                assert process.returncode is None, "serve exited early"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("serve did not become ready")
        workers = _descendants(process.pid)
        assert len(workers) >= 2, workers  # two servers (and multiprocessing's tracker)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 120)
    text = output.decode()
    assert process.returncode == 0, text
    assert "production mode, 2 worker processes" in text, text
    assert text.count("Finished server process") == 2, text
    for _ in range(100):  # multiprocessing's tracker exits once its pipe closes
        if not _running(workers):
            break
        await asyncio.sleep(0.1)
    assert not _running(workers), text
