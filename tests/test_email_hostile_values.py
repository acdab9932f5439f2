"""E-mail rendering (stencil and assembly) under hostile values: every field gives what the
standard route gives (tests/email_standard_route.py), nothing of one message reaches the next
through the per-process caches, links are tracked for their own message, and the caches a
hostile value can grow stay bounded."""

from __future__ import annotations

import email.policy
import html
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from spirit_tours.emails import mime, mjml_compiler
from spirit_tours.emails.catalog import LOCALES
from spirit_tours.emails.render import TEMPLATES, render
from spirit_tours.emails.tracking import Tracker
from tests.email_standard_route import standard_message
from tests.permission_cases import clean_state  # noqa: F401 - replaces the suite's fixture
from tests.test_email_mime import SENDER, _parsed, _shape
from tests.test_email_stencil import BASE, SIGNER, TEXT_KEYS

BOUNDARY = mime._PROCESS_BOUNDARIES["alternative"]
HOSTILE: dict[str, str] = {
    "unicode line separators": "Ana\u2028Bcc: evil@x.test\u2029P\x85Q",
    "stand-ins": "zqvname\\vqz zqvreference\\\\vqz zqvbooking_url\\vqz",
    "process boundary": f"x\n--{BOUNDARY}\nContent-Type: text/html\n\n<b>owned</b>\n--{BOUNDARY}--",
    "encoded-word look-alike": "=?utf-8?b?w5FhbmTDug==?= =?us-ascii?q?x?=",  # no line break
    "one long word": "W" * 200,
    "long non-ASCII": "Ñandú " * 30 + "😀" * 40,
    "blanks and tabs": "  a\t\tb \xa0 c\u3000d  ",
    "bidi and joiners": "\u202eevil\u202c \u200d\ufeff e\u0301",
}
CASES = [
    (template, locale, variant)
    for template in sorted(TEMPLATES)
    for locale in LOCALES[:2]
    for variant in HOSTILE
]
RECIPIENTS = [
    "ana@example.test",
    "Zoë Ñandú <zoe@example.test>",
    '"Pérez, Ana \\"la jefa\\"" <ana@example.test>',
    "=?utf-8?q?Bob?= <bob@example.test>",
    "x" * 90 + "@example.test",
]


def _messages(
    template: str, locale: str, context: dict[str, object], to: str
) -> tuple[EmailMessage, EmailMessage, list[str], list[str]]:
    info = TEMPLATES[template]
    row_id = uuid.uuid4()
    message_id = make_msgid(idstring=row_id.hex[:12], domain="spirit.test")
    tracker = None if info.secret_links else Tracker(row_id, SIGNER)
    ours = render(template, locale, context, to=to, sender=SENDER,
                  message_id_domain="spirit.test", message_id=message_id,
                  tracker=tracker)  # fmt: skip
    tracked = None if tracker is None else (row_id, SIGNER)
    theirs, targets = standard_message(template, locale, context, to=to, sender=SENDER,
                                       date=str(ours["Date"]), message_id=message_id,
                                       marketing=info.marketing, tracked=tracked)  # fmt: skip
    return ours, theirs, (tracker.targets if tracker else []), targets


@pytest.mark.parametrize(("template", "locale", "variant"), CASES)
def test_hostile_values_give_the_standard_routes_message(
    template: str, locale: str, variant: str
) -> None:
    context = BASE | dict.fromkeys(TEXT_KEYS, HOSTILE[variant])
    context = {key: context[key] for key in TEMPLATES[template].required}
    to = RECIPIENTS[hash(variant) % len(RECIPIENTS)]
    ours, theirs, our_targets, their_targets = _messages(template, locale, context, to)
    assert our_targets == their_targets
    if "=?" in HOSTILE[variant]:
        # The standard route decodes what looks like an encoded word (and so lets an encoded
        # CR LF through: test_an_encoded_word_in_a_value_cannot_inject_headers_or_a_body);
        # ours sends the subject's text as it was given. Everything else is the same.
        subject = str(_parsed(ours)["Subject"])
        assert "=?" not in subject or HOSTILE[variant] in subject
        assert _without_subject(_shape(_parsed(ours))) == _without_subject(_shape(_parsed(theirs)))
    else:
        assert _shape(_parsed(ours)) == _shape(_parsed(theirs))
    wire = ours.as_bytes(policy=email.policy.SMTP)
    head, _, _body = wire.partition(b"\r\n\r\n")
    assert head.isascii()
    assert b"\n" not in wire.replace(b"\r\n", b"")
    assert not any(line.lower().startswith(b"bcc:") for line in head.split(b"\r\n"))
    parsed = _parsed(ours)
    assert len(list(parsed.iter_parts())) == 2  # the boundary in a value made no new part
    assert parsed["Subject"] is not None
    assert "\n" not in str(parsed["Subject"])


