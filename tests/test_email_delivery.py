"""Email delivery through the official SendGrid client to a local fake SendGrid server, and the outbox.

The fake server (tests/fake_sendgrid.py) is a real HTTP server: these tests see exactly what the
`sendgrid` package puts on the wire, and how the Mailer and the email activity react to its answers.
"""

import base64
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from notifications.sender import EmailAttachment, EmailDeliveryFailed, Mailer, OutgoingEmail, PermanentEmailError
from tests.conftest import terminate_open_cases
from tests.fake_sendgrid import FakeSendGrid
from tests.support import emails, eventually, make_case, status
from workflows.worker import build_worker

FILER = "katy.perry@example.com"
CENTER = "mediation@car.org"


def outgoing(key: str = "test/00001-hello:1") -> OutgoingEmail:
    return OutgoingEmail(
        idempotency_key=key,
        to_email="someone@example.com",
        to_name="Some One",
        subject="Hello",
        text_body="Hello in text\n",
        html_body="<p>Hello in HTML</p>",
    )


async def all_sent(sessions, count: int, subject_starts: str = ""):
    rows = await emails(sessions, subject_starts)
    return rows if len(rows) >= count and all(r.status == "sent" for r in rows) else None


# ---- through the workflow -----------------------------------------------------------------------


@pytest.mark.usefixtures("sendgrid_worker")
async def test_outage_is_retried_and_each_recipient_gets_exactly_one_message(time_skipping_env, sessions, sendgrid_settings, fake_sendgrid):
    env = time_skipping_env
    fake_sendgrid.fail_next(2, status=500)
    await make_case(sessions, env.client, sendgrid_settings)

    # The first attempt and its first retry hit the 500s; the activity's retry (1 s, then 2 s) gets through.
    rows = await eventually(lambda: all_sent(sessions, 2, "Request to Mediate received"), timeout=30)
    assert {r.to_email for r in rows} == {FILER, CENTER}

    statuses = [r.status for r in fake_sendgrid.requests]
    assert statuses == [500, 500, 202, 202], statuses
    assert sorted(len(fake_sendgrid.delivered_to(a)) for a in (FILER, CENTER)) == [1, 1]
    assert len(fake_sendgrid.delivered) == 2

    for row in rows:
        (request,) = fake_sendgrid.delivered_to(row.to_email)
        assert request.method == "POST" and request.path == "/v3/mail/send"
        assert request.authorization == "Bearer SG.test-key"
        assert request.headers["content-type"].startswith("application/json")
        body = request.body
        assert body["from"] == {"email": "no-reply@car.odr.com", "name": "C.A.R. Mediation Center"}
        assert body["subject"] == row.subject
        assert body["personalizations"][0]["to"] == [{"email": row.to_email, "name": row.to_name}]
        # text/plain must come first: SendGrid rejects a message whose first content is not text/plain.
        assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
        assert request.contents == {"text/plain": row.text_body, "text/html": row.html_body}
        assert "742 Evergreen Terrace" in request.contents["text/plain"]
        assert "<strong>742 Evergreen Terrace" in request.contents["text/html"]

        assert row.status == "sent" and row.transport == "sendgrid" and row.sent_at is not None
        assert row.provider_message_id == request.message_id != ""

    filer_row = next(r for r in rows if r.to_email == FILER)
    center_row = next(r for r in rows if r.to_email == CENTER)
    # The filer's message was tried three times; the center's, sent after it in the same activity, once.
    assert filer_row.attempts >= 2 and filer_row.attempts == 3
    assert center_row.attempts == 1


@pytest.mark.usefixtures("sendgrid_worker")
async def test_rejected_message_is_not_retried_and_the_case_goes_on(time_skipping_env, sessions, sendgrid_settings, fake_sendgrid):
    env = time_skipping_env
    fake_sendgrid.answer_always(400)
    case_id, _ = await make_case(sessions, env.client, sendgrid_settings)

    async def failure_logged():
        current = await status(env.client, sendgrid_settings, case_id)
        return [t for t in current.timeline if t.event == "email_failed"]

    (logged,) = await eventually(failure_logged)
    assert "intake_received" in logged.detail and "400" in logged.detail
    # A non-retryable failure: SendGrid saw the request once, and nothing more arrives later.
    assert [r.status for r in fake_sendgrid.requests if FILER in r.recipients] == [400]
    (row,) = await emails(sessions, "Request to Mediate received", to=FILER)
    assert row.status == "pending" and row.attempts == 1
    assert (await status(env.client, sendgrid_settings, case_id)).stage == "intake_review"


