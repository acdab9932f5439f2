"""Secure defaults (issue 12, finding 3; finding 9's port): production unless the demo asks for
development; no secret is a constant of the repository, even in development; weak secrets are
refused; the offline gateway cannot be forged; links follow `serve --port`; the compose stack
trusts only its proxy for client addresses."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import stat
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy import select

from spirit_tours.app import create_app
from spirit_tours.auth.tokens import TokenService
from spirit_tours.cli import local_url
from spirit_tours.config import Environment, InsecureSettingsError, Settings
from spirit_tours.core.enums import PaymentStatus, Role
from spirit_tours.devsecrets import FILE_NAME
from spirit_tours.payments.offline.gateway import OfflineGateway
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.payments import Payment
from tests.booking_flows import booked
from tests.cli import SCRIPT, Completed, clean_env, run_cli
from tests.conftest import TEST_ENCRYPTION_KEYS, LiveServer, UserFactory, serving
from tests.graphql_client import GraphQLClient
from tests.payment_flows import PAYMENT, start_payment
from tests.quotation_flows import make_world

ROOT = Path(__file__).resolve().parent.parent
# The development constants earlier versions shipped: public, so anyone could sign with them.
PUBLISHED_JWT_SECRET = "spirit-tours-development-secret-change-me"
PUBLISHED_OFFLINE_SECRET = "spirit-tours-offline-payments-dev"
STRONG = "k3Xq9-" + uuid.uuid4().hex  # 38 characters
KEYS = SecretStr(TEST_ENCRYPTION_KEYS)
AUDIT = "{ auditLog(first: 5) { edges { node { action } } } }"


@pytest.fixture
def no_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SPIRIT_* variable and no .env file: what a fresh clone or container starts with."""
    for name in [name for name in os.environ if name.startswith("SPIRIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("no_configuration")
def test_with_nothing_configured_it_is_production_and_refuses_to_start() -> None:
    settings = Settings()

    assert settings.env == Environment.PRODUCTION
    with pytest.raises(InsecureSettingsError) as refused:
        create_app(settings)
    problems = " | ".join(refused.value.problems)
    for name in ("SPIRIT_JWT_SECRET", "SPIRIT_EMAIL_SECRET", "SPIRIT_PUBLIC_URL",
                 "SPIRIT_ENCRYPTION_KEYS"):  # fmt: skip
        assert name in problems
    assert "OFFLINE" not in problems  # the offline gateway does not exist in production
    ready = Settings(
        jwt_secret=SecretStr(STRONG), email_secret=SecretStr(STRONG[::-1]),
        encryption_keys=KEYS, public_url="https://api.spirit-tours.example",
    ).secured()  # fmt: skip
    assert ready.env == Environment.PRODUCTION


@pytest.mark.usefixtures("no_configuration")
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("jwt_secret", "x"),
        ("jwt_secret", "x" * 40),
        ("jwt_secret", "short-but-not-that-short-123"),
        ("jwt_secret", PUBLISHED_JWT_SECRET),
        ("email_secret", "spirit-tours-email-links-dev"),
        ("email_secret", "0123456789"),
        ("metrics_token", "prometheus"),
        ("stripe_webhook_secret", "whsec_abc"),
        ("mercadopago_webhook_secret", "secret"),
    ],
)
def test_weak_or_published_secrets_are_refused_outside_development(field: str, value: str) -> None:
    strong: dict[str, Any] = {
        "jwt_secret": SecretStr(STRONG), "email_secret": SecretStr(STRONG[::-1]),
        "encryption_keys": KEYS, "public_url": "https://api.spirit-tours.example",
    }  # fmt: skip
    for env in (Environment.PRODUCTION, Environment.TEST):
        settings = Settings(env=env, **{**strong, field: SecretStr(value)})
        with pytest.raises(InsecureSettingsError) as refused:
            settings.secured()
        assert len(refused.value.problems) == 1, refused.value.problems
        assert f"SPIRIT_{field.upper()}" in refused.value.problems[0]


@pytest.mark.usefixtures("no_configuration")
@pytest.mark.parametrize(
    "proxies", ["*", "0.0.0.0/0", "::/0", "172.30.250.10, 0.0.0.0/0", "0.0.0.0/1", "1.0.0.0/8"]
)
def test_production_refuses_to_trust_every_proxy(proxies: str) -> None:
    """uvicorn reads networks too: 0.0.0.0/0 (or any wide public network) means ``*``."""
    settings = Settings(
        jwt_secret=SecretStr(STRONG), email_secret=SecretStr(STRONG[::-1]), encryption_keys=KEYS,
        public_url="https://api.spirit-tours.example", forwarded_allow_ips=proxies,
    )  # fmt: skip
    with pytest.raises(InsecureSettingsError, match="SPIRIT_FORWARDED_ALLOW_IPS"):
        settings.secured()
    for allowed in ("172.30.250.10", "10.0.0.0/8, fd00::/8", "203.0.113.0/28", "127.0.0.1"):
        settings.model_copy(update={"forwarded_allow_ips": allowed}).secured()


