"""Templates compiled once per locale with stand-ins, then filled per message, give exactly what
compiling the filled source gives: the HTML, its plain-text part and its tracked links, for every
template in every locale, with ordinary values and with values built to break the shortcut
(markup, entities, backslashes, line breaks, blanks, accents mrml escapes inside attributes)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import pytest

from spirit_tours.emails.catalog import LOCALES
from spirit_tours.emails.context import Money
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.markers import Filler
from spirit_tours.emails.mjml_compiler import attribute_escape, compile_mjml
from spirit_tours.emails.render import TEMPLATES, render, render_html, stencil
from spirit_tours.emails.text import html_to_text
from spirit_tours.emails.tracking import Tracker, instrument
from tests.permission_cases import clean_state  # noqa: F401 - replaces the suite's fixture

SIGNER = LinkSigner(b"stencil-test-secret-0123456789abcdef", "https://api.spirit.test")
BASE: dict[str, object] = {
    "name": "Ana Pérez",
    "hotel_name": "Hotel Sol",
    "reference": "BK-2026-0042",
    "destination": "Cusco and the Sacred Valley",
    "start_date": date(2026, 3, 1),
    "end_date": datetime(2026, 3, 8, 14, 30),
    "deadline": date(2026, 2, 20),
    "due_date": date(2026, 2, 25),
    "paid_on": date(2026, 2, 10),
    "travellers": 4,
    "minutes": Decimal("30"),
    "total": (Decimal("1234.56"), "USD"),
    "amount": Money(Decimal("500.00"), "EUR"),
    "headline": "Machu Picchu in spring",
    "body": "Five new itineraries through the Sacred Valley.",
    "quotation_url": "https://spirit.test/q/1",
    "booking_url": "https://spirit.test/b/1?tab=pay&x=1",
    "offer_url": "https://spirit.test/offer/1",
    "payment_url": "https://spirit.test/pay/1",
    "reset_url": "https://spirit.test/reset?token=abc&x=1",
    "login_url": "https://spirit.test/login",
    "article_url": "https://spirit.test/news/1",
    "survey_url": "https://spirit.test/survey/1",
    "offers_url": "https://spirit.test/offers",
    "unsubscribe_url": SIGNER.unsubscribe_url(uuid.UUID(int=7)),  # ours: never click-tracked
}
TEXT_KEYS = ("name", "hotel_name", "destination", "headline", "body", "reference")
HOSTILE: dict[str, dict[str, object]] = {
    "plain": {},
    "markup": dict.fromkeys(TEXT_KEYS, "<b>\"Tom\" & 'Jerry'</b> <script>alert(1)</script>"),
    "entities": dict.fromkeys(TEXT_KEYS, "&amp; &#39; &notit; & &lt"),
    "backslashes": dict.fromkeys(TEXT_KEYS, "C:\\tours\\new \\u{41} \\\\"),
    "line breaks": dict.fromkeys(TEXT_KEYS, "  two\tlines\n\nof  text \r\n "),
    "empty": dict.fromkeys(TEXT_KEYS, ""),
    "accents": dict.fromkeys(
        TEXT_KEYS, "Ñandú ação 😀 漢字 e\u0301 a\xa0b c\u202fd \u200d\ufeff\u2028x\u2029 \x85"
    ),
    "look-alikes": dict.fromkeys(TEXT_KEYS, "zqvname\\vqz zqvname\\\\vqz [[ Hi {name} ]] {{ x }}"),
    "urls": {
        key: f"https://spirit.test/ñ/{key}?q=a\\b&r=\xa0"
        for key in BASE
        if key.endswith("_url") and key != "unsubscribe_url"
    },
    "numbers": {"travellers": 1234567, "minutes": Decimal("2.50"), "total": (Decimal("0"), "BRL")},
}
CASES = [
    (template, locale, variant)
    for template in sorted(TEMPLATES)
    for locale in LOCALES
    for variant in HOSTILE
]


def _context(template: str, variant: str) -> dict[str, object]:
    context = BASE | HOSTILE[variant]
    return {key: context[key] for key in TEMPLATES[template].required}


@pytest.mark.parametrize(("template", "locale", "variant"), CASES)
def test_a_filled_stencil_equals_the_compile_of_the_filled_source(
    template: str, locale: str, variant: str
) -> None:
    context = _context(template, variant)
    layout = stencil(template, locale)
    filler = Filler(locale, context, escape=False)
    values = {key: filler.text(key) for key in layout.keys}
    expected = render_html(template, locale, context)

    markup, text = layout.fill(values, None)
    assert markup == expected
    assert text == html_to_text(expected)

    message_id = uuid.uuid4()
    tracker = Tracker(message_id, SIGNER)
    tracked, tracked_text = layout.fill(values, tracker)
    expected_tracked, expected_targets = instrument(expected, message_id, SIGNER)
    assert tracked == expected_tracked
    assert tracker.targets == expected_targets
    assert tracked_text == text  # the plain text keeps the original links


def test_every_template_has_a_text_stencil_and_shows_only_its_own_keys() -> None:
    """The shortcut applies to every template as written (no template falls back to deriving
    each message's text), and a stencil uses no key its template does not name (privacy §2.6)."""
    for template, info in TEMPLATES.items():
        for locale in LOCALES:
            layout = stencil(template, locale)
            assert layout.text is not None, (template, locale)
            assert set(layout.keys) == info.required, (template, locale)


def test_attribute_escape_is_what_mrml_writes_in_an_attribute() -> None:
    """Learnt per character from mrml: checked here on a whole string against a real compile."""
    value = "a\\b\tc\xa0d e\u0301 ñ 😀 \u2028 \ue000 ' &amp; x"
    compiled = compile_mjml(
        '<mjml><mj-body><mj-section><mj-column><mj-button href="[' + value + ']">x'
        "</mj-button></mj-column></mj-section></mj-body></mjml>"
    )
    assert f'href="[{attribute_escape(value)}]"' in compiled
    assert attribute_escape(value) != value  # mrml does escape some of these


def test_a_value_mjml_cannot_parse_fails_as_it_always_did() -> None:
    context = {key: BASE[key] for key in TEMPLATES["welcome"].required} | {"name": "Ana\x01"}
    with pytest.raises(ValueError, match="parse"):
        render_html("welcome", "en", context)
    with pytest.raises(ValueError, match="parse"):
        render(
            "welcome",
            "en",
            context,
            to="ana@example.test",
            sender="s@spirit.test",
            message_id_domain="spirit.test",
        )


def test_the_open_pixel_goes_right_before_the_body_closes() -> None:
    """Even after letters that lowercase to two characters ("İ" → "i̇"): the closing tag was
    looked up in the lowercased HTML and its position used in the original, which put the
    pixel inside ``</body>`` for a newsletter to "İstanbul"."""
    context = _context("newsletter", "plain") | {"body": "İstanbul, İzmir"}
    body = render_html("newsletter", "en", context)
    tracked, _ = instrument(body, uuid.UUID(int=1), SIGNER)
    pixel = Tracker(uuid.UUID(int=1), SIGNER).pixel()
    assert f"{pixel}</body>" in tracked
    assert tracked.count("</body>") == 1
