"""Case documents: checked uploads stored under generated keys, shared with chosen people of the case.

One function per action, behind both the Documents page and the JSON API: `list_documents`, `visible_document`,
`add_document`, `download_document`, `delete_document`. A document someone may not see is `NotFound`, like a
missing one, so its existence does not leak.

Who sees a document: its uploader, center staff, the people in its DocumentShare rows (a caucus room's
attachments are shared with its members through `store_upload`), and, for a file attached in the joint
room, everyone on the case, since the joint room is everyone on the case.
"""

import codecs
import logging
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import puremagic
from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.db.models import Case, DiscussionRoom, Document, DocumentShare, Participant, Person, RoomMessage
from core.errors import Invalid, NotFound, Rejected, TooLarge, Unavailable
from core.settings import Settings
from core.storage import CHUNK_BYTES, FileStore, StorageUnavailable
from core.time import as_utc
from features.access import CaseAccess
from features.context import AppContext
from features.documents.models import CATEGORIES, NOT_ON_CASE, DocumentOut, NewDocument, PersonRef

log = logging.getLogger(__name__)

NO_SUCH_DOCUMENT = "No such document."
RECORDS_PURGED = "This case's records were deleted at the end of the retention period; documents can no longer be added."
STORE_DOWN_ON_UPLOAD = "Documents cannot be stored just now, so your file was not uploaded. Please try again in a few minutes."
STORE_DOWN_ON_DOWNLOAD = "Documents cannot be reached just now. Please try again in a few minutes."
FILE_NAME_MAX = 200
# How much of a file's start the content check reads before anything is stored: more than the deepest signature
# puremagic knows that starts at the first byte (about 36 KB).
HEAD_BYTES = 64 * 1024

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
    """A file as it is handed out, streamed chunk by chunk: always as an attachment, never sniffed, sandboxed if a
    browser renders it anyway. `headers` include its length."""

    chunks: AsyncIterator[bytes]
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


class ContentCheck:
    """Whether a file's bytes are what its extension says, fed as they stream in.

    A binary kind is decided at the start: a signature puremagic recognises as this kind of file at the very first
    byte. Text (.txt, .csv) must be UTF-8 without NUL all the way through, so every chunk is checked, the last one
    included."""

    def __init__(self, ext: str):
        self.ext = ext
        self._text = codecs.getincrementaldecoder("utf-8-sig")() if ext in _TEXT else None

    def start(self, head: bytes) -> bool:
        if self._text is not None:
            return self.more(head)
        return _signature_at_start(self.ext, head)

    def more(self, chunk: bytes) -> bool:
        if self._text is None:
            return True
        if b"\x00" in chunk:
            return False
        try:
            # Incremental: a character split between two chunks is fine, an invalid byte anywhere is not.
            self._text.decode(chunk)
        except UnicodeDecodeError:
            return False
        return True

    def end(self) -> bool:
        if self._text is None:
            return True
        try:
            self._text.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
        return True


def _signature_at_start(ext: str, head: bytes) -> bool:
    expected = _IDENTIFIED_AS.get(ext)
    if not expected or not head:
        return False
    try:
        # Without a file name puremagic reads only the first and last bytes it has signatures for: no guessing
        # from the name, no deep scan.
        found = puremagic.magic_string(head)
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


async def _read_up_to(upload: IncomingFile, size: int) -> bytes:
    """The file's first `size` bytes (fewer if it is shorter)."""
    chunks: list[bytes] = []
    wanted = size
    while wanted > 0:
        chunk = await upload.read(min(wanted, CHUNK_BYTES))
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def _too_large(settings: Settings, file_field: str) -> TooLarge:
    message = too_large_message(settings)
    return TooLarge(message, {file_field: message})


def _not_this_kind(ext: str, file_field: str) -> Invalid:
    message = f"The file's content is not a valid .{ext} file."
    return Invalid(message, {file_field: message})