@pytest.mark.usefixtures("no_configuration")
@pytest.mark.parametrize(
    ("url", "refused_in"),
    [
        ("javascript:alert(1)", {"production", "test", "development"}),
        ("https://", {"production", "test", "development"}),
        ("ftp://files.spirit-tours.example", {"production", "test", "development"}),
        ("http://user:password@api.spirit-tours.example", {"production", "test", "development"}),
        ("http://api.spirit-tours.example", {"production"}),
        ("http://localhost:8080", set()),  # the compose stack's default: this machine
        ("http://[::1]:8000", set()),
        ("https://api.spirit-tours.example", set()),
    ],
)
def test_the_public_url_is_an_http_url_and_https_in_production(
    url: str, refused_in: set[str], tmp_path: Path
) -> None:
    """It goes into e-mail links and payment redirects."""
    for env in Environment:
        settings = Settings(
            env=env, jwt_secret=SecretStr(STRONG), email_secret=SecretStr(STRONG[::-1]),
            encryption_keys=KEYS, public_url=url, data_dir=tmp_path / "data",
        )  # fmt: skip
        if env.value in refused_in:
            with pytest.raises(InsecureSettingsError, match="SPIRIT_PUBLIC_URL"):
                settings.secured()
        else:
            settings.secured()


@pytest.mark.slow  # runs the console script
async def test_every_command_refuses_what_serve_refuses(tmp_path: Path) -> None:
    """Not only ``serve``: a command that loads the settings refuses a weak metrics token, a
    proxy list that trusts everyone or a bad public URL (it may leave unset the secrets only a
    server uses), before starting anything."""
    data_dir = tmp_path / "data"
    commands = [
        ("migrate",),
        ("seed-demo",),
        ("rotate-keys",),
        ("create-user", "--email", "a@b.example", "--password", STRONG, "--role", "ADMIN"),
    ]
    bad = [
        {"SPIRIT_METRICS_TOKEN": "short"},
        {"SPIRIT_FORWARDED_ALLOW_IPS": "0.0.0.0/0"},
        {"SPIRIT_PUBLIC_URL": "javascript:alert(1)"},
    ]
    cases = [(args, setting) for args in commands for setting in bad]

    async def run(args: tuple[str, ...], setting: dict[str, str]) -> Completed:
        env = clean_env(SPIRIT_DATA_DIR=str(data_dir),
                        SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS, **setting)  # fmt: skip
        return await run_cli(*args, env=env)

    # The twelve processes side by side: each spends its time importing, then refuses.
    results = await asyncio.gather(*(run(args, setting) for args, setting in cases))
    for (args, setting), refused in zip(cases, results, strict=True):
        assert refused.code == 1, (args, setting, refused.stdout)
        assert next(iter(setting)) in refused.stderr, refused.stderr
    assert not (data_dir / "postgres").exists()  # refused before starting anything


@pytest.mark.usefixtures("no_configuration")
def test_development_never_uses_a_published_secret(tmp_path: Path) -> None:
    with pytest.raises(InsecureSettingsError, match="SPIRIT_JWT_SECRET"):
        Settings(env=Environment.DEVELOPMENT, jwt_secret=SecretStr(PUBLISHED_JWT_SECRET)).secured()
    settings = Settings(env=Environment.DEVELOPMENT, data_dir=tmp_path / "data").secured()
    again = Settings(env=Environment.DEVELOPMENT, data_dir=tmp_path / "data").secured()

    stored = tmp_path / "data" / FILE_NAME
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    values = json.loads(stored.read_text())
    for name in ("jwt_secret", "email_secret", "offline_payments_secret"):
        secret = getattr(settings, name).get_secret_value()
        assert secret == values[name] == getattr(again, name).get_secret_value()
        assert len(secret) >= 32
    assert len(set(values.values())) == 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow  # runs the console script
