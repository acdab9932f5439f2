"""The MIME message the fast route assembles is the one the standard route built: parsed back
from its bytes with the standard parser, every header and every decoded part is the same, for
every template in every locale (tracked, with the voucher attached where it belongs), and the
bytes on the wire are correct RFC 5322/2045: CRLF line ends, lines of at most 78 columns (998
for an unbreakable URI), RFC 2047 for non-ASCII headers, no header injection."""

from __future__ import annotations

import copy
import email.policy
import random
import uuid
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid

import pytest
from aiosmtplib.email import flatten_message

from spirit_tours.core.clock import now_utc
from spirit_tours.emails import mime
from spirit_tours.emails.catalog import LOCALES
from spirit_tours.emails.mime import Attachment, assemble, encode_text
from spirit_tours.emails.render import TEMPLATES, render
from spirit_tours.emails.tracking import Tracker
from spirit_tours.emails.voucher import booking_voucher
from tests.email_standard_route import standard_message
from tests.permission_cases import clean_state  # noqa: F401 - replaces the suite's fixture
from tests.test_email_stencil import BASE, SIGNER

SENDER = "Spirit Tours <no-reply@spirit.test>"
MESSAGE_ID = "<179601926538.8035.16311858414387185910.6f231c3f8495@mail.spirit.test>"
PARSER = BytesParser(policy=email.policy.default)
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "plain": ("ana@example.test", {}),
    "non-ASCII subject and name": (
        "Ana Pérez <ana@example.test>",
        {"name": "Zoë Ñandú", "headline": "Ação 😀 em Cusco", "destination": "Señor de Sipán"},
    ),
    "long subject": (
        '"Pérez, Ana" <ana.perez@example.test>',
        {
            "headline": "A very long headline " * 6,
            "destination": "Cusco, the Sacred Valley and " + "Machu Picchu " * 6,
            "reference": "BK-" + "9" * 90,  # one word longer than a line
        },
    ),
}
CASES = [
    (template, locale, variant)
    for template in sorted(TEMPLATES)
    for locale in LOCALES
    for variant in VARIANTS
]


def _parsed(message: EmailMessage, policy: email.policy.Policy = email.policy.SMTP) -> EmailMessage:
    data = message.as_bytes(policy=policy)
    parsed = PARSER.parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _shape(message: EmailMessage) -> list[tuple[object, ...]]:
    """Every part's headers (boundaries aside) and decoded content, in order."""
    shape: list[tuple[object, ...]] = []
    for part in message.walk():
        headers = [
            (name, str(value))
            for name, value in part.items()
            if name != "Content-Type" and not (name == "MIME-Version" and part is not message)
        ]
        params = {k: v for k, v in part["Content-Type"].params.items() if k != "boundary"}
        content = None if part.is_multipart() else part.get_content()
        shape.append((part.get_content_type(), params, headers, content, part.get_filename()))
    return shape


@pytest.mark.parametrize(("template", "locale", "variant"), CASES)
def test_every_header_and_part_is_the_standard_routes(
    template: str, locale: str, variant: str
) -> None:
    to, extra = VARIANTS[variant]
    context = {key: (BASE | extra)[key] for key in TEMPLATES[template].required}
    info = TEMPLATES[template]
    attachments = [booking_voucher(context, locale)] if template == "booking_confirmed" else []
    row_id = uuid.uuid4()
    message_id = make_msgid(idstring=row_id.hex[:12], domain="spirit.test")
    tracker = None if info.secret_links else Tracker(row_id, SIGNER)
    ours = render(
        template,
        locale,
        context,
        to=to,
        sender=SENDER,
        message_id_domain="spirit.test",
        attachments=attachments,
        message_id=message_id,
        tracker=tracker,
    )
    theirs, targets = standard_message(
        template,
        locale,
        context,
        to=to,
        sender=SENDER,
        date=str(ours["Date"]),
        message_id=message_id,
        marketing=info.marketing,
        attachments=attachments,
        tracked=None if tracker is None else (row_id, SIGNER),
    )
    assert (tracker.targets if tracker else []) == targets
    assert _shape(_parsed(ours)) == _shape(_parsed(theirs))
    assert _shape(ours) == _shape(_parsed(ours, email.policy.default))  # in memory as written
    _assert_wire_format(ours.as_bytes(policy=email.policy.SMTP))
    for message in (ours, theirs):  # what delivery sends: the generator's bytes, every server
        for policy in SERVER_POLICIES:
            assert mime.flatten(message, policy) == message.as_bytes(policy=policy)


