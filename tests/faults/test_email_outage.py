"""SendGrid answering 503 for a long stretch while a case moves on: the case is not held up, and once
SendGrid recovers every email goes out exactly once, in the order the workflow raised them."""

import asyncio
import re
import time

import pytest

from core.db.models import Email
from tests.faults.processes import count, wait_until
from tests.support import emails, handle, make_case, make_center, status, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision, RankingSubmission

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = 20
SEQUENCE = re.compile(r"/(\d{5})-")

# What each workflow event emails, in the order the workflow raises the emails.
EVENT_SUBJECTS = {
    "filed": ["Request to Mediate received"] * 2,  # the filer and the center
    "ranking_opened": ["Please submit your mediator rankings"] * 2,  # both parties
    "ranking_submitted": ["Mediator ranking received", "Receipt of your mediator ranking"],  # the center, the party
    "tallied": ["Mediator selected"] * 2,  # everyone on the case: both parties
    "conflict_check_started": ["Conflict check requested"],  # the mediator
}


async def test_emails_sent_once_and_in_order_after_sendgrid_recovers(dev_client, settings, sessions, start_worker, fake_sendgrid, cleanup_cases):
    settings = settings.model_copy(update={"sendgrid_api_key": "SG.test", "sendgrid_host": fake_sendgrid.url})
    client = dev_client
    cleanup_cases(client, settings)
    fake_sendgrid.answer_always(503)
    await start_worker(settings)

    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, client, settings)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    outage_started = time.monotonic()
    wf = handle(client, settings, case_id)
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
    await wait_for_stage(client, settings, case_id, "ranking")
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=katy, party_id=katy, ranked=[m1, m2, m3]))
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=taylor, party_id=taylor, ranked=[m1, m3, m2]))
    # The outage holds up no step of the case: it reaches the conflict check with nothing delivered yet.
    await wait_for_stage(client, settings, case_id, "conflict_check")
    await wait_until(lambda: _failed_attempts(fake_sendgrid, 2), 10, what="SendGrid tried and failing")
    assert fake_sendgrid.delivered == []

    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
    assert fake_sendgrid.delivered == [], "nothing can be delivered while SendGrid answers 503"
    fake_sendgrid.answer_always(None)

    events = [t.event for t in (await status(client, settings, case_id)).timeline]
    expected_subjects = [s for event in events for s in EVENT_SUBJECTS.get(event, [])]
    assert len(expected_subjects) == 11

    # Temporal's retry backoff (1, 2, 4, 8, 16 s...) decides when the first attempt after the outage comes.
    await wait_until(lambda: _delivered(fake_sendgrid, len(expected_subjects)), 45, what="every email delivered")
    await asyncio.sleep(2)
    delivered = fake_sendgrid.delivered
    sent = [(r.recipients[0], r.body["subject"], r.contents["text/plain"]) for r in delivered]
    # Both "ranking received" emails go to the center with one subject; the body names the party.
    assert len(sent) == len(set(sent)) == len(expected_subjects), f"an email went out twice or not at all: {sent}"
    assert [_subject_kind(subject) for _, subject, _ in sent] == expected_subjects
    assert all(r.authorization == "Bearer SG.test" for r in fake_sendgrid.requests)

    # The ledger agrees: one row per email, each sent, in the workflow's order of events and recipients.
    rows = await emails(sessions)
    ledger = sorted(rows, key=lambda e: (int(SEQUENCE.search(e.idempotency_key).group(1)), e.id))
    assert [(e.to_email, e.subject, e.text_body) for e in ledger] == sent
    assert all(e.status == "sent" and e.transport == "sendgrid" and e.provider_message_id for e in rows)
    assert {e.provider_message_id for e in rows} == {r.message_id for r in delivered}
    assert await count(sessions, Email) == len(expected_subjects)
    assert (await status(client, settings, case_id)).timeline[-1].event != "email_failed"


def _subject_kind(subject: str) -> str:
    return subject.split(" RE: ")[0]


async def _failed_attempts(fake, at_least: int):
    return len([r for r in fake.requests if r.status == 503]) >= at_least


async def _delivered(fake, expected: int):
    return len(fake.delivered) >= expected
