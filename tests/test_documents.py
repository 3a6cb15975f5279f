"""Documents: uploads checked and stored under generated keys, seen and downloaded only by whom they are shared with."""

import re
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from io import BytesIO

import httpx
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from starlette.datastructures import UploadFile

from core.db.models import Case, Document, DocumentShare, Person
from core.db.session import transaction
from core.errors import Invalid
from core.storage import CHUNK_BYTES, S3FileStore
from features.cases.roster import NewCase, PartyContact, file_case
from features.documents.models import NewDocument
from features.documents.service import (
    RECORDS_PURGED,
    STORE_DOWN_ON_DOWNLOAD,
    STORE_DOWN_ON_UPLOAD,
    add_document,
    content_disposition,
    sanitise_file_name,
    served_content_type,
)
from tests import storage_support
from tests.support import signed_in_access
from tests.web_support import PASSWORD, Browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
KEY = re.compile(r"^[0-9a-f]{32}\.[a-z]+$")


async def file_case_for(web, filer: Person, others: list[tuple[Person, str]]) -> int:
    async with transaction(web.sessions) as session:
        case = await file_case(
            session,
            web.client,
            web.settings,
            NewCase(
                property_address="742 Evergreen Terrace, Springfield, CA 90210",
                dispute_bases=["Deposit dispute"],
                dispute_value="$75,001 and over",
                description="The buyer's deposit was not returned.",
                filer_id=filer.id,
                parties=[PartyContact(full_name=p.full_name, email=p.email, side=side) for p, side in others],
            ),
        )
        return case.id


@pytest.fixture
async def people(web):
    found = {
        "staff": await web.person("staff@car.org", "Center Staff", staff=True),
        "katy": await web.person("katy@example.com", "Katy Perry"),
        "taylor": await web.person("taylor@example.com", "Taylor Swift"),
        "rita": await web.person("rita@example.com", "Rita Ora"),
        "oscar": await web.person("oscar@example.com", "Oscar Other"),
        "olga": await web.person("olga@example.com", "Olga Other"),
    }
    found["case"] = await file_case_for(web, found["katy"], [(found["taylor"], "responding"), (found["rita"], "responding")])
    found["other_case"] = await file_case_for(web, found["oscar"], [(found["olga"], "responding")])
    return found


async def signed_in(web, stack, email: str):
    browser = await stack.enter_async_context(web.browser())
    assert (await browser.login(email, PASSWORD)).status_code == 303
    return browser


async def upload(
    browser,
    case_id: int,
    name: str,
    content: bytes,
    *,
    category="Contract",
    title="Purchase agreement",
    description="",
    share_with=(),
    content_type="application/pdf",
    csrf=True,
):
    await browser.get(f"/cases/{case_id}/documents")
    data = {"category": category, "title": title, "description": description, "share_with": [str(i) for i in share_with]}
    return await browser.post(f"/cases/{case_id}/documents", data, csrf=csrf, files={"file": (name, content, content_type)})


async def api_upload(browser, case_id: int, name: str, content: bytes, **fields):
    data = {"category": "Contract", "title": "Purchase agreement", **fields}
    return await browser.http.post(
        f"/api/v1/cases/{case_id}/documents", data=data, files={"file": (name, content, "application/octet-stream")}, headers={"X-CSRF-Token": browser.csrf}
    )


async def documents(web) -> list[Document]:
    async with web.sessions() as session:
        return list((await session.execute(select(Document).order_by(Document.id))).scalars())


def stored_files(web) -> list[str]:
    return sorted(storage_support.stored_files(web.settings))


