"""Bad input never reaches the database, on SQLite and on PostgreSQL: every form a page offers and every JSON
operation, with NUL and other unreadable text in each field, with ids the database cannot hold in each place an
id goes, and with bytes that are not UTF-8. Each answer is a 4xx naming what to fix; none is a 5xx; nothing of it
is stored.

The forms are found the way a person finds them: by opening the pages each role sees and reading their HTML.
"""

import json
import re
from contextlib import AsyncExitStack
from html.parser import HTMLParser

import pytest
from sqlalchemy import String, Text, func, select

from core.db.models import Base, Document, Message, Participant, Person
from tests.security.world import ANONYMOUS, MEDIATOR, PARTY, STAFF, World, api_routes, build_world, fill_path

pytestmark = pytest.mark.both_databases

NUL = "\x00"
ODD_PATH_IDS = ["2147483648", str(2**63), str(10**30), "-1", "0", "1e3", "%201", "+7", "abc"]
ODD_BODY_IDS = [2**31, 2**63, 10**30, -1, 0]
ID_LISTS = {"panel", "ranked", "eliminated", "share_with"}
TEXT_INPUTS = {"text", "email", "search", "tel", "url", "password", "hidden", "datetime-local", "date", "time", "number", ""}


class Forms(HTMLParser):
    """The POST forms of a page: action, encoding, and each field with the value the page gave it."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action", ""), "multipart": "multipart" in (a.get("enctype") or ""), "fields": [], "files": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "").lower()
            if kind == "file":
                self._form["files"].append(a["name"])
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append([a["name"], a.get("value", "on"), False])
            elif kind in TEXT_INPUTS:
                self._form["fields"].append([a["name"], a.get("value", ""), True])
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"].append([a["name"], "", True])
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["fields"].append([a["name"], None, False])
        elif tag == "option" and self._select:
            field = self._form["fields"][-1]
            if field[1] is None or "selected" in a:
                field[1] = a.get("value", "")

    def handle_data(self, data):
        if self._textarea and self._form:
            self._form["fields"][-1][1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def pages(world: World) -> dict[str, list[str]]:
    a, b = world.case_id, world.other_case_id
    return {
        ANONYMOUS: ["/login", "/forgot-password"],
        PARTY: [
            f"/cases/{a}",
            f"/cases/{a}/documents",
            f"/cases/{a}/discussions/rooms/{world.joint_room_id}",
            "/profile",
            "/cases/new",
            f"/cases/{a}/scheduling",
        ],
        MEDIATOR: [f"/cases/{b}/conflict-check", f"/cases/{a}/mediator", f"/cases/{a}/calendar", f"/cases/{a}/discussions", f"/cases/{a}/scheduling"],
        STAFF: [f"/staff/cases/{a}", f"/cases/{a}/users", "/staff/mediators/new", f"/staff/people/{world.person(PARTY).id}"],
    }


async def stored_nul(world: World) -> list[str]:
    """Every text column of every table holding a NUL. PostgreSQL cannot store one at all; SQLite can."""
    found: list[str] = []
    if not world.web.settings.resolved_database_url.startswith("sqlite"):
        return found
    async with world.web.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, (String, Text)):
                    hit = await session.scalar(select(column).where(func.instr(column, func.char(0)) > 0).limit(1))
                    if hit is not None:
                        found.append(f"{table.name}.{column.name}")
    return found


def named(response, field: str) -> bool:
    if response.headers.get("content-type", "").startswith("application/json"):
        return field in (response.json().get("errors") or {})
    return field in response.text


async def test_no_form_on_any_page_accepts_unreadable_text(web):
    world = await build_world(web)
    failures, tried = [], 0
    async with AsyncExitStack() as stack:
        browsers = await world.browsers(stack)
        for role, urls in pages(world).items():
            browser = browsers[role]
            for url in urls:
                page = await browser.get(url)
                assert page.status_code == 200, f"{role} could not open {url}: {page.status_code}"
                parser = Forms()
                parser.feed(page.text)
                for form in parser.forms:
                    action = form["action"] or url
                    for index, (name, _value, is_text) in enumerate(form["fields"]):
                        if not is_text:
                            continue
                        fields: dict[str, list[str]] = {}
                        for i, (n, v, _t) in enumerate(form["fields"]):
                            fields.setdefault(n, []).append((v or "") + (f"a{NUL}b" if i == index else ""))
                        if form["multipart"]:
                            files = dict.fromkeys(form["files"], ("", b"", "application/octet-stream")) or {"_": ("", b"", "text/plain")}
                            response = await browser.http.post(action, data=fields, files=files)
                        else:
                            response = await browser.http.post(action, data=fields)
                        tried += 1
                        if response.status_code != 422 or not named(response, name):
                            failures.append(f"{role} {url} form {action} field {name!r}: {response.status_code} {response.text[:200]!r}")
    assert tried > 40, f"only {tried} fields were tried: the pages' forms were not found"
    assert not failures, f"{len(failures)} fields took NUL:\n" + "\n".join(failures)
    assert not await stored_nul(world)


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def leaves(spec: dict, schema: dict, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, kind) for every string and integer a JSON body can hold; arrays as their first element."""
    schema = _resolve(spec, schema)
    found = []
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        if _resolve(spec, option).get("type") != "null":
            found += leaves(spec, option, path)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        for name, child in schema.get("properties", {}).items():
            found += leaves(spec, child, path + (name,))
    elif kind == "array":
        found += leaves(spec, schema.get("items", {}), path + (0,))
    elif kind in ("string", "integer") and path:
        found.append((path, kind))
    return found


