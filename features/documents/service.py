"""Case documents: checked uploads stored under generated keys, shared with chosen people of the case.

Who sees a document: its uploader, center staff, the people in its DocumentShare rows (a caucus room's
attachments are shared with its members through `store_document`), and, for a file attached in the joint
room, everyone on the case, since the joint room is everyone on the case.
"""

import asyncio
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args
from urllib.parse import quote

from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.db.models import Case, DiscussionRoom, Document, DocumentShare, Participant, Person, RoomMessage
from core.settings import Settings
from core.storage import FileStore

log = logging.getLogger(__name__)

Category = Literal["Contract", "Disclosure", "Inspection report", "Correspondence", "Dialogue", "Others"]
CATEGORIES: tuple[str, ...] = get_args(Category)
TITLE_MAX = 200
DESCRIPTION_MAX = 5000
FILE_NAME_MAX = 200
CHUNK = 64 * 1024

# What each extension must start with. An extension a center allows but that has no check here is refused:
# nothing is accepted on the strength of its name alone (which also keeps HTML and SVG out for good).
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
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


class DocumentProblem(Exception):
    """Why an upload was refused, by form field; nothing was stored."""

    def __init__(self, errors: dict[str, str], status_code: int = 422):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.status_code = status_code


@dataclass
class DocumentRow:
    document: Document
    shared_with: list[Person] = field(default_factory=list)
    can_delete: bool = False


def checked_extensions(settings: Settings) -> list[str]:
    """The extensions people may upload: those the center allows and whose content this module can check."""
    known = set(_SIGNATURES) | _TEXT
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
        if dot and 0 < len(ext) <= 10:
            name = stem[: FILE_NAME_MAX - len(ext) - 1] + "." + ext
        else:
            name = name[:FILE_NAME_MAX]
    return name