@pytest.mark.both_storages
async def test_a_document_is_seen_and_downloaded_only_by_whom_it_is_shared_with(web, people):
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        taylor = await signed_in(web, stack, "taylor@example.com")
        rita = await signed_in(web, stack, "rita@example.com")
        oscar = await signed_in(web, stack, "oscar@example.com")
        staff = await signed_in(web, stack, "staff@car.org")

        form = await katy.get(f"/cases/{case}/documents")
        assert "Add Document" in form.text and 'enctype="multipart/form-data"' in form.text
        assert "Taylor Swift" in form.text and "Rita Ora" in form.text and "Oscar Other" not in form.text

        added = await upload(katy, case, "CAR Sample Document 1.pdf", PDF, description="Signed copy", share_with=[people["taylor"].id])
        assert added.status_code == 303, added.text
        (document,) = await documents(web)
        assert KEY.match(document.storage_key) and stored_files(web) == [document.storage_key]
        download_url = f"/cases/{case}/documents/{document.id}/download"

        page = (await katy.get(f"/cases/{case}/documents")).text
        for heading in ("Documents", "Category", "Document Title", "Document Description", "Uploaded By", "Created Date", "Shared With", "Delete"):
            assert f">{heading}</th>" in page
        assert "CAR Sample Document 1.pdf" in page and "Signed copy" in page and download_url in page
        assert f"/documents/{document.id}/delete" in page

        page = (await taylor.get(f"/cases/{case}/documents")).text
        assert "CAR Sample Document 1.pdf" in page and "Katy Perry" in page and "Taylor Swift" in page
        assert f"/documents/{document.id}/delete" not in page
        got = await taylor.get(download_url)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"].startswith('attachment; filename="CAR Sample Document 1.pdf"')
        assert got.headers["x-content-type-options"] == "nosniff"
        listed = (await taylor.api("GET", f"/api/v1/cases/{case}/documents")).json()
        assert [d["title"] for d in listed] == ["Purchase agreement"] and listed[0]["shared_with"] == [{"id": people["taylor"].id, "full_name": "Taylor Swift"}]

        # Same case, not shared with her: the document does not exist as far as she can tell.
        page = (await rita.get(f"/cases/{case}/documents")).text
        assert "CAR Sample Document 1.pdf" not in page and "No documents have been shared with you" in page
        assert (await rita.get(download_url)).status_code == 404
        assert (await rita.api("GET", f"/api/v1/cases/{case}/documents")).json() == []
        assert (await rita.api("GET", f"/api/v1/cases/{case}/documents/{document.id}")).status_code == 404
        assert (await rita.api("GET", f"/api/v1/cases/{case}/documents/{document.id}/download")).status_code == 404
        # Another case's party, even through their own case's URL.
        assert (await oscar.get(f"/cases/{case}/documents")).status_code == 404
        assert (await oscar.get(download_url)).status_code == 404
        assert (await oscar.get(f"/cases/{people['other_case']}/documents/{document.id}/download")).status_code == 404
        assert (await oscar.api("GET", f"/api/v1/cases/{people['other_case']}/documents/{document.id}")).status_code == 404

        page = (await staff.get(f"/cases/{case}/documents")).text
        assert "CAR Sample Document 1.pdf" in page and f"/documents/{document.id}/delete" in page
        assert (await staff.get(download_url)).content == PDF

        # Only the uploader (or staff) deletes; for anyone else there is nothing to delete.
        await taylor.get(f"/cases/{case}/documents")
        assert (await taylor.post(f"/cases/{case}/documents/{document.id}/delete")).status_code == 404
        assert (await taylor.api("DELETE", f"/api/v1/cases/{case}/documents/{document.id}")).status_code == 404
        await rita.get(f"/cases/{case}/documents")
        assert (await rita.post(f"/cases/{case}/documents/{document.id}/delete")).status_code == 404
        assert len(await documents(web)) == 1 and stored_files(web) == [document.storage_key]

        await katy.get(f"/cases/{case}/documents")
        # Without JavaScript the Delete button first shows a page that asks; only its "Yes" deletes.
        asked = await katy.post(f"/cases/{case}/documents/{document.id}/delete")
        assert asked.status_code == 200 and "Delete this document?" in asked.text and "CAR Sample Document 1.pdf" in asked.text
        assert len(await documents(web)) == 1 and stored_files(web) == [document.storage_key]
        deleted = await katy.post(f"/cases/{case}/documents/{document.id}/delete", {"confirmed": "yes"})
        assert deleted.status_code == 303
        assert await documents(web) == [] and stored_files(web) == []
        async with web.sessions() as session:
            assert (await session.execute(select(DocumentShare))).first() is None
        assert (await taylor.get(download_url)).status_code == 404