# What aiosmtplib flattens with: an 8BITMIME server or a 7-bit one, SMTPUTF8 or not.
SERVER_POLICIES = [
    email.policy.SMTP,
    email.policy.SMTPUTF8,
    email.policy.SMTP.clone(cte_type="7bit"),
    email.policy.SMTPUTF8.clone(cte_type="7bit"),
]


def test_flatten_leaves_what_it_does_not_cover_to_the_generator() -> None:
    message = _newsletter()
    message.preamble = "This is a multi-part message in MIME format."
    message.epilogue = "the end"
    plain = EmailMessage()
    plain["To"] = "ana@example.test"
    plain.set_payload("A line\nanother\r\n.a dot\rlast")  # no Content-Type, mixed line ends
    forwarded = EmailMessage()
    forwarded["To"] = "ana@example.test"
    forwarded.set_content(_newsletter())  # message/rfc822
    for case in (message, plain, forwarded):
        for policy in SERVER_POLICIES:
            assert mime.flatten(case, policy) == case.as_bytes(policy=policy)
    assert mime.flatten(plain, email.policy.SMTP).endswith(b".a dot\r\nlast")


def _assert_wire_format(data: bytes) -> None:
    assert b"\n" not in data.replace(b"\r\n", b"")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # non-ASCII headers as RFC 2047 encoded words
    for line in data.split(b"\r\n"):
        limit = 998 if line.startswith(b" <https://") or b"List-Unsubscribe:" in line else 78
        assert len(line) <= limit, line


def test_what_aiosmtplib_sends_is_what_we_assembled() -> None:
    message = _newsletter()
    for utf8 in (False, True):
        sent = PARSER.parsebytes(flatten_message(message, utf8=utf8))
        assert isinstance(sent, EmailMessage)
        assert _shape(sent) == _shape(_parsed(message))
    wire = flatten_message(message)
    _assert_wire_format(wire)
    assert b"List-Unsubscribe: <https://api.spirit.test/e/u/" in wire  # no encoded word


def _newsletter(**changes: object) -> EmailMessage:
    context = {key: BASE[key] for key in TEMPLATES["newsletter"].required} | changes
    return render(
        "newsletter",
        "es",
        context,
        to="ana@example.test",
        sender=SENDER,
        message_id_domain="spirit.test",
        message_id=MESSAGE_ID,
    )


def test_header_values_stay_on_their_line() -> None:
    """A value cannot open a header of its own: line breaks in a subject's value are blanks,
    a recipient or sender with a line break is refused, as the standard library refuses it."""
    message = _newsletter(headline="Spring\r\nBcc: victim@example.test\nX-Evil: 1")
    parsed = _parsed(message)
    assert parsed["Bcc"] is None
    assert parsed["X-Evil"] is None
    assert "Bcc: victim@example.test X-Evil: 1" in str(parsed["Subject"])
    injected = "ana@example.test\r\nBcc: victim@example.test"
    for to, sender in ((injected, SENDER), ("ana@example.test", injected)):
        with pytest.raises(ValueError, match=r"linefeed|carriage return"):
            render(
                "welcome",
                "en",
                {"name": "Ana", "login_url": "https://spirit.test/login"},
                to=to,
                sender=sender,
                message_id_domain="spirit.test",
            )


