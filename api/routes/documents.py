"""The Documents section of a case: the page and the JSON API, both doors to features/documents."""

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import CaseAccess, CaseInView, Ctx, Db, PathId, csrf_protect
from api.errors import documented, status_of
from api.forms import SHOWN_ON_THE_PAGE, body_input, confirmed, form_data, form_input, uploaded_file
from api.pages import redirect, render
from core.case_facts import case_titles
from core.errors import DomainError, NotFound
from features.context import AppContext
from features.documents.models import CATEGORIES, Category, DocumentOut, NewDocument
from features.documents.service import (
    NO_SUCH_DOCUMENT,
    DocumentDownload,
    add_document,
    checked_extensions,
    delete_document,
    download_document,
    list_documents,
    share_choices,
    size_label,
    visible_document,
)

router = APIRouter(tags=["documents"])


def streamed(file: DocumentDownload) -> StreamingResponse:
    """The file a chunk at a time as storage gives it: a large download is never held whole in memory."""
    return StreamingResponse(file.chunks, media_type=file.media_type, headers=file.headers)


NOTHING_TYPED = {"category": "", "title": "", "description": "", "share_with": []}


async def _page(request: Request, ctx: AppContext, db, access: CaseAccess, problem: DomainError | None = None, typed: dict | None = None) -> Response:
    category = request.query_params.get("category", "")
    q = request.query_params.get("q", "")
    return render(
        request,
        "pages/documents.html",
        status_code=status_of(problem) if problem else 200,
        case=access.case,
        title=(await case_titles(db, [access.case.id]))[access.case.id],
        access=access,
        documents=await list_documents(db, access, category=category, q=q),
        categories=CATEGORIES,
        category=category if category in CATEGORIES else "",
        q=q,
        people=await share_choices(db, access),
        problem=problem,
        errors=problem.fields if problem else {},
        form={**NOTHING_TYPED, **(typed or {})},
        extensions=checked_extensions(ctx.settings),
        size_limit=size_label(ctx.settings.max_upload_bytes),
    )


@router.get("/cases/{case_id}/documents", include_in_schema=False)
async def documents_page(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    return await _page(request, ctx, db, access)


@router.post("/cases/{case_id}/documents", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def add_document_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    try:
        document = await add_document(ctx, db, access, await uploaded_file(request, "file"), await form_input(request, NewDocument))
    except SHOWN_ON_THE_PAGE as problem:
        return await _page(request, ctx, db, access, problem, form_data(await request.form(), NewDocument))
    return redirect(request, f"/cases/{access.case.id}/documents", f"“{document.title}” was added.")


@router.get("/cases/{case_id}/documents/{document_id}/download", include_in_schema=False)
async def download_page(ctx: Ctx, db: Db, access: CaseInView, document_id: PathId):
    return streamed(await download_document(ctx, db, access, document_id))


@router.post("/cases/{case_id}/documents/{document_id}/delete", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def delete_document_form(request: Request, ctx: Ctx, db: Db, access: CaseInView, document_id: PathId):
    if not confirmed(await request.form()):
        # Without JavaScript nobody was asked yet: ask on a page of its own (the button then says yes).
        document = await visible_document(db, access, document_id)
        if not document.can_delete:
            raise NotFound(NO_SUCH_DOCUMENT)
        return render(
            request,
            "pages/confirm_delete.html",
            question="Delete this document?",
            what=document.file_name,
            written=document.created_at,
            details=[f"{document.category} · {document.title}", f"Uploaded by {document.uploaded_by.full_name}"],
            action=f"/cases/{access.case.id}/documents/{document_id}/delete",
            back=f"/cases/{access.case.id}/documents",
        )
    await delete_document(ctx, db, access, document_id)
    return redirect(request, f"/cases/{access.case.id}/documents", "The document was deleted.")


# ---- JSON API ----------------------------------------------------------------------------------

# The multipart body is read by the route itself (the file beside the model's fields), so OpenAPI is told its
# shape here: the model's own schema, one limit for both doors, plus the file.
_DETAILS = NewDocument.model_json_schema()
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", *_DETAILS["required"]],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "At most the center's upload limit (10 MB by default)."},
                        **_DETAILS["properties"],
                    },
                }
            }
        },
    }
}


@router.get(
    "/api/v1/cases/{case_id}/documents", summary="Documents of a case shared with you", response_model=list[DocumentOut], responses=documented(401, 404)
)
async def list_documents_api(
    db: Db,
    access: CaseInView,
    category: Category | None = None,
    q: str = Query("", max_length=200, description="Search document titles"),
) -> list[DocumentOut]:
    """The case's documents you may see, newest first; filter by category, search titles."""
    return await list_documents(db, access, category=category or "", q=q)


@router.post(
    "/api/v1/cases/{case_id}/documents",
    summary="Add a document (multipart/form-data)",
    status_code=201,
    response_model=DocumentOut,
    dependencies=[Depends(csrf_protect)],
    openapi_extra=UPLOAD_BODY,
    responses=documented(401, 403, 404, 409, 413, 415, 422, 503),
)
async def add_document_api(request: Request, ctx: Ctx, db: Db, access: CaseInView) -> DocumentOut:
    """Upload a file with its category, title and description, shared with the people named; 413 past the size limit."""
    details = await body_input(request, NewDocument, "multipart/form-data")
    return await add_document(ctx, db, access, await uploaded_file(request, "file"), details)


@router.get("/api/v1/cases/{case_id}/documents/{document_id}", summary="A document's details", response_model=DocumentOut, responses=documented(401, 404))
async def document_api(db: Db, access: CaseInView, document_id: PathId) -> DocumentOut:
    """One document you may see: who uploaded it, whom it is shared with, where to download it."""
    return await visible_document(db, access, document_id)


@router.get(
    "/api/v1/cases/{case_id}/documents/{document_id}/download",
    summary="Download a document (always as an attachment)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}, **documented(401, 404, 503)},
)
async def download_api(ctx: Ctx, db: Db, access: CaseInView, document_id: PathId):
    """The file, as an attachment that is never rendered in this site's origin."""
    return streamed(await download_document(ctx, db, access, document_id))


@router.delete(
    "/api/v1/cases/{case_id}/documents/{document_id}",
    summary="Delete a document (its uploader or staff)",
    status_code=204,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404),
)
async def delete_document_api(ctx: Ctx, db: Db, access: CaseInView, document_id: PathId) -> Response:
    """Delete a document with its file; for anyone but its uploader and staff there is nothing to delete (404)."""
    await delete_document(ctx, db, access, document_id)
    return Response(status_code=204)
