"""The Documents section of a case: list what is shared with you, add a document, download, delete.

The page and the JSON API share the service functions in services/documents.py. A document the viewer may
not see answers 404 like a missing one, so its existence does not leak.
"""

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile

from api.deps import CaseInView, csrf_protect, Ctx, Db, PathId
from api.pages import redirect, render
from api.errors import documented
from core.case_facts import case_titles
from features.documents.service import (
    CATEGORIES,
    Category,
    DocumentProblem,
    DocumentRow,
    checked_extensions,
    content_disposition,
    delete_document,
    read_document,
    served_content_type,
    share_targets,
    size_label,
    store_document,
    too_large_message,
    visible_document,
    visible_documents,
)
from core.inputs import is_id
from core.storage import file_store

router = APIRouter(tags=["documents"])

# Room for the other form fields around the file before a request is refused on its declared length alone.
FORM_OVERHEAD = 256 * 1024


async def upload_size_guard(request: Request, ctx: Ctx) -> None:
    """Refuse a body that is plainly too large before any of it is read (the form parser would spool it all)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ctx.settings.max_upload_bytes + FORM_OVERHEAD:
        raise HTTPException(status_code=413, detail=too_large_message(ctx.settings))


def share_ids(form: FormData) -> list[int]:
    ids = []
    for value in form.getlist("share_with"):
        try:
            ids.append(int(str(value)))
        except ValueError:
            raise DocumentProblem({"share_with": "Documents can only be shared with people in this case."}) from None
        if not is_id(ids[-1]):
            raise DocumentProblem({"share_with": "Documents can only be shared with people in this case."})
    return ids


async def store_from_form(ctx, db, access, form: FormData):
    upload = form.get("file")
    return await store_document(
        db,
        ctx.settings,
        file_store(ctx.settings),
        access.case.id,
        access.viewer.id,
        upload if isinstance(upload, UploadFile) else None,
        str(form.get("category") or ""),
        str(form.get("title") or ""),
        str(form.get("description") or ""),
        share_ids(form),
    )


def not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="No such document.")


async def download(ctx, db, access, document_id: int) -> Response:
    row = await visible_document(db, access.case.id, document_id, access.viewer.id, access.is_staff)
    if row is None:
        raise not_found()
    try:
        content = await read_document(file_store(ctx.settings), row.document)
    except FileNotFoundError:
        raise not_found() from None
    return Response(
        content,
        media_type=served_content_type(row.document.content_type),
        headers={
            "Content-Disposition": content_disposition(row.document.file_name),
            "X-Content-Type-Options": "nosniff",
            # Even if a browser rendered it, the file gets no scripts, forms or same-origin rights.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


# ---- pages -------------------------------------------------------------------------------------


async def documents_page(request: Request, db, access, status_code: int = 200, errors: dict | None = None, form: dict | None = None):
    ctx = request.app.state.ctx
    category = request.query_params.get("category", "")
    q = request.query_params.get("q", "")
    rows = await visible_documents(db, access.case.id, access.viewer.id, access.is_staff, category=category, q=q)
    people = [p for p in await share_targets(db, access.case.id) if p.id != access.viewer.id]
    titles = await case_titles(db, [access.case.id])
    return render(
        request,
        "pages/documents.html",
        status_code=status_code,
        case=access.case,
        title=titles[access.case.id],
        access=access,
        rows=rows,
        categories=CATEGORIES,
        category=category if category in CATEGORIES else "",
        q=q,
        people=people,
        errors=errors or {},
        form=form or {"category": "", "title": "", "description": "", "share_with": []},
        extensions=checked_extensions(ctx.settings),
        size_limit=size_label(ctx.settings.max_upload_bytes),
    )


@router.get("/cases/{case_id}/documents", include_in_schema=False)
async def documents_view(request: Request, db: Db, access: CaseInView):
    return await documents_page(request, db, access)


@router.post("/cases/{case_id}/documents", include_in_schema=False, dependencies=[Depends(upload_size_guard), Depends(csrf_protect)])
async def add_document_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    form = await request.form()
    try:
        document = await store_from_form(ctx, db, access, form)
    except DocumentProblem as problem:
        kept = {
            "category": str(form.get("category") or ""),
            "title": str(form.get("title") or ""),
            "description": str(form.get("description") or ""),
            "share_with": [str(v) for v in form.getlist("share_with")],
        }
        return await documents_page(request, db, access, status_code=problem.status_code, errors=problem.errors, form=kept)
    return redirect(request, f"/cases/{access.case.id}/documents", f"“{document.title}” was added.")


@router.get("/cases/{case_id}/documents/{document_id}/download", include_in_schema=False)
async def download_page(ctx: Ctx, db: Db, access: CaseInView, document_id: PathId):
    return await download(ctx, db, access, document_id)


@router.post("/cases/{case_id}/documents/{document_id}/delete", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def delete_document_form(request: Request, ctx: Ctx, db: Db, access: CaseInView, document_id: PathId):
    if not await delete_document(db, file_store(ctx.settings), access.case.id, document_id, access.viewer.id, access.is_staff):
        raise not_found()
    return redirect(request, f"/cases/{access.case.id}/documents", "The document was deleted.")


# ---- JSON API ----------------------------------------------------------------------------------


class PersonRef(BaseModel):
    id: int
    full_name: str


class DocumentOut(BaseModel):
    id: int
    case_id: int
    category: str
    title: str
    description: str
    file_name: str = Field(description="The uploaded name, sanitised; files are stored under generated keys.")
    content_type: str
    size_bytes: int
    uploaded_by: PersonRef
    created_at: datetime
    shared_with: list[PersonRef] = Field(description="Who may see it besides the uploader and center staff.")
    room_id: int | None = Field(description="The discussion room it was attached in, if any.")
    download_url: str
    can_delete: bool


def document_out(row: DocumentRow) -> DocumentOut:
    d = row.document
    created = d.created_at if d.created_at.tzinfo else d.created_at.replace(tzinfo=timezone.utc)
    return DocumentOut(
        id=d.id,
        case_id=d.case_id,
        category=d.category,
        title=d.title,
        description=d.description,
        file_name=d.file_name,
        content_type=d.content_type,
        size_bytes=d.size_bytes,
        uploaded_by=PersonRef(id=d.uploader.id, full_name=d.uploader.full_name),
        created_at=created,
        shared_with=[PersonRef(id=p.id, full_name=p.full_name) for p in row.shared_with],
        room_id=d.room_id,
        download_url=f"/api/v1/cases/{d.case_id}/documents/{d.id}/download",
        can_delete=row.can_delete,
    )


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "category", "title"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "At most the center's upload limit (10 MB by default)."},
                        "category": {"type": "string", "enum": list(CATEGORIES)},
                        "title": {"type": "string", "maxLength": 200},
                        "description": {"type": "string", "maxLength": 5000},
                        "share_with": {
                            "type": "array",
                            "items": {"type": "integer"},
                            "description": "Person ids in the case who may see it (repeat the field); the uploader and staff always can.",
                        },
                    },
                }
            }
        },
    }
}


@router.get(
    "/api/v1/cases/{case_id}/documents",
    tags=["documents"],
    summary="Documents of a case shared with you",
    response_model=list[DocumentOut],
    responses=documented(401, 404),
)
async def list_documents_api(
    db: Db,
    access: CaseInView,
    category: Category | None = None,
    q: str = Query("", max_length=200, description="Search document titles"),
) -> list[DocumentOut]:
    rows = await visible_documents(db, access.case.id, access.viewer.id, access.is_staff, category=category or "", q=q)
    return [document_out(row) for row in rows]


@router.post(
    "/api/v1/cases/{case_id}/documents",
    tags=["documents"],
    summary="Add a document (multipart/form-data)",
    status_code=201,
    response_model=DocumentOut,
    dependencies=[Depends(upload_size_guard), Depends(csrf_protect)],
    openapi_extra=UPLOAD_BODY,
    responses=documented(401, 403, 404, 413, 415, 422),
)
async def add_document_api(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(status_code=415, detail="Send the document as multipart/form-data.")
    try:
        document = await store_from_form(ctx, db, access, await request.form())
    except DocumentProblem as problem:
        return JSONResponse({"detail": str(problem), "errors": problem.errors}, status_code=problem.status_code)
    row = await visible_document(db, access.case.id, document.id, access.viewer.id, access.is_staff)
    return JSONResponse(document_out(row).model_dump(mode="json"), status_code=201)


@router.get(
    "/api/v1/cases/{case_id}/documents/{document_id}",
    tags=["documents"],
    summary="A document's details",
    response_model=DocumentOut,
    responses=documented(401, 404),
)
async def document_api(db: Db, access: CaseInView, document_id: PathId) -> DocumentOut:
    row = await visible_document(db, access.case.id, document_id, access.viewer.id, access.is_staff)
    if row is None:
        raise not_found()
    return document_out(row)


@router.get(
    "/api/v1/cases/{case_id}/documents/{document_id}/download",
    tags=["documents"],
    summary="Download a document (always as an attachment)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}, **documented(401, 404)},
)
async def download_api(ctx: Ctx, db: Db, access: CaseInView, document_id: PathId):
    return await download(ctx, db, access, document_id)


@router.delete(
    "/api/v1/cases/{case_id}/documents/{document_id}",
    tags=["documents"],
    summary="Delete a document (its uploader or staff)",
    status_code=204,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404),
)
async def delete_document_api(ctx: Ctx, db: Db, access: CaseInView, document_id: PathId) -> Response:
    if not await delete_document(db, file_store(ctx.settings), access.case.id, document_id, access.viewer.id, access.is_staff):
        raise not_found()
    return Response(status_code=204)