async def test_category_filter_and_title_search(web, people):
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        staff = await signed_in(web, stack, "staff@car.org")
        assert (await upload(katy, case, "contract.pdf", PDF, category="Contract", title="Purchase agreement")).status_code == 303
        assert (await upload(katy, case, "report.pdf", PDF, category="Inspection report", title="Roof inspection")).status_code == 303
        assert (
            await upload(katy, case, "notes.txt", b"Call notes", category="Correspondence", title="100% agreed", content_type="text/plain")
        ).status_code == 303

        def shown(page: str) -> set[str]:
            return {name for name in ("contract.pdf", "report.pdf", "notes.txt") if name in page}

        for viewer in (katy, staff):
            assert shown((await viewer.get(f"/cases/{case}/documents")).text) == {"contract.pdf", "report.pdf", "notes.txt"}
            assert shown((await viewer.get(f"/cases/{case}/documents?category=Inspection report")).text) == {"report.pdf"}
            assert shown((await viewer.get(f"/cases/{case}/documents?category=All")).text) == {"contract.pdf", "report.pdf", "notes.txt"}
            assert shown((await viewer.get(f"/cases/{case}/documents?q=ROOF")).text) == {"report.pdf"}
            assert shown((await viewer.get(f"/cases/{case}/documents?q=agree")).text) == {"contract.pdf", "notes.txt"}
            # A wildcard typed in the search box is a character, not "anything".
            assert shown((await viewer.get(f"/cases/{case}/documents?q=%25")).text) == {"notes.txt"}
            page = (await viewer.get(f"/cases/{case}/documents?category=Contract&q=roof")).text
            assert shown(page) == set() and "No documents match your search." in page

        api = await katy.api("GET", f"/api/v1/cases/{case}/documents?category=Contract")
        assert [d["file_name"] for d in api.json()] == ["contract.pdf"]
        api = await katy.api("GET", f"/api/v1/cases/{case}/documents?q=inspection")
        assert [d["file_name"] for d in api.json()] == ["report.pdf"]
        assert (await katy.api("GET", f"/api/v1/cases/{case}/documents?category=Nonsense")).status_code == 422


@pytest.mark.both_storages
async def test_oversized_uploads_are_refused_and_leave_nothing(web, people):
    case = people["case"]
    limit = web.settings.max_upload_bytes
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        # Just over the limit: read in chunks, refused, the form shown again with what was typed.
        page = await upload(katy, case, "big.pdf", PDF + b"0" * (limit - len(PDF) + 1), title="Too big to keep")
        assert page.status_code == 413
        assert "The file is larger than 10 MB" in page.text and "Too big to keep" in page.text
        # Far over: refused from the declared length before the body is read.
        refused = await api_upload(katy, case, "huge.pdf", PDF + b"0" * (limit + 2 * 1024 * 1024))
        assert refused.status_code == 413 and "The file is larger than 10 MB" in refused.json()["detail"]
        # Exactly the limit is fine.
        assert (await upload(katy, case, "fits.pdf", PDF + b"0" * (limit - len(PDF)))).status_code == 303
    (kept,) = await documents(web)
    assert kept.file_name == "fits.pdf" and kept.size_bytes == limit and stored_files(web) == [kept.storage_key]
    # The refused files were streamed part of the way (to the bucket, in parts): none of it is left behind.
    assert storage_support.unfinished_uploads(web.settings) == []


