"""Case documents: checked uploads stored under generated keys, shared with chosen people of the case.

One function per action, behind both the Documents page and the JSON API: `list_documents`, `visible_document`,
`add_document`, `download_document`, `delete_document`. A document someone may not see is `NotFound`, like a
missing one, so its existence does not leak.

Who sees a document: its uploader, center staff, the people in its DocumentShare rows (a caucus room's
attachments are shared with its members through `store_upload`), and, for a file attached in the joint
room, everyone on the case, since the joint room is everyone on the case.
"""

import asyncio
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import puremagic
from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.db.models import Case, DiscussionRoom, Document, DocumentShare, Participant, Person, RoomMessage
from core.errors import Invalid, NotFound, Rejected, TooLarge
from core.settings import Settings
from core.storage import file_store
from core.time import as_utc
from features.access import CaseAccess
from features.context import AppContext
from features.documents.models import CATEGORIES, NOT_ON_CASE, DocumentOut, NewDocument, PersonRef

log = logging.getLogger(__name__)

NO_SUCH_DOCUMENT = "No such document."
RECORDS_PURGED = "This case's records were deleted at the end of the retention period; documents can no longer be added."
FILE_NAME_MAX = 200
CHUNK = 64 * 1024

# What puremagic must find at the very start of a file for each extension people may upload. Only signatures at
# offset 0 count: a mark deeper in a file (puremagic knows some) is as easy to plant in any other content. An
# extension a center allows but that has no entry here is refused: nothing is accepted on the strength of its name
# alone, which also keeps HTML and SVG out for good.
_IDENTIFIED_AS: dict[str, frozenset[str]] = {
    "pdf": frozenset({".pdf"}),
    "png": frozenset({".png"}),
    "jpg": frozenset({".jpg", ".jpeg"}),
    "jpeg": frozenset({".jpg", ".jpeg"}),
    "gif": frozenset({".gif"}),
    # Office Open XML files are ZIP containers, and puremagic names the ZIP signature as theirs. Nothing is ever
    # inflated to look inside: a zip bomb costs no more to check than its first bytes.
    "docx": frozenset({".docx"}),
    "xlsx": frozenset({".xlsx"}),
    "doc": frozenset({".doc"}),
    "xls": frozenset({".xls"}),
}
_TEXT = {"txt", "csv"}

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "txt": "text/plain",
    "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Types a browser may be told as stored: none of them can run script in this site's origin.
_SERVE_AS_IS = {"application/pdf", "image/png", "image/jpeg", "image/gif"}

_UNSAFE_NAME_CHARS = re.compile(r'[\\/:*?"<>|]')


class IncomingFile(Protocol):
    """An uploaded file as Starlette's UploadFile presents it."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class DocumentDownload:
    """A file as it is handed out: always as an attachment, never sniffed, sandboxed if a browser renders it anyway."""

    content: bytes
    media_type: str
    headers: dict[str, str]


def checked_extensions(settings: Settings) -> list[str]:
    """The extensions people may upload: those the center allows and whose content this module can check."""
    known = set(_IDENTIFIED_AS) | _TEXT
    return [ext for ext in (e.lower().lstrip(".") for e in settings.allowed_upload_extensions) if ext in known]


def size_label(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    if megabytes >= 1:
        return f"{megabytes:g} MB" if megabytes == int(megabytes) else f"{megabytes:.1f} MB"
    return f"{max(1, limit // 1024)} KB"


def too_large_message(settings: Settings) -> str:
    return f"The file is larger than {size_label(settings.max_upload_bytes)}. Upload a smaller file."


def sanitise_file_name(raw: str | None) -> str:
    """A readable name to show and offer on download; never used to name anything on disk."""
    name = (raw or "").replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    name = _UNSAFE_NAME_CHARS.sub("_", name)
    name = " ".join(name.split())
    # Leading dots make hidden files and, repeated, look like parent directories.
    name = name.lstrip(". ").rstrip(" ")
    if len(name) > FILE_NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = stem[: FILE_NAME_MAX - len(ext) - 1] + "." + ext if dot and 0 < len(ext) <= 10 else name[:FILE_NAME_MAX]
    return name


def extension_of(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def content_matches(ext: str, content: bytes) -> bool:
    """Whether the bytes are what the extension says: UTF-8 text without NUL for .txt and .csv, otherwise a
    signature puremagic recognises as this kind of file at the start of it."""
    if ext in _TEXT:
        if b"\x00" in content:
            return False
        try:
            content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return False
        return True
    expected = _IDENTIFIED_AS.get(ext)
    if not expected or not content:
        return False
    try:
        # Without a file name puremagic reads only the first and last bytes it has signatures for: no guessing
        # from the name, no deep scan.
        found = puremagic.magic_string(content)
    except puremagic.PureError:
        return False
    # A few of puremagic's signatures are stored as escape text (the characters `\x89PNG`) rather than bytes;
    # a file that merely spells one out is not that kind of file.
    return any(m.offset == 0 and b"\\" not in m.byte_match and m.extension in expected for m in found)


def served_content_type(stored: str) -> str:
    """What the download says it is: PDFs and images as stored, text as plain text, everything else opaque."""
    base = stored.split(";")[0].strip().lower()
    if base in _SERVE_AS_IS:
        return base
    if base.startswith("text/"):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def content_disposition(file_name: str) -> str:
    """An attachment header with a plain-ASCII name for old clients and the exact name (RFC 5987) for the rest."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in file_name) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