async def _checked_chunks(upload: IncomingFile, head: bytes, check: ContentCheck, settings: Settings, file_field: str) -> AsyncIterator[bytes]:
    """The file as the store receives it: the head already read, then the rest a chunk at a time. It stops with
    `TooLarge` as soon as the file passes the limit, and with `Invalid` at a chunk that breaks the content check;
    the store then keeps nothing. The rest of a refused file is never read."""
    size = len(head)
    yield head
    while chunk := await upload.read(CHUNK_BYTES):
        size += len(chunk)
        if size > settings.max_upload_bytes:
            raise _too_large(settings, file_field)
        if not check.more(chunk):
            raise _not_this_kind(check.ext, file_field)
        yield chunk
    if not check.end():
        raise _not_this_kind(check.ext, file_field)


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

    Everything that needs no file is checked first, then the file's start (it must not be empty, and its content
    must match its allowed extension); only then is it streamed to storage a chunk at a time, refused with
    `TooLarge` (alone: nothing else helps until it fits) as soon as it passes the center's limit. `document.share_with`
    must be people in the case (the uploader and staff are accepted and skipped, since they always see it).
    `room_id` is the discussion room it was attached in, if any; `file_field` names the form field it came from,
    so a refusal is shown next to it. The caller has checked that the uploader may act in the case.
    Storage that cannot be reached is `Unavailable`, with nothing stored and nothing recorded.
    """
    if case.records_purged_at is not None:
        raise Rejected(RECORDS_PURGED)
    settings = ctx.settings
    errors: dict[str, str] = {}
    shares = await _share_ids(db, case.id, uploader_id, document.share_with)
    if shares is None:
        errors["share_with"] = NOT_ON_CASE

    head = b""
    file_name = sanitise_file_name(upload.filename if upload is not None else "")
    ext = extension_of(file_name)
    check = ContentCheck(ext)
    allowed = checked_extensions(settings)
    if upload is None or not upload.filename:
        errors[file_field] = "Choose a file to upload."
    elif ext not in allowed:
        errors[file_field] = f"This type of file cannot be uploaded. Allowed types: {', '.join(allowed)}."
    else:
        head = await _read_up_to(upload, min(HEAD_BYTES, settings.max_upload_bytes + 1))
        if len(head) > settings.max_upload_bytes:
            raise _too_large(settings, file_field)
        if not head:
            errors[file_field] = "The file is empty."
        elif not check.start(head):
            errors[file_field] = f"The file's content is not a valid .{ext} file."
    if errors or upload is None:
        raise Invalid("; ".join(errors.values()), errors)

    # Generated, so the user's name never reaches storage; the extension only helps people reading the folder.
    key = f"{uuid.uuid4().hex}.{ext}"
    files = ctx.files
    try:
        size = await files.save(key, _checked_chunks(upload, head, check, settings, file_field))
    except StorageUnavailable:
        log.exception("Could not store an upload to case %s", case.id)
        raise Unavailable(STORE_DOWN_ON_UPLOAD) from None
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
            size_bytes=size,
            room_id=room_id,
        )
        db.add(stored)
        await db.flush()
        db.add_all(DocumentShare(document_id=stored.id, person_id=pid) for pid in shares or [])
        await db.commit()
    except BaseException:
        # No row points at the file, so removing it leaves nothing half-done; if storage is down now, the file stays
        # behind unseen (nothing lists or serves a file without its row).
        try:
            await db.rollback()
        finally:
            await _remove_file(files, key)
        raise
    return stored


async def _remove_file(files: FileStore, key: str) -> None:
    try:
        await files.delete(key)
    except StorageUnavailable:
        log.exception("Could not delete the stored file %s; no document refers to it", key)


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
    """The file of a document this person may see, ready to stream. Storage is asked only after the access check,
    and the file comes through the app: storage is never exposed to the person."""
    document = await _visible_row(db, access, document_id)
    try:
        stored = await ctx.files.open(document.storage_key)
    except FileNotFoundError:
        raise NotFound(NO_SUCH_DOCUMENT) from None
    except StorageUnavailable:
        log.exception("Could not open the file of document %s", document_id)
        raise Unavailable(STORE_DOWN_ON_DOWNLOAD) from None
    return DocumentDownload(
        chunks=stored.chunks,
        media_type=served_content_type(document.content_type),
        headers={
            "Content-Length": str(stored.size),
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
    # The file goes after the row: a failure here leaves an orphan file nobody can reach, never a row pointing at nothing.
    await _remove_file(ctx.files, key)