async def test_forbidden_and_disguised_files_are_refused(web, people):
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        exe = await upload(katy, case, "setup.exe", b"MZ\x90\x00" + b"\x00" * 100, content_type="application/octet-stream")
        assert exe.status_code == 422 and "This type of file cannot be uploaded" in exe.text
        fake_pdf = await upload(katy, case, "invoice.pdf", b"MZ\x90\x00 not really a pdf")
        assert fake_pdf.status_code == 422 and "not a valid .pdf file" in fake_pdf.text
        html = await upload(katy, case, "page.html", b"<html><script>alert(1)</script></html>", content_type="text/html")
        assert html.status_code == 422 and "This type of file cannot be uploaded" in html.text
        svg = await upload(katy, case, "logo.svg", b"<svg onload='alert(1)'/>", content_type="image/svg+xml")
        assert svg.status_code == 422
        binary_txt = await upload(katy, case, "notes.txt", b"abc\x00def", content_type="text/plain")
        assert binary_txt.status_code == 422 and "not a valid .txt file" in binary_txt.text
        png_as_docx = await upload(katy, case, "letter.docx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
        assert png_as_docx.status_code == 422
        empty = await upload(katy, case, "empty.pdf", b"")
        assert empty.status_code == 422 and "The file is empty." in empty.text
        untitled = await upload(katy, case, "contract.pdf", PDF, title="  ", category="Gossip")
        assert untitled.status_code == 422
        assert "Enter a title for the document." in untitled.text and "Choose a category for the document." in untitled.text
        stranger = await upload(katy, case, "contract.pdf", PDF, share_with=[people["oscar"].id])
        assert stranger.status_code == 422 and "Documents can only be shared with people in this case." in stranger.text
        not_an_id = await upload(katy, case, "contract.pdf", PDF, share_with=["everyone"])
        assert not_an_id.status_code == 422

        api = await api_upload(katy, case, "setup.exe", b"MZ")
        assert api.status_code == 422 and "file" in api.json()["errors"]
        wrong_kind = await katy.api("POST", f"/api/v1/cases/{case}/documents", {"title": "x"})
        assert wrong_kind.status_code == 415
    assert await documents(web) == [] and stored_files(web) == []


async def test_a_file_is_accepted_only_when_its_content_is_what_its_extension_says(web, people):
    case = people["case"]
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
    gif = b"GIF89a" + b"\x00" * 40
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        for name, content in (("scan.jpeg", jpeg), ("scan.jpg", jpeg), ("plan.gif", gif), ("letter.doc", ole), ("sheet.xls", ole)):
            kept = await api_upload(katy, case, name, content)
            assert kept.status_code == 201, (name, kept.text)
        refused = {
            # Another format under this name.
            "photo.png": gif,
            "invoice.pdf": jpeg,
            "letter.docx": ole,
            # A Word mark deep inside a file whose start is not a Word file: only the first bytes count.
            "notes.doc": b"<html>" + b" " * 540 + b"bjbj" + b" " * 100,
            # A signature written out as text is not the signature.
            "fake.png": b"\\x89PNG<script>alert(1)</script>",
            "fake.docx": b"PK\\003\\004<script>alert(1)</script>",
        }
        for name, content in refused.items():
            for answer in (await api_upload(katy, case, name, content), await upload(katy, case, name, content)):
                assert answer.status_code == 422, (name, answer.status_code)
                assert f"content is not a valid .{name.rsplit('.', 1)[1]} file." in answer.text, name
    assert sorted(d.file_name for d in await documents(web)) == ["letter.doc", "plan.gif", "scan.jpeg", "scan.jpg", "sheet.xls"]


async def test_a_refused_upload_comes_back_with_each_problem_next_to_its_field(web, people):
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        page = await upload(katy, case, "contract.pdf", PDF, title="x" * 230, description="Kept as typed", share_with=[people["taylor"].id])
        assert page.status_code == 422
        assert '<p class="error" id="title-error">Keep the title to 200 characters (it has 230).</p>' in page.text
        assert 'aria-invalid="true" aria-describedby="title-error"' in page.text
        assert ">Kept as typed</textarea>" in page.text and f'value="{people["taylor"].id}" checked' in page.text
        api = await api_upload(katy, case, "contract.pdf", PDF, title="")
        assert api.status_code == 422 and api.json()["errors"] == {"title": "Enter a title for the document."}
    assert await documents(web) == []


async def test_a_case_whose_records_were_purged_takes_no_more_documents(web, people):
    case = people["case"]
    async with transaction(web.sessions) as session:
        (await session.get(Case, case)).records_purged_at = datetime.now(UTC)
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        page = await upload(katy, case, "contract.pdf", PDF)
        assert page.status_code == 409 and RECORDS_PURGED.replace("'", "&#39;") in page.text
        api = await api_upload(katy, case, "contract.pdf", PDF)
        assert api.status_code == 409 and api.json()["detail"] == RECORDS_PURGED
    assert await documents(web) == [] and stored_files(web) == []


@pytest.mark.both_storages
async def test_path_traversal_name_is_stored_under_a_generated_key_and_shown_sanitised(web, people):
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        assert (await upload(katy, case, "../../etc/passwd.pdf", PDF, title="Traversal")).status_code == 303
        assert (await upload(katy, case, "..\\..\\win\\bell\u202egnp.pdf", PDF, title="Backslashes")).status_code == 303
        first, second = await documents(web)
        assert first.file_name == "passwd.pdf" and KEY.match(first.storage_key) and first.storage_key.endswith(".pdf")
        assert second.file_name == "bellgnp.pdf" and KEY.match(second.storage_key)
        assert stored_files(web) == sorted([first.storage_key, second.storage_key])
        assert not (web.settings.data_dir / "etc").exists()
        page = (await katy.get(f"/cases/{case}/documents")).text
        assert "passwd.pdf" in page and "../" not in page and "etc/passwd" not in page
        got = await katy.get(f"/cases/{case}/documents/{first.id}/download")
        assert got.headers["content-disposition"].startswith('attachment; filename="passwd.pdf"')


async def test_script_in_a_text_file_is_served_as_a_plain_text_attachment(web, people):
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        script = b"<html><script>alert(document.cookie)</script></html>"
        assert (await upload(katy, case, "notes.txt", script, content_type="text/html", share_with=[people["taylor"].id])).status_code == 303
        (document,) = await documents(web)
        assert document.content_type == "text/plain"
        taylor = await signed_in(web, stack, "taylor@example.com")
        got = await taylor.get(f"/cases/{case}/documents/{document.id}/download")
        assert got.status_code == 200 and got.content == script
        assert got.headers["content-type"] == "text/plain; charset=utf-8"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]


