"""Secrets and personal data are encrypted at rest (issue 12, finding 6): after real flows, raw
SQL over every table shows none of them; the API still shows each to whom it belongs; a
tampered value is an error, never garbage; keys rotate with ``spirit-tours rotate-keys``."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import stat
import uuid
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiosmtpd.smtp import Envelope
from alembic import command
from pydantic import SecretStr
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from spirit_tours.config import Environment, Settings
from spirit_tours.core.enums import EmailStatus, Locale, Role
from spirit_tours.dev import servers as services
from spirit_tours.persistence.database import SessionFactory, create_engine, create_session_factory
from spirit_tours.persistence.emails import EmailMessage
from spirit_tours.persistence.migrate import alembic_config, migrate
from spirit_tours.persistence.models import Base
from spirit_tours.persistence.payments import Payment, WebhookDelivery
from tests.booking_flows import booked
from tests.cli import clean_env, run_cli
from tests.conftest import TEST_ENCRYPTION_KEYS, UserFactory, serving
from tests.email_flows import Inbox, parts, running_jobs, smtp, until
from tests.graphql_client import GraphQLClient
from tests.payment_flows import start_payment, stripe_api, stripe_event, stripe_signature
from tests.quotation_flows import make_world

__all__ = ["smtp"]

CLIENT_SECRET = "pi_3Spirit0001_secret_abc"  # what the recorded Stripe answers
REQUEST_RESET = "mutation($e: String!) { requestPasswordReset(email: $e) }"
RESET = """
mutation($t: String!, $p: String!) { resetPassword(input: {token: $t, newPassword: $p}) }"""
WEBHOOKS = """
query($id: ID!) { payment(id: $id) { nextAction { clientSecret } webhooks { headers body } } }"""
NEXT_ACTION = "query($id: ID!) { payment(id: $id) { nextAction { kind clientSecret } } }"


async def raw_database(engine: AsyncEngine) -> bytes:
    """Every value of every table as PostgreSQL stores it, with no model in between."""
    chunks: list[bytes] = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in await connection.execute(text(f'SELECT * FROM "{table.name}"')):  # noqa: S608
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(json.dumps(value, default=str).encode())
                        chunks.append(str(value).encode())
    return b"\x00".join(chunks)


def assert_absent(raw: bytes, *secrets: str) -> None:
    for secret in secrets:
        assert secret.encode() not in raw, f"{secret!r} is stored in plaintext"


def _our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line of this process but the fake remote server's (aiosmtpd's "mail.log")."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")


def _reset_token(message: MimeMessage) -> tuple[str, str]:
    found = re.search(
        r"https?://[^\s)]+reset-password\?token=[^\s)]+", parts(message)["text/plain"]
    )
    assert found is not None
    return found.group(0), parse_qs(urlsplit(found.group(0)).query)["token"][0]


async def test_a_password_reset_link_is_never_stored_usable(
    smtp: tuple[Inbox, int],
    settings: Settings,
    engine: AsyncEngine,
    sessions: SessionFactory,
    gql: GraphQLClient,
    make_user: UserFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, port = smtp
    await make_user("ana@example.com", Role.CLIENT, locale=Locale.EN)
    caplog.set_level(logging.DEBUG)
    assert (await gql.execute(REQUEST_RESET, {"e": "ana@example.com"})).ok()
    async with sessions() as session:
        (queued,) = (await session.scalars(select(EmailMessage))).all()
    waiting_url = str(queued.context["reset_url"])  # the worker can read it while it waits...
    assert "token=" in waiting_url
    assert_absent(await raw_database(engine), waiting_url, waiting_url.partition("token=")[2])

    async with running_jobs(settings, port):
        await until(lambda: inbox.to("ana@example.com"), 20, "the reset mail")
        async with sessions() as session:
            for _ in range(200):  # the SENT row is committed right after the SMTP answer
                row = await session.get_one(EmailMessage, queued.id, populate_existing=True)
                if row.status == EmailStatus.SENT:
                    break
                await asyncio.sleep(0.05)
    url, token = _reset_token(inbox.to("ana@example.com")[0])
    assert url == waiting_url
    assert row.status == EmailStatus.SENT
    assert row.context["reset_url"] == "(link removed after delivery)"  # ...not once it went
    assert row.context["name"]  # the rest of the row stays
    assert_absent(await raw_database(engine), url, token)
    assert token not in _our_logs(caplog)
    # The mailbox has the only usable copy, and it works.
    assert (await gql.execute(RESET, {"t": token, "p": "a brand new secret"})).ok()


async def test_a_dead_reset_mail_keeps_no_link_and_logs_none(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    engine: AsyncEngine,
    gql: GraphQLClient,
    make_user: UserFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, port = smtp
    await make_user("ana@example.com", Role.CLIENT)
    caplog.set_level(logging.DEBUG)
    assert (await gql.execute(REQUEST_RESET, {"e": "ana@example.com"})).ok()
    async with sessions() as session:
        (queued,) = (await session.scalars(select(EmailMessage))).all()
    url = str(queued.context["reset_url"])

    async def quoting_refusal(server: object, session: object, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        if b"reset-password" not in envelope.content.replace(b"=\r\n", b""):
            return "250 OK"  # the welcome mail
        return f"550 5.7.1 Refused, it links to {url}"  # a server that quotes the content

    inbox.handle_DATA = quoting_refusal  # type: ignore[method-assign]  # dead at once
    async with running_jobs(settings, port), sessions() as session:
        for _ in range(400):
            row = await session.get_one(EmailMessage, queued.id, populate_existing=True)
            if row.status == EmailStatus.FAILED:
                break
            await asyncio.sleep(0.05)
    assert row.status == EmailStatus.FAILED
    assert row.context["reset_url"] == "(link removed after delivery)"
    assert row.last_error is not None
    assert "Refused, it links to [secret]" in row.last_error
    assert_absent(await raw_database(engine), url, url.partition("token=")[2])
    ours = _our_logs(caplog)
    assert "dead-lettered" in ours
    assert url.partition("token=")[2] not in ours


async def test_stripe_secrets_and_webhooks_are_sealed_but_shown_to_whom_they_belong(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
    engine: AsyncEngine,
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        started = await start_payment(gql, world.agency.token, booking_id)
    payment_id = started.ok()["startPayment"]["payment"]["id"]
    marker = f"Distinctive webhook body {uuid.uuid4().hex}"
    body = stripe_event("payment_intent.succeeded", payment_id, amount=36000, description=marker)
    headers = stripe_signature(body)
    delivered = await http.post("/webhooks/stripe", content=body, headers=headers)
    assert delivered.json()["outcome"] == "APPLIED"

    raw = await raw_database(engine)
    assert_absent(raw, CLIENT_SECRET, marker, headers["Stripe-Signature"])

    payer = await gql.execute(NEXT_ACTION, {"id": payment_id}, token=world.agency.token)
    assert payer.ok()["payment"]["nextAction"] == {"kind": "CLIENT_SECRET",
                                                   "clientSecret": CLIENT_SECRET}  # fmt: skip
    admin = (await gql.execute(WEBHOOKS, {"id": payment_id}, token=world.admin.token)).ok()
    (webhook,) = admin["payment"]["webhooks"]
    assert marker in webhook["body"]
    assert webhook["headers"]["stripe-signature"] == headers["Stripe-Signature"]
    hotel = await gql.execute(NEXT_ACTION, {"id": payment_id}, token=world.hotels[0].token)
    assert hotel.codes == ["NOT_FOUND"]


async def test_a_payer_document_leaves_no_trace_not_even_a_guessable_digest(
    gql: GraphQLClient, make_user: UserFactory, engine: AsyncEngine
) -> None:
    import copy

    import responses

    from tests.test_payment_webhooks import MP_API, _recorded

    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world, currency="BRL")
    document = "19119119100"
    pix = _recorded("mercadopago", "payment_pix_pending")
    with responses.RequestsMock() as mp:
        created = copy.deepcopy(pix) | {"transaction_amount": 360, "currency_id": "BRL"}
        mp.add(responses.POST, f"{MP_API}/v1/payments", json=created, status=201)
        started = await start_payment(gql, world.agency.token, booking_id, method="PIX",
                                      payerDocument=document, country="BR")  # fmt: skip
    payload = started.ok()["startPayment"]
    raw = await raw_database(engine)
    assert_absent(raw, document, payload["nextAction"]["qrCode"])
    # The request fingerprint hashed the document with fields stored beside it: a billion
    # guesses would give the document back. Stored sealed, it is no digest at all.
    async with engine.connect() as connection:
        stored = await connection.scalar(text("SELECT request_hash FROM payments"))
    assert isinstance(stored, bytes)
    assert not re.search(rb"[0-9a-f]{64}", stored)


async def test_tampered_or_moved_ciphertext_is_an_error_never_garbage(
    gql: GraphQLClient, make_user: UserFactory, engine: AsyncEngine, sessions: SessionFactory
) -> None:
    from spirit_tours.core.crypto import DecryptionError

    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        started = await start_payment(gql, world.agency.token, booking_id)
    payment_id = started.ok()["startPayment"]["payment"]["id"]
    async with engine.begin() as connection:  # flip one bit of the sealed next action
        await connection.execute(text(
            "UPDATE payments SET next_action = overlay(next_action PLACING "
            "set_byte(substring(next_action FROM length(next_action) FOR 1), 0, "
            "get_byte(next_action, length(next_action) - 1) # 1) "
            "FROM length(next_action) FOR 1)"))  # fmt: skip
    with pytest.raises(DecryptionError, match=r"payments\.next_action.*does not authenticate"):
        async with sessions() as session:
            await session.get(Payment, uuid.UUID(payment_id))
    refused = await gql.execute(NEXT_ACTION, {"id": payment_id}, token=world.agency.token)
    assert refused.codes == ["INTERNAL_SERVER_ERROR"]
    assert refused.data is None or refused.data.get("payment") is None

    async with engine.begin() as connection:  # a value valid elsewhere, in another column
        await connection.execute(text("UPDATE payments SET next_action = attempts"))
    with pytest.raises(DecryptionError, match=r"payments\.next_action"):
        async with sessions() as session:
            await session.get(Payment, uuid.UUID(payment_id))


async def _everything(sessions: SessionFactory) -> dict[str, Any]:
    async with sessions() as session:
        payments = (await session.scalars(select(Payment).order_by(Payment.id))).all()
        webhooks = (await session.scalars(select(WebhookDelivery))).all()
        mails = (await session.scalars(select(EmailMessage))).all()
    return {
        "payments": [(p.next_action, p.attempts, p.request_hash) for p in payments],
        "webhooks": [(w.headers, w.body) for w in webhooks],
        "mails": [m.context for m in mails],
    }


def _cli_env(settings: Settings, keys: str, data_dir: Path) -> dict[str, str]:
    assert settings.database_url
    assert settings.redis_url
    return clean_env(
        SPIRIT_ENV="test",
        SPIRIT_DATABASE_URL=settings.database_url,
        SPIRIT_REDIS_URL=settings.redis_url,
        SPIRIT_ENCRYPTION_KEYS=keys,
        SPIRIT_DATA_DIR=str(data_dir),
    )


@pytest.mark.slow  # runs the console script
async def test_rotate_keys_moves_every_value_to_the_new_key(
    settings: Settings,
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
    tmp_path: Path,
) -> None:
    from spirit_tours.core.crypto import Keyring, UnknownKeyError, new_key_spec

    # Rows under key A (the running server's).
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        started = await start_payment(gql, world.agency.token, booking_id)
    payment_id = started.ok()["startPayment"]["payment"]["id"]
    body = stripe_event("payment_intent.processing", payment_id, amount=36000)
    assert (await http.post("/webhooks/stripe", content=body,
                            headers=stripe_signature(body))).status_code == 200  # fmt: skip
    assert (await gql.execute(REQUEST_RESET, {"e": "emma@example.com"})).ok()
    assert settings.database_url
    a_only = create_engine(settings.database_url, pool_size=1, keyring=settings.keyring())
    before = await _everything(create_session_factory(a_only))
    assert all(before.values())

    key_b = new_key_spec("rot-b")
    both = _cli_env(settings, f"{key_b},{TEST_ENCRYPTION_KEYS}", tmp_path)
    rotated = await run_cli("rotate-keys", "--batch-size", "2", env=both)
    assert rotated.code == 0, rotated.stderr
    assert "payments.next_action: 1 re-wrapped" in rotated.stdout
    # The reset's message, and those the server's mail feed queued meanwhile for the events
    # of this test's bookings (how many depends on how far the feed got): each one re-wrapped.
    mails = re.search(r"email_messages\.context: (\d+) re-wrapped", rotated.stdout)
    assert mails is not None, rotated.stdout
    async with create_session_factory(a_only)() as session:
        stored = len((await session.scalars(select(EmailMessage.id))).all())
    assert 1 <= int(mails.group(1)) <= stored
    assert "webhook_deliveries.body: 1 re-wrapped" in rotated.stdout
    assert "every encrypted value is under key rot-b; test1 can be removed" in rotated.stdout
    again = await run_cli("rotate-keys", env=both)
    assert again.code == 0, again.stderr
    assert "payments.next_action: 0 re-wrapped in 0 batches, 1 already under rot-b" in again.stdout

    b_only = create_engine(settings.database_url, pool_size=1, keyring=Keyring.parse(key_b))
    try:
        assert await _everything(create_session_factory(b_only)) == before
        with pytest.raises(UnknownKeyError, match="key 'rot-b', which is not configured"):
            await _everything(create_session_factory(a_only))
    finally:
        await b_only.dispose()
        await a_only.dispose()
    # A server with only the new key serves the payer's secret.
    only_b = settings.model_copy(update={"encryption_keys": SecretStr(key_b)})
    async with serving(only_b) as b, httpx.AsyncClient(base_url=b.url) as client:
        seen = await GraphQLClient(client).execute(
            NEXT_ACTION, {"id": payment_id}, token=world.agency.token
        )
    assert seen.ok()["payment"]["nextAction"]["clientSecret"] == CLIENT_SECRET
    # Only the old key: a clear refusal, naming the missing key.
    old = await run_cli("rotate-keys", env=_cli_env(settings, TEST_ENCRYPTION_KEYS, tmp_path))
    assert old.code == 1
    assert "encrypted with key 'rot-b', which is not configured" in old.stderr


# The revision 0010 follows: rows written there are what 0010 finds to encrypt.
BEFORE_0010 = "0009"


def _insert_plaintext(connection: Connection) -> None:
    connection.execute(text("SET session_replication_role = replica"))  # no parents needed
    connection.execute(text(
        "INSERT INTO email_messages (id, template, locale, recipient, priority, context, status,"
        " message_id, created_at, scheduled_at, attempts, requeues, links, open_count,"
        " click_count) VALUES (:id, 'password_reset', 'en', 'ana@example.com', 'HIGH',"
        " CAST(:context AS jsonb), :status, '<m@x>', now(), now(), 1, 0, '[]', 0, 0)"),
        [{"id": uuid.uuid4(), "status": status,
          "context": json.dumps({"name": "Ana", "minutes": 30,
                                 "reset_url": f"https://app.example/reset-password?token={tok}"})}
         for status, tok in (("SENT", "SENT-TOKEN-1"), ("QUEUED", "QUEUED-TOKEN-2"))],
    )  # fmt: skip
    connection.execute(text(
        "INSERT INTO payments (id, booking_id, payer_user_id, idempotency_key, request_hash,"
        " method, amount, currency, return_url, status, next_action, refunded_amount, attempts,"
        " updated_at, credited_amount, hold_until) VALUES (:id, :id, :id, 'key-12345678',"
        " :digest, 'CARD', 10, 'USD', 'https://x.example', 'REQUIRES_ACTION',"
        " CAST(:action AS jsonb), 0, '[{\"provider\": \"STRIPE\", \"outcome\": \"ACCEPTED\"}]',"
        " now(), 0, now() + interval '30 minutes')"),
        {"id": uuid.uuid4(), "digest": "ab" * 32,
         "action": json.dumps({"kind": "CLIENT_SECRET", "client_secret": "pi_old_secret_xyz"})},
    )  # fmt: skip
    connection.execute(text(
        "INSERT INTO webhook_deliveries (provider, received_at, signature_valid, headers, body,"
        " outcome) VALUES ('STRIPE', now(), true, CAST(:headers AS jsonb), :body, 'APPLIED')"),
        {"headers": json.dumps({"stripe-signature": "t=1,v1=old-signature"}),
         "body": '{"marker": "old-webhook-body"}'},
    )  # fmt: skip
    connection.execute(text("SET session_replication_role = DEFAULT"))


@pytest.mark.slow  # a database of its own, migrated
async def test_migration_0010_encrypts_the_rows_it_finds_and_needs_a_key_for_them() -> None:
    from spirit_tours.core.crypto import EncryptionError, Keyring, new_key_spec

    plaintext = ("SENT-TOKEN-1", "QUEUED-TOKEN-2", "pi_old_secret_xyz", "ab" * 32,
                 "old-signature", "old-webhook-body", "ACCEPTED")  # fmt: skip
    url = await services.create_database("spirit_encrypt_migration")
    keyring = Keyring.parse(new_key_spec("mig"))
    keyless = create_engine(url, pool_size=1)
    engine = create_engine(url, pool_size=1, keyring=keyring)
    try:
        async with keyless.begin() as connection:
            await connection.run_sync(lambda c: command.upgrade(alembic_config(c), BEFORE_0010))
            await connection.run_sync(_insert_plaintext)
        with pytest.raises(EncryptionError, match="no encryption keys"):
            await migrate(keyless)  # rows to encrypt and no key: refused, nothing changed
        assert b"pi_old_secret_xyz" in await raw_database_at(keyless, "payments")

        await migrate(engine)
        tables = ("email_messages", "payments", "webhook_deliveries")
        raw = b"".join([await raw_database_at(engine, name) for name in tables])
        assert_absent(raw, *plaintext)
        everything = await _everything(create_session_factory(engine))
        assert everything["payments"] == [(
            {"kind": "CLIENT_SECRET", "client_secret": "pi_old_secret_xyz"},
            [{"provider": "STRIPE", "outcome": "ACCEPTED"}], "ab" * 32)]  # fmt: skip
        assert everything["webhooks"] == [
            ({"stripe-signature": "t=1,v1=old-signature"}, '{"marker": "old-webhook-body"}')
        ]
        urls = sorted(str(context["reset_url"]) for context in everything["mails"])
        assert urls == ["(link removed after delivery)",  # the sent one's link is wiped
                        "https://app.example/reset-password?token=QUEUED-TOKEN-2"]  # fmt: skip

        async with engine.begin() as connection:  # and back: the downgrade decrypts
            await connection.run_sync(lambda c: command.downgrade(alembic_config(c), BEFORE_0010))
        assert b"pi_old_secret_xyz" in await raw_database_at(engine, "payments")
    finally:
        await keyless.dispose()
        await engine.dispose()
        await services.drop_database(url)


async def raw_database_at(engine: AsyncEngine, table: str) -> bytes:
    async with engine.connect() as connection:
        rows = (await connection.execute(text(f'SELECT * FROM "{table}"'))).all()  # noqa: S608
    return b"\x00".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
        for row in rows
        for v in row
    )


async def test_outbox_files_are_private_and_production_refuses_the_outbox(
    tmp_path: Path, settings: Settings
) -> None:
    from spirit_tours.emails.transport import OutboxRefusedError, OutboxTransport, transport_for
    from spirit_tours.jobs.worker import JobRunner

    message = MimeMessage()
    message["Message-ID"] = "<reset-1@spirit-tours.example>"
    message.set_content("https://app.example/reset-password?token=secret")
    old_umask = os.umask(0o022)
    try:
        await OutboxTransport(tmp_path / "outbox").send(message)
    finally:
        os.umask(old_umask)
    (written,) = (tmp_path / "outbox").iterdir()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "outbox").stat().st_mode) == 0o700

    with pytest.raises(OutboxRefusedError, match="SPIRIT_SMTP_URL must be set in production"):
        transport_for(None, tmp_path, allow_outbox=False)
    production = settings.model_copy(update={"env": Environment.PRODUCTION, "smtp_url": None,
                                             "data_dir": tmp_path})  # fmt: skip
    assert production.database_url
    assert production.redis_url
    with pytest.raises(OutboxRefusedError):
        JobRunner(production, production.database_url, production.redis_url)


def test_keys_are_required_outside_development_and_checked(tmp_path: Path) -> None:
    from spirit_tours.core.crypto import KeyConfigurationError, Keyring

    production = Settings(
        env=Environment.PRODUCTION,
        data_dir=tmp_path,
        jwt_secret=SecretStr("x" * 40),
        email_secret=SecretStr("y" * 40),
    )
    with pytest.raises(RuntimeError, match="SPIRIT_ENCRYPTION_KEYS must be set"):
        production.check_secrets()
    with pytest.raises(KeyConfigurationError, match="SPIRIT_ENCRYPTION_KEYS must be set"):
        production.keyring()
    for bad, reason in (
        ("k1:QUJD", "'k1' has 3 bytes; it needs 32"),
        ("nokey", "write it as id:base64key"),
        ("k1:%%%", "'k1' is not base64"),
    ):
        configured = production.model_copy(update={"encryption_keys": SecretStr(bad)})
        with pytest.raises(RuntimeError, match=reason) as refused:
            configured.check_secrets()
        assert (bad.partition(":")[2] or bad) not in str(refused.value)  # never the key itself
    # Development: a key of the data folder's own, created once, owner-only.
    development = Settings(env=Environment.DEVELOPMENT, data_dir=tmp_path)
    first = development.keyring()
    assert development.keyring() == first
    key_file = tmp_path / "encryption.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Keyring.parse(key_file.read_text()) == first
    assert Settings(env=Environment.DEVELOPMENT, data_dir=tmp_path / "other").keyring() != first