async def test_serve_without_configuration_refuses_and_says_how_to_run_the_demo(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = clean_env(SPIRIT_DATA_DIR=str(data_dir))
    refused = await run_cli("serve", "--port", str(_free_port()), env=env)

    assert refused.code == 1, refused.stdout
    for expected in ("production", "SPIRIT_JWT_SECRET", "SPIRIT_PUBLIC_URL", "--demo"):
        assert expected in refused.stderr
    assert not (data_dir / "postgres").exists()  # refused before starting anything


def test_make_run_docker_and_compose_ask_for_what_they_mean() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:.*\n\t\$\(BIN\)/spirit-tours serve --demo", makefile, re.MULTILINE)
    assert "SPIRIT_ENV=production" in (ROOT / "Dockerfile").read_text()

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["x-app"]["environment"]
    trusted = environment["SPIRIT_FORWARDED_ALLOW_IPS"]
    proxy_address = compose["services"]["proxy"]["networks"]["backend"]["ipv4_address"]
    assert trusted == proxy_address  # only the proxy's address, never "*"
    for name in ("api", "worker"):
        assert compose["services"][name]["networks"] == ["backend"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "$proxy_add_x_forwarded_for" not in nginx  # a client-sent header is not extended


@pytest.fixture(scope="module")
async def development_run(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[LiveServer, Path]]:
    """A development server configured like `make run`: no secret given, no provider."""
    data_dir = tmp_path_factory.mktemp("dev-data")
    dev = Settings(
        _env_file=None,
        env=Environment.DEVELOPMENT,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        data_dir=data_dir,
        seed_demo=False,
    )
    async with serving(dev) as server:
        yield server, data_dir


def _stored_secret(data_dir: Path, name: str) -> str:
    value: str = json.loads((data_dir / FILE_NAME).read_text())[name]
    return value


async def test_a_token_forged_with_the_published_secret_fails_on_a_development_run(
    development_run: tuple[LiveServer, Path], make_user: UserFactory
) -> None:
    server, data_dir = development_run
    agency = await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    as_admin = Viewer(agency.id, Role.ADMIN, agency.company_id)  # the forger's claim
    forged = TokenService(PUBLISHED_JWT_SECRET, 900).issue(as_admin).token
    genuine_key = TokenService(_stored_secret(data_dir, "jwt_secret"), 900).issue(as_admin).token

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        gql = GraphQLClient(http)
        refused = await gql.execute(AUDIT, token=forged)
        # The same claims signed with the run's own generated key do pass: only the key differs.
        accepted = await gql.execute(AUDIT, token=genuine_key)

    assert refused.codes == ["UNAUTHENTICATED"]
    assert refused.errors[0]["extensions"]["reason"] == "INVALID_TOKEN"
    assert refused.data is None
    assert accepted.ok()["auditLog"]["edges"] is not None


async def test_a_forged_offline_webhook_does_not_credit_a_booking(
    development_run: tuple[LiveServer, Path],
    make_user: UserFactory,
    sessions: SessionFactory,
    http: httpx.AsyncClient,
) -> None:
    server, _ = development_run
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as dev_http:
        gql = GraphQLClient(dev_http)
        world = await make_world(gql, make_user)
        booking_id = await booked(gql, world, owner=world.client)
        started = (await start_payment(gql, world.client.token, booking_id)).ok()["startPayment"]
        payment_id = uuid.UUID(started["payment"]["id"])
        assert "/payments/offline/" in started["nextAction"]["redirectUrl"]

        forger = OfflineGateway(PUBLISHED_OFFLINE_SECRET, server.url)
        body = forger.event_body(
            payment_id, approved=True, amount=Decimal("360.00"), currency="USD"
        )
        refused = await dev_http.post("/webhooks/offline", content=body, headers=forger.sign(body))
        seen = (await gql.execute(PAYMENT, {"id": str(payment_id)}, token=world.admin.token)).ok()

    assert refused.status_code == 401
    assert seen["payment"]["status"] == "REQUIRES_ACTION"
    assert seen["payment"]["booking"]["status"] == "PENDING_PAYMENT"
    # And outside development the gateway does not exist at all: the same webhook is a 404.
    elsewhere = await http.post("/webhooks/offline", content=body, headers=forger.sign(body))
    assert elsewhere.status_code == 404
    async with sessions() as session:
        status = await session.scalar(select(Payment.status).where(Payment.id == payment_id))
    assert status == PaymentStatus.REQUIRES_ACTION


async def test_metrics_are_open_on_loopback_in_development_only(
    development_run: tuple[LiveServer, Path], http: httpx.AsyncClient
) -> None:
    server, _ = development_run
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as dev_http:
        assert (await dev_http.get("/metrics")).status_code == 200
    assert (await http.get("/metrics")).status_code == 401  # the test (production-like) server


def test_local_url_follows_host_and_port() -> None:
    assert local_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert local_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"  # noqa: S104
    assert local_url("::", 9000) == "http://[::1]:9000"
    assert local_url("localhost", 80) == "http://localhost:80"


@pytest.mark.slow  # runs the console script
async def test_links_follow_the_port_serve_listens_on(
    database_url: str, redis_url: str, make_user: UserFactory, tmp_path: Path
) -> None:
    port = _free_port()
    env = clean_env(
        SPIRIT_DATABASE_URL=database_url, SPIRIT_REDIS_URL=redis_url,
        SPIRIT_DATA_DIR=str(tmp_path / "data"),
    )  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        SCRIPT, "serve", "--demo", "--port", str(port), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for _ in range(600):
                assert process.returncode is None, "serve exited early"
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            gql = GraphQLClient(http)
            world = await make_world(gql, make_user)
            booking_id = await booked(gql, world, owner=world.client)
            started = await start_payment(gql, world.client.token, booking_id)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    redirect = started.ok()["startPayment"]["nextAction"]["redirectUrl"]
    assert redirect.startswith(f"http://127.0.0.1:{port}/payments/offline/"), output.decode()
    assert f"GraphiQL at http://127.0.0.1:{port}/graphql" in output.decode()
