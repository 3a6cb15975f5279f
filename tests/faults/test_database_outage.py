"""PostgreSQL unavailable for a moment while a person files a Request to Mediate through the web app: the
request fails with a clear 503, nothing is half-written (no case row, no orphan workflow), and the same
request succeeds once the database is back, leaving exactly one case.

The outage is real: the test's own database stops accepting connections (ALLOW_CONNECTIONS false) and its
open connections are terminated, as when PostgreSQL restarts or fails over.
"""

import asyncio
import contextlib
import os
import uuid

import psycopg
import pytest
from sqlalchemy import select
from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput, WorkflowExecutionStatus
from temporalio.service import RPCError

from core.db.migrate import upgrade_database
from core.db.models import Case, Participant, Person
from core.db.session import create_engine, session_factory
from tests.faults.processes import count, wait_until
from tests.web_support import PASSWORD, WebApp

pytestmark = pytest.mark.faults

ADMIN_URL = os.environ.get("MEDIATION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
UNAVAILABLE = "The service is briefly unavailable; nothing was changed. Please try again in a moment."
FILING = {
    "property_address": "1600 Outage Lane, Sacramento, CA 95814",
    "dispute_bases": ["Deposit dispute"],
    "dispute_value": "$25,001 to $50,000",
    "description": "The deposit was kept.",
    "filer_role": "party",
    "others": [{"full_name": "Rita Responder", "email": "rita.responder@example.com", "side": "responding"}],
}


def _admin(*statements: tuple) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        for statement in statements:
            admin.execute(*statement)


def cut_database(name: str) -> None:
    _admin(
        (f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',),
        # The timeout makes each call wait until the backend is really gone.
        ("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)),
    )


def restore_database(name: str) -> None:
    _admin((f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true',))


@pytest.fixture
def postgres_database():
    """A database of this test's own, so cutting it off disturbs no other test."""
    try:
        _admin(("SELECT 1",))
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}: {error}")
        pytest.skip(f"PostgreSQL is not reachable at {ADMIN_URL}: {error}")
    name = f"mediation_faults_{uuid.uuid4().hex[:12]}"
    _admin((f'CREATE DATABASE "{name}"',))
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    upgrade_database(url)
    yield name, url
    _admin((f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true',), (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',))


class CutDatabaseAfterCaseStart(Interceptor):
    """Fails the database at the worst moment of filing: the case's workflow has started, its row is not committed."""

    def __init__(self, database: str):
        self.database = database
        self.armed = False
        self.started: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        owner = self

        class Outbound(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput):
                handle = await super().start_workflow(input)
                if input.workflow == "CaseWorkflow":
                    owner.started.append(input.id)
                    if owner.armed:
                        owner.armed = False
                        await asyncio.to_thread(cut_database, owner.database)
                return handle

        return Outbound(next)


async def test_filing_during_database_outage_fails_cleanly_and_retry_files_once(dev_client, settings, postgres_database):
    name, url = postgres_database
    settings = settings.model_copy(update={"database_url": url})
    fault = CutDatabaseAfterCaseStart(name)
    client = Client(dev_client.service_client, namespace=settings.temporal_namespace, interceptors=[fault])
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with WebApp.running(settings, client, sessions) as web:
            await web.person("fay.filer@example.com", "Fay Filer")
            async with web.browser() as browser:
                signed_in = await browser.http.post("/api/v1/session", json={"email": "fay.filer@example.com", "password": PASSWORD})
                assert signed_in.status_code == 200, signed_in.text
                browser.csrf = signed_in.json()["csrf_token"]

                # 1. The database is down before the request arrives.
                await asyncio.to_thread(cut_database, name)
                try:
                    refused = await browser.api("POST", "/api/v1/cases", json=FILING)
                    assert refused.status_code == 503, refused.text
                    assert refused.json() == {"detail": UNAVAILABLE}
                    assert refused.headers["Retry-After"] == "5"
                    page = await browser.get("/cases")
                    assert page.status_code == 503 and UNAVAILABLE in page.text
                finally:
                    await asyncio.to_thread(restore_database, name)
                assert fault.started == []

                # 2. The database goes down in the middle of filing, after the case's workflow started.
                fault.armed = True
                try:
                    refused = await browser.api("POST", "/api/v1/cases", json=FILING)
                finally:
                    await asyncio.to_thread(restore_database, name)
                assert refused.status_code == 503, refused.text
                assert refused.json() == {"detail": UNAVAILABLE}
                [orphan_id] = fault.started
                orphan = await client.get_workflow_handle(orphan_id).describe()
                assert orphan.status == WorkflowExecutionStatus.TERMINATED, "a workflow without its case row must not live on"

                assert await count(sessions, Case) == 0
                assert await count(sessions, Participant) == 0
                assert await count(sessions, Person, Person.email == "rita.responder@example.com") == 0

                # 3. The database is back: the same request succeeds, once.
                filed = await browser.api("POST", "/api/v1/cases", json=FILING)
                assert filed.status_code == 201, filed.text
                case_id = filed.json()["id"]
                listed = await browser.api("GET", "/api/v1/cases")
                assert [c["id"] for c in listed.json()["items"]] == [case_id]

        async with sessions() as session:
            cases = (await session.execute(select(Case))).scalars().all()
            assert [(c.id, c.property_address) for c in cases] == [(case_id, FILING["property_address"])]
            roles = (await session.execute(select(Participant.role, Participant.side).where(Participant.case_id == case_id))).all()
            assert sorted(roles) == [("party", "initiating"), ("party", "responding")]
        assert await count(sessions, Person, Person.email == "rita.responder@example.com") == 1
        assert fault.started[1:] == [settings.workflow_id(case_id)]
        running = await client.get_workflow_handle(settings.workflow_id(case_id)).describe()
        assert running.status == WorkflowExecutionStatus.RUNNING

        async def case_workflows():
            found = [w async for w in client.list_workflows(f"TaskQueue = '{settings.task_queue}' AND WorkflowType = 'CaseWorkflow'")]
            return found if len(found) == 2 else None

        # Exactly the two attempts that reached Temporal: the terminated orphan and the filed case.
        found = await wait_until(case_workflows, 10, what="visibility of both workflows")
        assert sorted((w.id, w.status) for w in found) == sorted(
            [(orphan_id, WorkflowExecutionStatus.TERMINATED), (settings.workflow_id(case_id), WorkflowExecutionStatus.RUNNING)]
        )
    finally:
        for workflow_id in fault.started:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(workflow_id).terminate("test finished")
        await engine.dispose()