async def test_outbox_mode_keeps_mail_for_staff_and_sends_nothing(time_skipping_env, sessions, settings, fake_sendgrid):
    env = time_skipping_env
    # No API key, but a host that would record anything sent: proves the outbox never calls out.
    outbox_settings = settings.model_copy(update={"sendgrid_api_key": "", "sendgrid_host": fake_sendgrid.url})
    async with running_worker(env, sessions, outbox_settings):
        await make_case(sessions, env.client, outbox_settings)
        rows = await eventually(lambda: all_sent(sessions, 2, "Request to Mediate received"))
    assert {r.to_email for r in rows} == {FILER, CENTER}
    for row in rows:
        assert row.transport == "outbox" and row.status == "sent" and row.attempts == 1
        assert row.provider_message_id == "" and row.sent_at is not None
        assert row.text_body and row.html_body
    assert fake_sendgrid.requests == []


@asynccontextmanager
async def running_worker(env, sessions, settings):
    async with build_worker(env.client, sessions, settings):
        yield
        await terminate_open_cases(env.client, sessions, settings)


# ---- the Mailer on its own ----------------------------------------------------------------------


async def test_same_email_twice_is_delivered_once(sessions, sendgrid_settings, fake_sendgrid):
    mailer = Mailer(sessions, sendgrid_settings)
    assert await mailer.send(outgoing()) is True
    assert await mailer.send(outgoing()) is False
    assert len(fake_sendgrid.requests) == 1
    (row,) = await emails(sessions)
    assert row.status == "sent" and row.attempts == 1 and row.provider_message_id == fake_sendgrid.requests[0].message_id
    # Another key is another message.
    assert await mailer.send(outgoing("test/00002-hello:1")) is True
    assert len(fake_sendgrid.delivered) == 2


async def test_an_attachment_is_kept_in_the_ledger_and_sent_with_the_message(sessions, sendgrid_settings, fake_sendgrid):
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    email = replace(outgoing(), attachments=(EmailAttachment("case-1-event-2.ics", "text/calendar; charset=utf-8", ics),))
    # Delivered from the ledger, as a retry or a stored email is: the file travels with it.
    fake_sendgrid.fail_next(1, status=500)
    with pytest.raises(EmailDeliveryFailed):
        await Mailer(sessions, sendgrid_settings).send(email)
    assert await Mailer(sessions, sendgrid_settings).deliver_stored(email.idempotency_key) is True
    (request,) = fake_sendgrid.delivered
    (sent,) = request.body["attachments"]
    assert sent["filename"] == "case-1-event-2.ics" and sent["type"].startswith("text/calendar") and sent["disposition"] == "attachment"
    assert base64.b64decode(sent["content"]) == ics
    (row,) = await emails(sessions)
    assert row.attachments == [{"filename": "case-1-event-2.ics", "content_type": "text/calendar; charset=utf-8", "content": base64.b64encode(ics).decode()}]


@pytest.mark.parametrize("answer", [400, 413])
async def test_malformed_message_is_a_permanent_error(sessions, sendgrid_settings, fake_sendgrid, answer):
    fake_sendgrid.answer_always(answer)
    mailer = Mailer(sessions, sendgrid_settings)
    with pytest.raises(PermanentEmailError, match=str(answer)):
        await mailer.send(outgoing())
    assert [r.status for r in fake_sendgrid.requests] == [answer]
    (row,) = await emails(sessions)
    assert row.status == "pending" and row.provider_message_id == ""


@pytest.mark.parametrize("answer", [500, 503, 429])
async def test_outage_is_a_retryable_error_and_the_retry_delivers(sessions, sendgrid_settings, fake_sendgrid, answer):
    fake_sendgrid.fail_next(1, status=answer)
    mailer = Mailer(sessions, sendgrid_settings)
    with pytest.raises(EmailDeliveryFailed, match=str(answer)):
        await mailer.send(outgoing())
    (row,) = await emails(sessions)
    assert row.status == "pending"
    assert await mailer.send(outgoing()) is True
    assert [r.status for r in fake_sendgrid.requests] == [answer, 202]
    (row,) = await emails(sessions)
    assert row.status == "sent" and row.attempts == 2 and row.provider_message_id == fake_sendgrid.requests[1].message_id


async def test_unreachable_sendgrid_is_a_retryable_error(sessions, settings):
    with FakeSendGrid() as gone:
        url = gone.url
    # The server is stopped: its port now refuses connections.
    mailer = Mailer(sessions, settings.model_copy(update={"sendgrid_api_key": "SG.test-key", "sendgrid_host": url}))
    with pytest.raises(EmailDeliveryFailed, match="unreachable"):
        await mailer.send(outgoing())