async def test_changes_without_the_csrf_token_are_refused(web, people):
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        refused = await upload(katy, case, "contract.pdf", PDF, csrf=False)
        assert refused.status_code == 403
        no_header = await katy.http.post(
            f"/api/v1/cases/{case}/documents", data={"category": "Contract", "title": "x"}, files={"file": ("a.pdf", PDF, "application/pdf")}
        )
        assert no_header.status_code == 403
        assert await documents(web) == [] and stored_files(web) == []

        assert (await upload(katy, case, "contract.pdf", PDF)).status_code == 303
        (document,) = await documents(web)
        assert (await katy.post(f"/cases/{case}/documents/{document.id}/delete", csrf=False)).status_code == 403
        assert (await katy.http.delete(f"/api/v1/cases/{case}/documents/{document.id}")).status_code == 403
        assert len(await documents(web)) == 1


@pytest.mark.both_storages
async def test_the_json_api_adds_describes_downloads_and_deletes(web, people):
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        taylor = await signed_in(web, stack, "taylor@example.com")
        created = await api_upload(
            katy,
            case,
            "report.png",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
            category="Inspection report",
            title="Roof photo",
            share_with=[str(people["taylor"].id), str(people["katy"].id)],
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["file_name"] == "report.png" and body["content_type"] == "image/png" and body["uploaded_by"]["full_name"] == "Katy Perry"
        assert [p["full_name"] for p in body["shared_with"]] == ["Taylor Swift"] and body["can_delete"] is True
        assert datetime.fromisoformat(body["created_at"]).utcoffset().total_seconds() == 0
        described = await taylor.api("GET", f"/api/v1/cases/{case}/documents/{body['id']}")
        assert described.status_code == 200 and described.json()["can_delete"] is False
        got = await taylor.api("GET", body["download_url"])
        assert got.status_code == 200 and got.headers["content-type"] == "image/png" and got.headers["content-disposition"].startswith("attachment;")
        assert (await katy.api("DELETE", f"/api/v1/cases/{case}/documents/{body['id']}")).status_code == 204
        assert (await taylor.api("GET", body["download_url"])).status_code == 404
        assert stored_files(web) == []
        openapi = (await katy.http.get("/openapi.json")).json()
        assert "multipart/form-data" in openapi["paths"]["/api/v1/cases/{case_id}/documents"]["post"]["requestBody"]["content"]


@pytest.mark.both_storages
async def test_a_database_failure_after_the_file_is_written_removes_the_file(web, people, monkeypatch):
    ctx = web.asgi.state.ctx
    async with web.sessions() as db:
        katy = await signed_in_access(db, people["case"], people["katy"].id)

        async def failing_commit():
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

        monkeypatch.setattr(db, "commit", failing_commit)
        with pytest.raises(OperationalError):
            details = NewDocument(category="Contract", title="A", share_with=[people["taylor"].id])
            await add_document(ctx, db, katy, UploadFile(BytesIO(PDF), filename="a.pdf"), details)
    assert await documents(web) == [] and stored_files(web) == []

    async with web.sessions() as db:
        katy = await signed_in_access(db, people["case"], people["katy"].id)
        # The discussions feature shares with a room's members, which may include the uploader and staff.
        everyone = NewDocument(category="Dialogue", title="Chat attachment", share_with=[people["katy"].id, people["taylor"].id, people["staff"].id])
        document = await add_document(ctx, db, katy, UploadFile(BytesIO(b"hello"), filename="chat.txt"), everyone)
        shares = (await db.execute(select(DocumentShare.person_id).where(DocumentShare.document_id == document.id))).scalars().all()
        assert shares == [people["taylor"].id] and [p.full_name for p in document.shared_with] == ["Taylor Swift"]
        with pytest.raises(Invalid) as problem:
            stranger = NewDocument(category="Contract", title="A", share_with=[people["oscar"].id])
            await add_document(ctx, db, katy, UploadFile(BytesIO(PDF), filename="a.pdf"), stranger)
        assert problem.value.fields == {"share_with": "Documents can only be shared with people in this case."}


@pytest.mark.both_storages
async def test_a_text_file_is_checked_to_its_last_byte_while_it_streams(web, people):
    case = people["case"]
    # Three-byte characters, so the first 64 KB chunk ends inside one: still text.
    text = "€".encode() * 40000
    with pytest.raises(UnicodeDecodeError):
        text[:CHUNK_BYTES].decode()
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        assert (await api_upload(katy, case, "ledger.txt", text)).status_code == 201
        # Text at the start, binary far past it, or cut in the middle of a character at the very end: refused.
        for name, content in (("tail.txt", text + b"\x00\x01"), ("middle.csv", text + b"\xff" + text), ("cut.txt", text + "€".encode()[:2])):
            refused = await api_upload(katy, case, name, content)
            assert refused.status_code == 422, (name, refused.text)
            assert refused.json()["errors"] == {"file": f"The file's content is not a valid .{name.rsplit('.', 1)[1]} file."}
    (kept,) = await documents(web)
    assert stored_files(web) == [kept.storage_key] and storage_support.unfinished_uploads(web.settings) == []


class RecordingStore:
    """The app's own store, noting the size of every chunk it is handed to save."""

    def __init__(self, inner):
        self.inner = inner
        self.saved_chunks: list[int] = []

    async def save(self, key, chunks):
        async def noted():
            async for chunk in chunks:
                self.saved_chunks.append(len(chunk))
                yield chunk

        return await self.inner.save(key, noted())

    async def open(self, key):
        return await self.inner.open(key)

    async def delete(self, key):
        await self.inner.delete(key)


@pytest.mark.both_storages
async def test_a_file_near_the_limit_streams_to_storage_and_back_a_chunk_at_a_time(web, people):
    ctx = web.asgi.state.ctx
    recording = RecordingStore(ctx.files)
    ctx.files = recording
    limit = web.settings.max_upload_bytes
    content = PDF + bytes(range(256)) * ((limit - len(PDF) - 4096) // 256)
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        created = await api_upload(katy, people["case"], "survey.pdf", content, share_with=[str(people["taylor"].id)])
        assert created.status_code == 201, created.text
    # The store was handed the file a chunk at a time, never whole.
    assert sum(recording.saved_chunks) == len(content)
    assert len(recording.saved_chunks) > 100 and max(recording.saved_chunks) <= CHUNK_BYTES
    (document,) = await documents(web)
    assert stored_files(web) == [document.storage_key] and document.size_bytes == len(content)
    if web.settings.resolved_storage_backend == "s3":
        # And it went into the bucket as a multipart upload, one part at a time.
        assert storage_support.object_etag(web.settings, document.storage_key).endswith("-2")

    # The download leaves the app a chunk at a time as well, its full length announced first.
    sent: list[int] = []

    async def noting_what_is_sent(scope, receive, send):
        async def noted(message):
            if message["type"] == "http.response.body":
                sent.append(len(message.get("body", b"")))
            await send(message)

        await web.asgi(scope, receive, noted)

    transport = httpx.ASGITransport(app=noting_what_is_sent)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        taylor = Browser(http)
        assert (await taylor.login("taylor@example.com")).status_code == 303
        sent.clear()
        got = await taylor.get(f"/api/v1/cases/{people['case']}/documents/{document.id}/download")
    assert got.status_code == 200 and got.content == content
    assert got.headers["content-length"] == str(len(content))
    assert len([size for size in sent if size]) > 100 and max(sent) <= CHUNK_BYTES


@pytest.mark.parametrize("file_storage", ["s3"], indirect=True)
async def test_a_bucket_that_cannot_be_reached_gets_a_503_that_says_so_and_nothing_is_recorded(web, people):
    ctx = web.asgi.state.ctx
    case = people["case"]
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        taylor = await signed_in(web, stack, "taylor@example.com")
        assert (await upload(katy, case, "contract.pdf", PDF, share_with=[people["taylor"].id])).status_code == 303
        (kept,) = await documents(web)

        # The bucket goes down: nothing answers at its address.
        live = ctx.files
        ctx.files = S3FileStore.from_settings(web.settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{storage_support.free_port()}"}))
        page = await upload(katy, case, "survey.pdf", PDF, title="Survey while down")
        assert page.status_code == 503 and STORE_DOWN_ON_UPLOAD in page.text and "Survey while down" in page.text
        api = await api_upload(katy, case, "survey.pdf", PDF)
        assert api.status_code == 503 and api.json()["detail"] == STORE_DOWN_ON_UPLOAD and api.headers["retry-after"]
        download = await taylor.get(f"/cases/{case}/documents/{kept.id}/download")
        assert download.status_code == 503 and STORE_DOWN_ON_DOWNLOAD in download.text
        listed = await taylor.get(f"/cases/{case}/documents")
        assert listed.status_code == 200 and "contract.pdf" in listed.text and "survey.pdf" not in listed.text
        assert [d.id for d in await documents(web)] == [kept.id]

        # Back up: the kept file is whole and nothing half-uploaded was left.
        ctx.files = live
        assert (await taylor.get(f"/cases/{case}/documents/{kept.id}/download")).content == PDF
    assert stored_files(web) == [kept.storage_key] and storage_support.unfinished_uploads(web.settings) == []


@pytest.mark.parametrize("file_storage", ["s3"], indirect=True)
async def test_the_bucket_stays_private_and_every_download_is_authorised_by_the_app(web, people):
    case = people["case"]
    s3 = storage_support.RUNNING
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        taylor = await signed_in(web, stack, "taylor@example.com")
        rita = await signed_in(web, stack, "rita@example.com")
        assert (await upload(katy, case, "contract.pdf", PDF, share_with=[people["taylor"].id])).status_code == 303
        (document,) = await documents(web)
        object_name = web.settings.s3_key_prefix + document.storage_key

        # The bucket gives the file to nobody but the app: not without credentials, not to another signed-in user.
        unsigned = httpx.get(f"{s3.endpoint}/{web.settings.s3_bucket}/{object_name}")
        assert unsigned.status_code != 200 and PDF not in unsigned.content
        with pytest.raises(ClientError) as refused:
            s3.outsider.get_object(Bucket=web.settings.s3_bucket, Key=object_name)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"

        # People get it from the app's own address, after the app's access check; no page or answer names the bucket.
        for viewer in (katy, taylor):
            for url in (f"/cases/{case}/documents", f"/api/v1/cases/{case}/documents", f"/api/v1/cases/{case}/documents/{document.id}"):
                text = (await viewer.get(url)).text
                assert s3.endpoint not in text and web.settings.s3_bucket not in text and "X-Amz-" not in text
            got = await viewer.get(f"/api/v1/cases/{case}/documents/{document.id}/download")
            assert got.status_code == 200 and got.content == PDF and "location" not in got.headers
        assert (await rita.get(f"/api/v1/cases/{case}/documents/{document.id}/download")).status_code == 404
        assert (await rita.get(f"/cases/{case}/documents/{document.id}/download")).status_code == 404


def test_names_and_headers_are_made_safe():
    assert sanitise_file_name("../../etc/passwd.pdf") == "passwd.pdf"
    assert sanitise_file_name("C:\\Users\\me\\Offer letter.docx") == "Offer letter.docx"
    assert sanitise_file_name("..") == "" and sanitise_file_name("") == ""
    assert sanitise_file_name("re\r\nport\x00.pdf") == "report.pdf"
    assert sanitise_file_name('a"b<c>.pdf') == "a_b_c_.pdf"
    assert sanitise_file_name("Überweisung Nº 5.pdf") == "Überweisung Nº 5.pdf"
    long = sanitise_file_name("x" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")
    assert content_disposition("Überweisung.pdf") == "attachment; filename=\"_berweisung.pdf\"; filename*=UTF-8''%C3%9Cberweisung.pdf"
    assert served_content_type("application/pdf") == "application/pdf"
    assert served_content_type("text/csv") == "text/plain; charset=utf-8"
    assert served_content_type("text/html") == "text/plain; charset=utf-8"
    assert served_content_type("image/svg+xml") == "application/octet-stream"
    assert served_content_type("application/msword") == "application/octet-stream"