def _without_subject(shape: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    first = list(shape[0])
    first[2] = [(name, value) for name, value in first[2] if name != "Subject"]  # type: ignore[attr-defined]
    return [tuple(first), *shape[1:]]


@pytest.mark.parametrize("breaker", ["\r", "\n", "\r\n", "\u2028", "\x85", "\x1c"])
def test_a_line_break_in_the_recipient_is_refused_as_before(breaker: str) -> None:
    context = {key: BASE[key] for key in TEMPLATES["welcome"].required}
    to = f"Ana{breaker}Bcc: evil@x.test <ana@example.test>"
    with pytest.raises(ValueError, match=r"linefeed|carriage|line"):
        render("welcome", "en", context, to=to, sender=SENDER, message_id_domain="spirit.test")


def test_nothing_of_one_message_reaches_the_next_and_links_are_signed_for_their_own() -> None:
    """Two recipients of one template and locale, one after the other (the stencil, the subject
    pieces, the formatting and header caches all shared): each message has only its own values,
    and its click links and pixel are signed for its own id."""
    first_id, second_id = uuid.uuid4(), uuid.uuid4()
    common = {key: BASE[key] for key in TEMPLATES["booking_confirmed"].required}
    first = common | {"name": "Alice Secret", "booking_url": "https://spirit.test/b/alice"}
    second = common | {"name": "Bob", "booking_url": "https://spirit.test/b/bob"}
    messages = []
    for row_id, context, to in ((first_id, first, "alice@x.test"), (second_id, second, "b@x.test")):
        tracker = Tracker(row_id, SIGNER)
        message = render("booking_confirmed", "en", context, to=to, sender=SENDER,
                         message_id_domain="spirit.test", tracker=tracker)  # fmt: skip
        messages.append((message, tracker))
    (one, one_tracker), (two, two_tracker) = messages
    two_wire = two.as_bytes(policy=email.policy.SMTP).decode("ascii", "replace")
    two_parts = [p.get_content() for p in _parsed(two).walk() if not p.is_multipart()]
    assert not any("Alice" in part or "/b/alice" in part for part in two_parts)
    assert "alice" not in two_wire.lower()
    assert one_tracker.targets == ["https://spirit.test/b/alice"]
    assert two_tracker.targets == ["https://spirit.test/b/bob"]
    assert one["Message-ID"] != two["Message-ID"]
    html_two = html.unescape(str(two_parts[1]))
    assert SIGNER.pixel_url(second_id) in html_two
    assert SIGNER.click_url(second_id, "https://spirit.test/b/bob") in html_two
    assert SIGNER.pixel_url(first_id) not in html_two


INJECTION = "=?utf-8?q?=0D=0ABcc:_evil@x.test=0D=0A=0D=0A<b>Pay_to_IBAN_XX00</b>?="


def test_an_encoded_word_in_a_value_cannot_inject_headers_or_a_body() -> None:
    """A value that is an RFC 2047 encoded word of CR LF reaches the Subject: a client's
    quotation destination (any text up to 200 characters) is the Subject of the invitation
    mailed to hotels. Handed to the standard parser it is decoded, and Python before 3.11.10
    writes the decoded CR LF raw (CVE-2024-6923): a Bcc header and a forged body. It must go
    out as text that reads back exactly as the client typed it."""
    context = {key: BASE[key] for key in TEMPLATES["hotel_invitation"].required}
    context["destination"] = INJECTION
    message = render("hotel_invitation", "en", context, to="hotel@x.test", sender=SENDER,
                     message_id_domain="spirit.test")  # fmt: skip
    wire = message.as_bytes(policy=email.policy.SMTP)
    head = wire.partition(b"\r\n\r\n")[0]
    assert not any(line.lower().startswith(b"bcc:") for line in head.split(b"\r\n")), head
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    parsed = _parsed(message)
    assert parsed.get_content_type() == "multipart/alternative"
    assert "Pay to IBAN" not in str(parsed.get_payload())[:200]
    assert INJECTION in parsed["Subject"]


def test_the_attribute_escape_cache_stays_bounded() -> None:
    """``mjml_compiler._attribute_char`` must be a bounded cache: it is keyed
    by every distinct non-ASCII character a value brings into an attribute slot (a client's
    name in birthday's aria-label, a destination in hotel_invitation's and survey's, a
    headline, a reference): each new character costs one mrml compile and stays in memory for
    the life of the worker, up to the whole of Unicode (~1.1 million entries)."""
    name = "".join(map(chr, range(0x4E00, 0x4E00 + 3000)))  # one hostile name
    context = {key: BASE[key] for key in TEMPLATES["birthday"].required} | {"name": name}
    render("birthday", "en", context, to="a@x.test", sender=SENDER,
           message_id_domain="spirit.test")  # fmt: skip
    info = mjml_compiler._attribute_char.cache_info()
    assert info.maxsize is not None
    assert info.currsize <= info.maxsize


@pytest.mark.parametrize("char", ["\ufffe", "\uffff"])
def test_a_value_mrml_refuses_fails_on_the_fast_route_too(char: str) -> None:
    """mrml refuses U+FFFE and U+FFFF (the standard route raises ValueError): the stencil route
    must refuse them too (``stencil.REFUSED_BY_MJML``), not render them in a text slot."""
    context = {key: BASE[key] for key in TEMPLATES["welcome"].required} | {"name": f"A{char}"}
    with pytest.raises(ValueError, match="parse"):
        standard_message("welcome", "en", context, to="a@x.test", sender=SENDER,
                         date="x", message_id="<x@x.test>", marketing=False)  # fmt: skip
    with pytest.raises(ValueError, match="parse"):
        render("welcome", "en", context, to="a@x.test", sender=SENDER,
               message_id_domain="spirit.test")  # fmt: skip