async def read_limited(upload: IncomingFile, limit: int) -> bytes | None:
    """The file's bytes, or None as soon as it passes the limit (the rest is never read into memory)."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await upload.read(CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)


async def share_choices(db: AsyncSession, access: CaseAccess) -> list[PersonRef]:
    """Everyone else on the case, once each, in the order they joined: whom the uploader may share with."""
    rows = (
        await db.execute(
            select(Person).join(Participant, Participant.person_id == Person.id).where(Participant.case_id == access.case.id).order_by(Participant.id)
        )
    ).scalars()
    seen: dict[int, PersonRef] = {}
    for person in rows:
        if person.id != access.viewer.id:
            seen.setdefault(person.id, PersonRef.model_validate(person))
    return list(seen.values())


async def _share_ids(db: AsyncSession, case_id: int, uploader_id: int, share_with: list[int]) -> list[int] | None:
    """The people to record as shares, or None when someone named is not on the case."""
    wanted = {pid for pid in share_with if pid != uploader_id}
    if not wanted:
        return []
    participants = set((await db.execute(select(Participant.person_id).where(Participant.case_id == case_id))).scalars())
    # Staff see every document anyway; a room that includes staff should not make the attachment fail.
    staff = set((await db.execute(select(Person.id).where(Person.id.in_(wanted - participants), Person.is_staff))).scalars())
    if wanted - participants - staff:
        return None
    return sorted(wanted & participants)


async def store_upload(
    ctx: AppContext,
    db: AsyncSession,
    case: Case,
    uploader_id: int,
    upload: IncomingFile | None,
    document: NewDocument,
    room_id: int | None = None,
    file_field: str = "file",
) -> Document:
    """Check, store and share one uploaded file, and commit it; on any refusal nothing is stored.

    The file is read in chunks and refused once it passes the center's limit (`TooLarge`, alone: nothing else
    helps until it fits); its extension must be allowed and its bytes must match it. `document.share_with` must
    be people in the case (the uploader and staff are accepted and skipped, since they always see it).
    `room_id` is the discussion room it was attached in, if any; `file_field` names the form field it came from,
    so a refusal is shown next to it. The caller has checked that the uploader may act in the case.
    """
    if case.records_purged_at is not None:
        raise Rejected(RECORDS_PURGED)
    settings = ctx.settings
    errors: dict[str, str] = {}
    shares = await _share_ids(db, case.id, uploader_id, document.share_with)
    if shares is None:
        errors["share_with"] = NOT_ON_CASE

    content = b""
    file_name = sanitise_file_name(upload.filename if upload is not None else "")
    ext = extension_of(file_name)
    allowed = checked_extensions(settings)
    if upload is None or not upload.filename:
        errors[file_field] = "Choose a file to upload."
    elif ext not in allowed:
        errors[file_field] = f"This type of file cannot be uploaded. Allowed types: {', '.join(allowed)}."
    else:
        read = await read_limited(upload, settings.max_upload_bytes)
        if read is None:
            message = too_large_message(settings)
            raise TooLarge(message, {file_field: message})
        content = read
        if not content:
            errors[file_field] = "The file is empty."
        elif not content_matches(ext, content):
            errors[file_field] = f"The file's content is not a valid .{ext} file."
    if errors:
        raise Invalid("; ".join(errors.values()), errors)

    # Generated, so the user's name never reaches the file system; the extension only helps people reading the folder.
    key = f"{uuid.uuid4().hex}.{ext}"
    files = file_store(settings)
    await asyncio.to_thread(files.save, key, content)
    try:
        stored = Document(
            case_id=case.id,
            uploader_id=uploader_id,
            category=document.category,
            title=document.title,
            description=document.description,
            file_name=file_name,
            storage_key=key,
            content_type=CONTENT_TYPES[ext],
            size_bytes=len(content),
            room_id=room_id,
        )
        db.add(stored)
        await db.flush()
        db.add_all(DocumentShare(document_id=stored.id, person_id=pid) for pid in shares or [])
        await db.commit()
    except BaseException:
        try:
            await db.rollback()
        finally:
            await asyncio.to_thread(files.delete, key)
        raise
    return stored


async def add_document(ctx: AppContext, db: AsyncSession, access: CaseAccess, upload: IncomingFile | None, document: NewDocument) -> DocumentOut:
    """Add a document to the case, shared with the people chosen."""
    stored = await store_upload(ctx, db, access.case, access.viewer.id, upload, document)
    return await visible_document(db, access, stored.id)


def _visible_to(access: CaseAccess):
    """Callers have already checked that the viewer takes part in the case."""
    if access.is_staff:
        return true()
    return or_(
        Document.uploader_id == access.viewer.id,
        Document.id.in_(select(DocumentShare.document_id).where(DocumentShare.person_id == access.viewer.id)),
        # The joint room is everyone on the case, including people added after the file was attached.
        Document.room_id.in_(select(DiscussionRoom.id).where(DiscussionRoom.kind == "joint")),
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_documents(db: AsyncSession, access: CaseAccess, category: str = "", q: str = "") -> list[DocumentOut]:
    """The case's documents this person may see, newest first, with whom each is shared.

    `category` filters when it is one of CATEGORIES (anything else, such as "All", means every category);
    `q` searches titles, ignoring case."""
    query = (
        select(Document)
        .where(Document.case_id == access.case.id, _visible_to(access))
        .options(selectinload(Document.uploader))
        .order_by(Document.created_at.desc(), Document.id.desc())
    )
    if category in CATEGORIES:
        query = query.where(Document.category == category)
    q = " ".join((q or "").split())
    if q:
        query = query.where(Document.title.ilike(_like(q), escape="\\"))
    return await _described(db, access, list((await db.execute(query)).scalars()))


async def _visible_row(db: AsyncSession, access: CaseAccess, document_id: int) -> Document:
    query = select(Document).where(Document.id == document_id, Document.case_id == access.case.id, _visible_to(access)).options(selectinload(Document.uploader))
    document = (await db.execute(query)).scalar_one_or_none()
    if document is None:
        raise NotFound(NO_SUCH_DOCUMENT)
    return document


async def visible_document(db: AsyncSession, access: CaseAccess, document_id: int) -> DocumentOut:
    """One document, if this person may see it."""
    (described,) = await _described(db, access, [await _visible_row(db, access, document_id)])
    return described


async def _described(db: AsyncSession, access: CaseAccess, documents: list[Document]) -> list[DocumentOut]:
    shared: dict[int, list[PersonRef]] = {d.id: [] for d in documents}
    if documents:
        pairs = await db.execute(
            select(DocumentShare.document_id, Person)
            .join(Person, Person.id == DocumentShare.person_id)
            .where(DocumentShare.document_id.in_(list(shared)))
            .order_by(Person.full_name)
        )
        for document_id, person in pairs:
            shared[document_id].append(PersonRef.model_validate(person))
    return [
        DocumentOut(
            id=d.id,
            case_id=d.case_id,
            category=d.category,
            title=d.title,
            description=d.description,
            file_name=d.file_name,
            content_type=d.content_type,
            size_bytes=d.size_bytes,
            uploaded_by=PersonRef.model_validate(d.uploader),
            created_at=as_utc(d.created_at),
            shared_with=shared[d.id],
            room_id=d.room_id,
            download_url=f"/api/v1/cases/{d.case_id}/documents/{d.id}/download",
            can_delete=_may_delete(access, d),
        )
        for d in documents
    ]


def _may_delete(access: CaseAccess, document: Document) -> bool:
    return access.is_staff or document.uploader_id == access.viewer.id


async def download_document(ctx: AppContext, db: AsyncSession, access: CaseAccess, document_id: int) -> DocumentDownload:
    """The file of a document this person may see."""
    document = await _visible_row(db, access, document_id)
    try:
        content = await asyncio.to_thread(file_store(ctx.settings).read, document.storage_key)
    except FileNotFoundError:
        raise NotFound(NO_SUCH_DOCUMENT) from None
    return DocumentDownload(
        content=content,
        media_type=served_content_type(document.content_type),
        headers={
            "Content-Disposition": content_disposition(document.file_name),
            "X-Content-Type-Options": "nosniff",
            # Even if a browser rendered it, the file gets no scripts, forms or same-origin rights.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


async def delete_document(ctx: AppContext, db: AsyncSession, access: CaseAccess, document_id: int) -> None:
    """Delete a document, its shares and its file: its uploader or staff. For anyone else there is nothing to delete."""
    document = await _visible_row(db, access, document_id)
    if not _may_delete(access, document):
        raise NotFound(NO_SUCH_DOCUMENT)
    key = document.storage_key
    # A discussion message keeps its text; only its attachment goes.
    await db.execute(update(RoomMessage).where(RoomMessage.document_id == document_id).values(document_id=None))
    await db.execute(delete(DocumentShare).where(DocumentShare.document_id == document_id))
    await db.execute(delete(Document).where(Document.id == document_id))
    await db.commit()
    # The file goes after the row: a failure here leaves an orphan file, never a row pointing at nothing.
    try:
        await asyncio.to_thread(file_store(ctx.settings).delete, key)
    except OSError:
        log.exception("Could not delete the file of document %s (%s)", document_id, key)