def test_the_message_id_is_kept_and_read_without_blanks() -> None:
    """Longer than its line, it is folded as the standard library folds it, yet read back
    without the leading blank a raw folded value would carry (the outbox names files by it)."""
    message = _newsletter()
    assert str(message["Message-ID"]) == MESSAGE_ID
    wire = message.as_bytes(policy=email.policy.SMTP)
    assert b"Message-ID:\r\n " + MESSAGE_ID.encode() + b"\r\n" in wire
    copied = copy.deepcopy(message)
    assert str(copied["Message-ID"]) == MESSAGE_ID
    assert copied.as_bytes() == message.as_bytes()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "short ascii\n",
        "short ação\r\nline\rends",
        "x" * 79,
        "ação " * 40,
        "漢字😀" * 60 + "\n" + "more\n" * 12,
        "trailing blank \nand tab\t\n=3D literal\n" + "y" * 200,
        "\n".join(["--===============1234567890123456789=="] + ["z" * 100] * 11),
    ],
)
def test_text_is_encoded_as_set_content_encodes_it(text: str) -> None:
    """Same transfer encoding as the standard library chooses, same decoded text."""
    standard = EmailMessage(policy=email.policy.default)
    standard.set_content(text, subtype="plain", charset="utf-8")
    encoding, payload = encode_text(text)
    assert encoding == standard["Content-Transfer-Encoding"]
    ours = EmailMessage(policy=email.policy.default)
    ours["Content-Type"] = 'text/plain; charset="utf-8"'
    ours["Content-Transfer-Encoding"] = encoding
    ours.set_payload(payload)
    assert ours.get_content() == standard.get_content()
    assert all(len(line) <= 78 for line in payload.splitlines())


def test_odd_attachment_names_and_types_take_the_standard_route() -> None:
    context = {key: BASE[key] for key in TEMPLATES["welcome"].required}
    files = [
        Attachment("Comprobante de reserva ñ.pdf", b"%PDF-1 voucher", "application/pdf"),
        Attachment("notes.txt", b"plain\n", "Text/Plain"),
        Attachment("x" * 90 + ".bin", b"\x00\x01"),
    ]
    message = render(
        "welcome",
        "en",
        context,
        to="a@spirit.test",
        sender=SENDER,
        message_id_domain="spirit.test",
        attachments=files,
    )
    attached = list(_parsed(message).iter_attachments())
    assert [part.get_filename() for part in attached] == [file.filename for file in files]
    assert [part.get_content_type() for part in attached] == [
        "application/pdf",
        "text/plain",
        "application/octet-stream",
    ]
    assert [part.get_payload(decode=True) for part in attached] == [f.content for f in files]
    with pytest.raises(ValueError, match="MIME type"):
        render(
            "welcome",
            "en",
            context,
            to="a@spirit.test",
            sender=SENDER,
            message_id_domain="spirit.test",
            attachments=[Attachment("a.pdf", b"x", "pdf")],
        )


def test_the_date_is_now() -> None:
    before = format_datetime(now_utc())
    assert str(_newsletter()["Date"])[:16] == before[:16]


def test_the_transfer_encoding_is_the_standard_choice_for_any_text() -> None:
    """The quick bound never decides otherwise than the standard library's exact test."""
    rng = random.Random(16)
    pieces = ["a", " ", "\t", "=", "é", "漢", "😀", ".", "\n", "x" * 40]
    for _ in range(1500):
        text = "".join(rng.choice(pieces) for _ in range(rng.choice([3, 30, 120, 400, 900])))
        standard = EmailMessage(policy=email.policy.default)
        standard.set_content(text, subtype="plain", charset="utf-8")
        assert encode_text(text)[0] == standard["Content-Transfer-Encoding"], text


def test_a_part_containing_the_boundary_gets_another_one() -> None:
    """Each process separates parts with one boundary per kind of multipart (so their
    Content-Type is one shared header object); text that contains it gets a fresh one."""
    process_boundary = mime._PROCESS_BOUNDARIES["alternative"]
    message = assemble(
        subject="Boundaries",
        sender=SENDER,
        to="ana@example.test",
        date=format_datetime(now_utc()),
        message_id=MESSAGE_ID,
        unsubscribe_url=None,
        language="en",
        text=f"--{process_boundary}\nsecond line\n",
        html="<p>hello</p>",
    )
    assert message.get_boundary() != process_boundary
    parsed = _parsed(message, email.policy.default)
    plain, markup = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None
    assert markup is not None
    assert plain.get_content() == f"--{process_boundary}\nsecond line\n"
    assert markup.get_content() == "<p>hello</p>\n"
    ordinary = _newsletter()
    assert ordinary.get_boundary() == process_boundary
    assert ordinary["Content-Type"] is _newsletter()["Content-Type"]  # one shared object