def extension_of(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def content_looks_like(ext: str, content: bytes) -> bool:
    if ext in _TEXT:
        if b"\x00" in content:
            return False
        try:
            content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return False
        return True
    return any(content.startswith(signature) for signature in _SIGNATURES.get(ext, ()))


def served_content_type(stored: str) -> str:
    """What the download says it is: PDFs and images as stored, text as plain text, everything else opaque."""
    base = stored.split(";")[0].strip().lower()
    if base in _SERVE_AS_IS:
        return base
    if base.startswith("text/"):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


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


async def share_targets(db: AsyncSession, case_id: int) -> list[Person]:
    """Everyone in the case, once each, in the order they joined."""
    rows = (
        await db.execute(select(Person).join(Participant, Participant.person_id == Person.id).where(Participant.case_id == case_id).order_by(Participant.id))
    ).scalars()
    seen: dict[int, Person] = {}
    for person in rows:
        seen.setdefault(person.id, person)
    return list(seen.values())


async def _validated_shares(db: AsyncSession, case_id: int, uploader_id: int, share_with: list[int]) -> tuple[list[int], str]:
    wanted = {pid for pid in share_with if pid != uploader_id}
    if not wanted:
        return [], ""
    participants = set((await db.execute(select(Participant.person_id).where(Participant.case_id == case_id))).scalars())
    # Staff see every document anyway; a room that includes staff should not make the attachment fail.
    staff = set((await db.execute(select(Person.id).where(Person.id.in_(wanted - participants), Person.is_staff))).scalars())
    strangers = wanted - participants - staff
    if strangers:
        return [], "Documents can only be shared with people in this case."
    return sorted(wanted & participants), ""


async def store_document(
    db: AsyncSession,
    settings: Settings,
    files: FileStore,
    case_id: int,
    uploader_id: int,
    upload: IncomingFile | None,
    category: str,
    title: str,
    description: str,
    share_with: list[int],
    room_id: int | None = None,
) -> Document:
    """Check, store and share one uploaded document, and commit it.

    - `upload`: Starlette's UploadFile (anything with `filename` and `async read(size)`); read in chunks
      and refused once it passes `settings.max_upload_bytes`.
    - The extension must be in `settings.allowed_upload_extensions` and the bytes must match it.
    - `category` is one of CATEGORIES; `title` is required (at most 200 characters).
    - `share_with`: person ids who may see it besides the uploader and staff; they must be people in the
      case (the uploader and staff ids are accepted and skipped, since they always see it).
    - `room_id`: the discussion room it was attached in, if any; pass the room's members as `share_with`.

    Raises DocumentProblem (errors by field: file, category, title, description, share_with, case) and
    then nothing is stored. The caller checks that the uploader may act in the case.
    """
    errors: dict[str, str] = {}
    case = await db.get(Case, case_id)
    if case is None:
        raise DocumentProblem({"case": "No such case."}, status_code=404)
    if case.records_purged_at is not None:
        errors["case"] = "This case's records were deleted at the end of the retention period; documents can no longer be added."

    category = (category or "").strip()
    if category not in CATEGORIES:
        errors["category"] = "Choose a category for the document."
    title = " ".join((title or "").split())
    if not title:
        errors["title"] = "Enter a title for the document."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title to {TITLE_MAX} characters."
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"Keep the description to {DESCRIPTION_MAX} characters."
    shares, share_error = await _validated_shares(db, case_id, uploader_id, share_with)
    if share_error:
        errors["share_with"] = share_error

    content = b""
    file_name = sanitise_file_name(upload.filename if upload is not None else "")
    ext = extension_of(file_name)
    allowed = checked_extensions(settings)
    if upload is None or not upload.filename:
        errors["file"] = "Choose a file to upload."
    elif ext not in allowed:
        errors["file"] = f"This type of file cannot be uploaded. Allowed types: {', '.join(allowed)}."
    else:
        read = await read_limited(upload, settings.max_upload_bytes)
        if read is None:
            # Size first and alone: the other messages would not help until the file fits.
            raise DocumentProblem({"file": too_large_message(settings)}, status_code=413)
        content = read
        if not content:
            errors["file"] = "The file is empty."
        elif not content_looks_like(ext, content):
            errors["file"] = f"The file's content is not a valid .{ext} file."
    if errors:
        raise DocumentProblem(errors)

    # Generated, so the user's name never reaches the file system; the extension only helps people reading the folder.
    key = f"{uuid.uuid4().hex}.{ext}"
    await asyncio.to_thread(files.save, key, content)
    try:
        document = Document(
            case_id=case_id,
            uploader_id=uploader_id,
            category=category,
            title=title,
            description=description,
            file_name=file_name,
            storage_key=key,
            content_type=CONTENT_TYPES[ext],
            size_bytes=len(content),
            room_id=room_id,
        )
        db.add(document)
        await db.flush()
        db.add_all(DocumentShare(document_id=document.id, person_id=pid) for pid in shares)
        await db.commit()
    except BaseException:
        try:
            await db.rollback()
        finally:
            await asyncio.to_thread(files.delete, key)
        raise
    return document


def _visible_to(viewer_id: int, is_staff: bool):
    """Callers have already checked that the viewer takes part in the case."""
    if is_staff:
        return true()
    return or_(
        Document.uploader_id == viewer_id,
        Document.id.in_(select(DocumentShare.document_id).where(DocumentShare.person_id == viewer_id)),
        # The joint room is everyone on the case, including people added after the file was attached.
        Document.room_id.in_(select(DiscussionRoom.id).where(DiscussionRoom.kind == "joint")),
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def visible_documents(
    db: AsyncSession, case_id: int, viewer_id: int, is_staff: bool, category: str = "", q: str = ""
) -> list[DocumentRow]:
    """The case's documents this person may see, newest first, with whom each is shared.

    `category` filters when it is one of CATEGORIES (anything else, such as "All", means every category);
    `q` searches titles, ignoring case."""
    query = (
        select(Document)
        .where(Document.case_id == case_id, _visible_to(viewer_id, is_staff))
        .options(selectinload(Document.uploader))
        .order_by(Document.created_at.desc(), Document.id.desc())
    )
    if category in CATEGORIES:
        query = query.where(Document.category == category)
    q = " ".join((q or "").split())
    if q:
        query = query.where(Document.title.ilike(_like(q), escape="\\"))
    documents = list((await db.execute(query)).scalars())
    return await _rows(db, documents, viewer_id, is_staff)


async def visible_document(db: AsyncSession, case_id: int, document_id: int, viewer_id: int, is_staff: bool) -> DocumentRow | None:
    """One document if this person may see it; None whether it is missing or hidden, so existence does not leak."""
    query = (
        select(Document)
        .where(Document.id == document_id, Document.case_id == case_id, _visible_to(viewer_id, is_staff))
        .options(selectinload(Document.uploader))
    )
    document = (await db.execute(query)).scalar_one_or_none()
    if document is None:
        return None
    return (await _rows(db, [document], viewer_id, is_staff))[0]


async def _rows(db: AsyncSession, documents: list[Document], viewer_id: int, is_staff: bool) -> list[DocumentRow]:
    shared: dict[int, list[Person]] = {d.id: [] for d in documents}
    if documents:
        pairs = await db.execute(
            select(DocumentShare.document_id, Person)
            .join(Person, Person.id == DocumentShare.person_id)
            .where(DocumentShare.document_id.in_(list(shared)))
            .order_by(Person.full_name)
        )
        for document_id, person in pairs:
            shared[document_id].append(person)
    return [DocumentRow(document=d, shared_with=shared[d.id], can_delete=is_staff or d.uploader_id == viewer_id) for d in documents]


async def read_document(files: FileStore, document: Document) -> bytes:
    return await asyncio.to_thread(files.read, document.storage_key)


async def delete_document(db: AsyncSession, files: FileStore, case_id: int, document_id: int, viewer_id: int, is_staff: bool) -> bool:
    """Delete a document, its shares and its file, if this person uploaded it or is staff.

    False when there is no such document for them (hidden, missing or not theirs), which callers answer with 404."""
    row = await visible_document(db, case_id, document_id, viewer_id, is_staff)
    if row is None or not row.can_delete:
        return False
    key = row.document.storage_key
    # A discussion message keeps its text; only its attachment goes.
    await db.execute(update(RoomMessage).where(RoomMessage.document_id == document_id).values(document_id=None))
    await db.execute(delete(DocumentShare).where(DocumentShare.document_id == document_id))
    await db.execute(delete(Document).where(Document.id == document_id))
    await db.commit()
    # The file goes after the row: a failure here leaves an orphan file, never a row pointing at nothing.
    try:
        await asyncio.to_thread(files.delete, key)
    except OSError:
        log.exception("Could not delete the file of document %s (%s)", document_id, key)
    return True


def content_disposition(file_name: str) -> str:
    """An attachment header with a plain-ASCII name for old clients and the exact name (RFC 5987) for the rest."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in file_name) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
