"""Operating e-mail: the newsletter to everyone in their language, preferences in GraphQL,
statistics per template, locale and day (also live), the job queues, and saq's monitor
behind ADMIN sign-in."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx

from spirit_tours.config import Settings
from spirit_tours.core.enums import Locale, Role
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import PASSWORD, LiveServer, UserFactory
from tests.email_flows import Inbox, parts, running_jobs, settled, smtp, until
from tests.graphql_client import GraphQLClient
from tests.live_client import live

__all__ = ["smtp"]

NEWSLETTER = """
mutation($input: SendNewsletterInput!) { sendNewsletter(input: $input) { queued suppressed } }"""
PREFERENCES = """
mutation($input: EmailPreferencesInput!) {
  setEmailPreferences(input: $input) { newsletter survey birthday } }"""
STATS = """
query($since: Date) { emailStats(since: $since) {
  day template locale queued sent failed suppressed opened clicked unsubscribed } }"""
QUEUES = """{ jobQueues { name queued active scheduled workers completed failed
  throughputPerMinute } }"""
LETTER = {
    "headline": "Lima <food> week",
    "body": "Ceviche & more.",
    "articleUrl": "https://spirit-tours.example/news/lima",
}


async def _people(make_user: UserFactory) -> None:
    await make_user("ops@spirit.example", Role.ADMIN, locale=Locale.EN)
    await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    await make_user("joao@rio.example", Role.AGENCY, company="Rio Viagens", locale=Locale.PT)


async def test_the_newsletter_reaches_everyone_in_their_language_except_who_opted_out(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
) -> None:
    inbox, port = smtp
    await _people(make_user)
    admin = await gql.token_for("ops@spirit.example", PASSWORD)
    joao = await gql.token_for("joao@rio.example", PASSWORD)
    maria = await gql.token_for("maria@andes.example", PASSWORD)

    off = await gql.execute(PREFERENCES, {"input": {"newsletter": False}}, token=joao)
    assert off.ok()["setEmailPreferences"] == {"newsletter": False, "survey": True,
                                               "birthday": True}  # fmt: skip
    empty = await gql.execute(PREFERENCES, {"input": {}}, token=joao)
    assert empty.codes == ["BAD_USER_INPUT"]
    mine = await gql.execute("{ emailPreferences { newsletter survey } }", token=joao)
    assert mine.ok()["emailPreferences"] == {"newsletter": False, "survey": True}

    # Only ADMIN sends; bad input is refused and queues nothing.
    assert (await gql.execute(NEWSLETTER, {"input": LETTER}, token=maria)).codes == ["FORBIDDEN"]
    for field, value in (("articleUrl", "javascript:alert(1)"), ("headline", " "),
                         ("scheduledAt", "2026-01-01T10:00:00")):  # fmt: skip
        bad = await gql.execute(NEWSLETTER, {"input": {**LETTER, field: value}}, token=admin)
        assert bad.codes == ["BAD_USER_INPUT"], (field, bad.errors)
        assert bad.errors[0]["extensions"]["field"] == field
    async with running_jobs(settings, port) as runner:
        keyed = {**LETTER, "idempotencyKey": "lima-2026-11"}
        sent = await gql.execute(NEWSLETTER, {"input": keyed}, token=admin)
        assert sent.ok()["sendNewsletter"] == {"queued": 2, "suppressed": 1}
        retried = await gql.execute(NEWSLETTER, {"input": keyed}, token=admin)  # a retry
        assert retried.ok()["sendNewsletter"] == {"queued": 0, "suppressed": 0}
        await until(lambda: inbox.to("maria@andes.example") and inbox.to("ops@spirit.example"),
                    20, "the newsletter")  # fmt: skip
        await settled(runner, sessions)
    newsletters = [m for m in inbox.received if "Lima" in m["Subject"] or "Lima" in str(m)]
    assert sorted(m["To"] for m in newsletters) == ["maria@andes.example", "ops@spirit.example"]
    (spanish,) = [m for m in newsletters if m["To"] == "maria@andes.example"]
    assert spanish["Content-Language"] == "es"
    body = parts(spanish)["text/html"]
    assert "Lima &lt;food&gt; week" in body  # the operator's text is escaped too
    assert spanish["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert inbox.to("joao@rio.example") == [m for m in inbox.to("joao@rio.example")
                                            if "Lima" not in str(m)]  # fmt: skip


async def test_statistics_per_template_locale_and_day_also_live(
    smtp: tuple[Inbox, int],
    settings: Settings,
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
) -> None:
    inbox, port = smtp
    await _people(make_user)
    admin = await gql.token_for("ops@spirit.example", PASSWORD)
    maria = await gql.token_for("maria@andes.example", PASSWORD)
    assert (await gql.execute(STATS, token=maria)).codes == ["FORBIDDEN"]
    bad = await gql.execute("{ emailStats(since: \"2026-02-01\", until: \"2026-01-01\") { day } }",
                            token=admin)  # fmt: skip
    assert bad.codes == ["BAD_USER_INPUT"]
    assert bad.errors[0]["extensions"]["field"] == "since"
    # Templates and locales are enums: an unknown one is refused before anything runs.
    unknown = await gql.execute("{ emailStats(templates: [nope]) { day } }", token=admin)
    assert unknown.codes == ["GRAPHQL_VALIDATION_FAILED"]
    by_variable = await gql.execute(
        "query($t: [EmailTemplate!]) { emailStats(templates: $t) { day } }",
        {"t": ["welcome"]},  # the stored name, not the enum's
        token=admin,
    )
    assert by_variable.codes == ["GRAPHQL_VALIDATION_FAILED"]
    today = datetime.now(UTC).date().isoformat()
    async with live(live_server.url, admin) as client:
        await client.subscribe("stats", "subscription { emailStats { template locale sent } }")
        first = (await client.data("stats"))["emailStats"]
        async with live(live_server.url, maria) as outsider:
            await outsider.subscribe("s", "subscription { emailStats { template } }")
            refused = await outsider.next("s")
            assert refused["type"] == "error" or refused["payload"].get("errors"), refused
        async with running_jobs(settings, port):
            # the three welcome mails of _people, sent by the workers
            await until(lambda: len(inbox.received) >= 3, 20, "the welcome mails")
            for _ in range(10):
                update = (await client.data("stats", wait=10))["emailStats"]
                if sum(row["sent"] for row in update if row["template"] == "WELCOME") == 3:
                    break
            else:
                raise AssertionError(f"no live update with 3 welcome mails: {first}")
    stats = (await gql.execute(STATS, {"since": today}, token=admin)).ok()["emailStats"]
    welcome = {row["locale"]: row for row in stats if row["template"] == "WELCOME"}
    assert set(welcome) == {"EN", "ES", "PT"}
    assert welcome["PT"]["day"] == today
    assert (welcome["PT"]["queued"], welcome["PT"]["sent"], welcome["PT"]["failed"]) == (1, 1, 0)
    only = await gql.execute(
        "query($d: Date, $t: [EmailTemplate!], $l: [Locale!]) "
        "{ emailStats(since: $d, templates: $t, locales: $l) { template locale sent } }",
        {"d": today, "t": ["WELCOME"], "l": ["PT"]},
        token=admin,
    )
    assert only.ok()["emailStats"] == [{"template": "WELCOME", "locale": "PT", "sent": 1}]
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    past = await gql.execute(
        "query($d: Date) { emailStats(since: $d, until: $d) { day } }", {"d": yesterday},
        token=admin,
    )  # fmt: skip
    assert past.ok()["emailStats"] == []


async def test_job_queues_and_the_queue_monitor_are_for_admin_only(
    smtp: tuple[Inbox, int],
    settings: Settings,
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
) -> None:
    inbox, port = smtp
    await _people(make_user)
    admin = await gql.token_for("ops@spirit.example", PASSWORD)
    maria = await gql.token_for("maria@andes.example", PASSWORD)
    assert (await gql.execute(QUEUES, token=maria)).codes == ["FORBIDDEN"]
    async with running_jobs(settings, port):
        await until(lambda: len(inbox.received) >= 3, 20, "the welcome mails")
        queues = (await gql.execute(QUEUES, token=admin)).ok()["jobQueues"]
        by_name = {q["name"]: q for q in queues}
        assert set(by_name) == {"maintenance", "email-high", "email-normal", "email-low",
                                "email-bulk"}  # fmt: skip
        assert all(q["workers"] >= 1 for q in queues)
        assert by_name["email-normal"]["queued"] == 0

        def basic(email: str, password: str) -> dict[str, str]:
            token = base64.b64encode(f"{email}:{password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}

        signed_out = await http.get("/ops/queues/api/queues")
        assert signed_out.status_code == 401
        assert signed_out.headers["www-authenticate"].startswith("Basic")
        wrong = await http.get("/ops/queues/api/queues", headers=basic("ops@spirit.example", "x"))
        assert wrong.status_code == 401
        agency = await http.get("/ops/queues/", headers=basic("maria@andes.example", PASSWORD))
        assert agency.status_code == 403
        bearer = await http.get("/ops/queues/api/queues",
                                headers={"Authorization": f"Bearer {maria}"})  # fmt: skip
        assert bearer.status_code == 403
        forged = await http.post(  # what a cross-site form would send with the browser's sign-in
            "/ops/queues/api/queues/email-bulk/jobs/x/abort",
            headers=basic("ops@spirit.example", PASSWORD),
        )
        assert forged.status_code == 403
        page = await http.get("/ops/queues/", headers=basic("ops@spirit.example", PASSWORD))
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        api = await http.get("/ops/queues/api/queues", headers={"Authorization": f"Bearer {admin}"})
        assert api.status_code == 200
        names = {q["name"] for q in api.json()["queues"]}
        assert "email-bulk" in names