def body_with(path: tuple, value) -> object:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == 0:
        return [body_with(rest, value)]
    return {head: body_with(rest, value)}


def field_name(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def json_operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            yield method.upper(), path, operation, content


def real_ids(world: World) -> dict[str, int]:
    return {
        "case_id": world.case_id,
        "person_id": world.person(PARTY).id,
        "room_id": world.caucus_room_id,
        "document_id": world.shared_document_id,
        "event_id": world.event_id,
        "email_id": world.email_id,
        "message_id": world.message_id,
        "participant_id": 1,
        "token": "no-such-password-link",
        "number": 1,
    }


async def test_no_json_field_or_query_accepts_unreadable_text(web):
    world = await build_world(web)
    failures, tried = [], 0
    async with AsyncExitStack() as stack:
        staff = (await world.browsers(stack, roles=(STAFF,)))[STAFF]
        spec = (await staff.http.get("/openapi.json")).json()
        for method, path, operation, content in json_operations(spec):
            url = fill_path(path, real_ids(world))
            headers = {"X-CSRF-Token": staff.csrf, "Content-Type": "application/json", "Accept": "application/json"}
            if "application/json" in content:
                for where, kind in leaves(spec, content["application/json"]["schema"]):
                    if kind != "string":
                        continue
                    body = json.dumps(body_with(where, f"a{NUL}b"))
                    response = await staff.http.request(method, url, content=body, headers=headers)
                    tried += 1
                    if response.status_code != 422 or not named(response, field_name(where)):
                        failures.append(f"{method} {path} body {field_name(where)}: {response.status_code} {response.text[:200]}")
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and _resolve(spec, parameter.get("schema", {})).get("type") in ("string", None):
                    response = await staff.http.request(method, url, params={parameter["name"]: f"a{NUL}b"}, headers=headers)
                    tried += 1
                    if response.status_code != 422 or not named(response, parameter["name"]):
                        failures.append(f"{method} {path} query {parameter['name']}: {response.status_code} {response.text[:200]}")
        upload = await staff.http.post(
            f"/api/v1/cases/{world.case_id}/documents",
            data={"category": "Others", "title": f"Brief{NUL}"},
            files={"file": ("brief.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
            headers={"X-CSRF-Token": staff.csrf},
        )
        if upload.status_code != 422 or not named(upload, "title"):
            failures.append(f"document upload title: {upload.status_code} {upload.text[:200]}")
    assert tried > 30, f"only {tried} fields were tried"
    assert not failures, f"{len(failures)} fields took NUL:\n" + "\n".join(failures)
    assert not await stored_nul(world)


async def test_bytes_that_are_not_utf8_are_refused_with_the_field_named(web):
    world = await build_world(web)
    async with AsyncExitStack() as stack:
        katy = (await world.browsers(stack, roles=(PARTY,)))[PARTY]
        form = await katy.http.post(
            f"/cases/{world.case_id}/messages",
            content=b"csrf_token=" + katy.csrf.encode() + b"&body=caf%E9",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 422 and "not valid UTF-8" in form.text
        api = await katy.http.post(
            f"/api/v1/cases/{world.case_id}/messages",
            content=b'{"body": "caf\xe9"}',
            headers={"Content-Type": "application/json", "X-CSRF-Token": katy.csrf},
        )
        assert api.status_code == 422 and "UTF-8" in api.json()["detail"]
        multipart = await katy.http.post(
            f"/api/v1/cases/{world.case_id}/documents",
            content=(
                b'--XX\r\nContent-Disposition: form-data; name="title"\r\n\r\nBrief \xe9\r\n'
                b'--XX\r\nContent-Disposition: form-data; name="category"\r\n\r\nOthers\r\n'
                b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\xff\r\n'
                b"--XX--\r\n"
            ),
            headers={"Content-Type": "multipart/form-data; boundary=XX", "X-CSRF-Token": katy.csrf},
        )
        assert multipart.status_code == 422 and multipart.json()["errors"].keys() == {"title"}
        query = await katy.http.get(f"/api/v1/cases/{world.case_id}/documents?q=caf%E9")
        assert query.status_code == 422
    async with web.sessions() as session:
        assert (await session.scalar(select(Message).where(Message.body.startswith("caf")))) is None
        assert (await session.scalar(select(Document).where(Document.title.startswith("Brief")))) is None


async def test_odd_ids_in_any_address_answer_404_and_never_5xx(web):
    world = await build_world(web)
    ids = real_ids(world)
    failures, tried = [], 0
    async with AsyncExitStack() as stack:
        staff = (await world.browsers(stack, roles=(STAFF,)))[STAFF]
        for method, path, _route in api_routes(web.asgi):
            for name in [n for n in re.findall(r"{(\w+)}", path) if n.endswith("_id")]:
                for odd in ODD_PATH_IDS:
                    url = fill_path(path, {**ids, name: odd})
                    response = await staff.http.request(method, url, headers={"X-CSRF-Token": staff.csrf}, json={} if method in ("POST", "PUT") else None)
                    tried += 1
                    if response.status_code != 404:
                        failures.append(f"{method} {url}: {response.status_code} {response.text[:120]}")
    assert tried > 300
    assert not failures, f"{len(failures)} addresses did not answer 404:\n" + "\n".join(failures[:40])


async def test_odd_ids_in_any_body_answer_422(web):
    world = await build_world(web)
    failures, tried = [], 0
    async with AsyncExitStack() as stack:
        staff = (await world.browsers(stack, roles=(STAFF,)))[STAFF]
        spec = (await staff.http.get("/openapi.json")).json()
        for method, path, _operation, content in json_operations(spec):
            if "application/json" not in content:
                continue
            url = fill_path(path, real_ids(world))
            for where, kind in leaves(spec, content["application/json"]["schema"]):
                name = next(str(part) for part in reversed(where) if not isinstance(part, int))
                if kind != "integer" or not (name.endswith(("_id", "_ids")) or name in ID_LISTS):
                    continue
                for odd in ODD_BODY_IDS:
                    response = await staff.http.request(method, url, json=body_with(where, odd), headers={"X-CSRF-Token": staff.csrf})
                    tried += 1
                    if response.status_code != 422:
                        failures.append(f"{method} {path} {field_name(where)}={odd}: {response.status_code} {response.text[:120]}")
        share = await staff.http.post(
            f"/api/v1/cases/{world.case_id}/documents",
            data={"category": "Others", "title": "Huge share", "share_with": str(10**30)},
            files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
            headers={"X-CSRF-Token": staff.csrf},
        )
        if share.status_code != 422:
            failures.append(f"documents share_with=10**30: {share.status_code}")
    assert tried >= 20
    assert not failures, "\n".join(failures)


async def test_an_email_address_with_markup_is_refused_everywhere_people_are_added(web):
    world = await build_world(web)
    hostile = 'x"><svg/onload=alert(1)>@evil.example'
    async with web.sessions() as session:
        before = len((await session.execute(select(Participant).where(Participant.case_id == world.case_id))).scalars().all())
    async with AsyncExitStack() as stack:
        browsers = await world.browsers(stack, roles=(PARTY, STAFF))
        staff, katy = browsers[STAFF], browsers[PARTY]
        added = await staff.api("POST", f"/api/v1/staff/cases/{world.case_id}/participants", {"name": "Eve", "email": hostile, "role": "interested"})
        assert added.status_code == 422 and "valid email" in added.json()["detail"]
        await staff.get(f"/cases/{world.case_id}/users")
        page = await staff.post(f"/cases/{world.case_id}/users", {"name": "Eve", "email": hostile, "role": "interested"})
        assert page.status_code == 422 and "valid email" in page.text
        filed = await katy.api(
            "POST",
            "/api/v1/cases",
            {
                "property_address": "1 Main Street, Fresno",
                "dispute_bases": ["Deposit dispute"],
                "dispute_value": "Up to $12,500",
                "others": [{"full_name": "Eve", "email": hostile}],
            },
        )
        assert filed.status_code == 422
        profile = await katy.api("PUT", "/api/v1/profile", {"email": hostile})
        assert profile.status_code == 422
    async with web.sessions() as session:
        assert (await session.scalar(select(Person).where(Person.email.contains("svg")))) is None
        assert len((await session.execute(select(Participant).where(Participant.case_id == world.case_id))).scalars().all()) == before
