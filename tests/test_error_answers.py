"""What a person or a client gets when something goes wrong: a shaped answer, never a stack trace or a bare text.

An unexpected failure answers 500 with the JSON problem shape under /api/v1 and the error page in a browser,
both with a reference to quote to the center, and the keep-alive connection stays usable for the next request.
Unknown addresses answer an HTML page in a browser, and settings read seconds as the README says.
"""

import asyncio
import re
import socket
import threading
import time

import pytest
import uvicorn

from api.app import create_app
from core.settings import Settings, SettingsError, get_settings


def failing_app(settings, client):
    app = create_app(settings, temporal_client=client)

    @app.get("/api/v1/boom", include_in_schema=False)
    @app.get("/boom", include_in_schema=False)
    async def boom():
        raise RuntimeError("a bug nobody planned for")

    return app


async def test_an_unexpected_error_is_a_shaped_500_with_a_reference(web, caplog):
    import httpx

    app = failing_app(web.settings, web.client)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        api = await http.get("/api/v1/boom")
        page = await http.get("/boom", headers={"Accept": "text/html"})
    assert api.status_code == 500 and api.headers["content-type"] == "application/json"
    body = api.json()
    assert body["reference"] and body["reference"] in body["detail"] and "mediation@car.org" in body["detail"]
    assert "RuntimeError" not in api.text and "Traceback" not in api.text
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Something went wrong</h1>" in page.text and "Reference:" in page.text and "Traceback" not in page.text
    assert "Content-Security-Policy" in page.headers
    assert any(body["reference"] in record.getMessage() for record in caplog.records), "the reference is not in the log"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _exchange(connection: socket.socket, path: str) -> bytes:
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, rest = received.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        rest += connection.recv(65536)
    return head


async def test_the_connection_stays_usable_after_a_500(web):
    """Through the real server: a 500 must not close the keep-alive connection and fail the client's next request."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(failing_app(web.settings, web.client), host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            await asyncio.sleep(0.05)

        def two_requests() -> tuple[bytes, bytes]:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                return _exchange(connection, "/api/v1/boom"), _exchange(connection, "/healthz")

        first, second = await asyncio.to_thread(two_requests)
        assert first.startswith(b"HTTP/1.1 500")
        assert second.startswith(b"HTTP/1.1 200") or second.startswith(b"HTTP/1.1 503"), second
        assert b"connection: close" not in first.lower()
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)


async def test_unknown_addresses_get_a_page_in_the_browser_and_json_in_the_api(web):
    async with web.browser() as browser:
        page = await browser.http.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in page.text and "There is no page at this address." in page.text
        api = await browser.http.get("/api/v1/no-such-thing")
        assert api.status_code == 404 and api.json() == {"detail": "There is no page at this address."}
        await web.person("katy@example.com", "Katy Perry")
        await browser.login("katy@example.com")
        case = await browser.http.get("/cases/2147483648", headers={"Accept": "text/html"})
        assert case.status_code == 404 and "No such case." in case.text


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("60", 60), ("172800", 172800), ("PT60S", 60), ("P2D", 172800), ("1:00:00", 3600)],
)
def test_timer_settings_take_plain_seconds_or_iso_durations(monkeypatch, value, seconds):
    monkeypatch.setenv("MEDIATION_CONFLICT_CHECK_WINDOW", value)
    monkeypatch.setenv("MEDIATION_RANKING_REMINDER_OFFSETS", "259200, 518400")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.conflict_check_window.total_seconds() == seconds
        assert [o.total_seconds() for o in settings.ranking_reminder_offsets] == [259200, 518400]
    finally:
        get_settings.cache_clear()


def test_reminders_are_set_before_the_deadline_and_the_older_setting_still_counts(monkeypatch):
    days = lambda values: [v.total_seconds() / 86400 for v in values]  # noqa: E731
    # The defaults fall on the same moments as before (days 3 and 6 of a 7-day round), now counted back from the deadline.
    assert days(Settings(_env_file=None).ranking_reminders_before_deadline) == [4, 1]
    get_settings.cache_clear()
    try:
        # An .env written for the older setting (offsets from the round's start) keeps its reminders.
        monkeypatch.setenv("MEDIATION_RANKING_REMINDER_OFFSETS", "P2D,P5D")
        assert days(get_settings().ranking_reminders_before_deadline) == [5, 2]
        get_settings.cache_clear()
        monkeypatch.setenv("MEDIATION_RANKING_REMINDERS_BEFORE_DEADLINE", "PT12H")
        assert [r.total_seconds() for r in get_settings().ranking_reminders_before_deadline] == [43200]
    finally:
        get_settings.cache_clear()


def test_a_mistyped_timer_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("MEDIATION_CONFLICT_CHECK_WINDOW", "two days")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as problem:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert "MEDIATION_CONFLICT_CHECK_WINDOW='two days'" in str(problem.value) and "Give seconds (172800)" in str(problem.value)


async def test_every_api_operation_has_a_readable_id_and_documents_its_refusals(web):
    schema = web.asgi.openapi()
    operations = [(path, method, op) for path, methods in schema["paths"].items() for method, op in methods.items()]
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids)), "operation ids repeat"
    # Client generators name methods after these: the feature and the function, never the address spelled out.
    assert all(re.fullmatch(r"[a-z ]+-[a-z_]+", i) for i in ids), [i for i in ids if not re.fullmatch(r"[a-z ]+-[a-z_]+", i)]
    undocumented = [
        (method.upper(), path) for path, method, op in operations if path != "/healthz" and not any(code.startswith("4") for code in op["responses"])
    ]
    assert undocumented == []
    # Every documented refusal has the one problem shape.
    shapes = {
        op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        for _, _, op in operations
        for code in op["responses"]
        if code.startswith("4") and "application/json" in op["responses"][code].get("content", {})
    }
    assert len(shapes) == 1, shapes


async def test_every_database_connection_busy_answers_503_and_the_next_request_succeeds(web):
    """Overload is not a bug: when no connection frees up within the pool's timeout, the answer is a shaped 503
    with Retry-After, and once one is free again the same request succeeds."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from core.db.session import session_factory

    await web.person("busy@example.com", "Busy Person")
    ctx = web.asgi.state.ctx
    tiny = create_async_engine(web.settings.resolved_database_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    usual = ctx.sessions
    try:
        async with web.browser() as b:
            await b.login("busy@example.com")
            ctx.sessions = session_factory(tiny)
            async with tiny.connect() as held:
                await held.exec_driver_sql("SELECT 1")
                busy = await b.api("GET", "/api/v1/me")
            assert busy.status_code == 503, busy.text
            assert busy.headers["Retry-After"] and "try again" in busy.json()["detail"]
            assert (await b.api("GET", "/api/v1/me")).status_code == 200
    finally:
        ctx.sessions = usual
        await tiny.dispose()
