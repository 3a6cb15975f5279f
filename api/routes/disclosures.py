"""A mediator's disclosure as the people on the case see it, and the parties' answer to it (object, saying why, or
not), as a page and as JSON (features/cases/disclosures.py). Staff decide objections from the staff console."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import CaseInView, Ctx, Db, PathId, csrf_protect
from api.errors import documented, status_of
from api.forms import submit
from api.pages import render
from core.case_state import CaseState
from core.errors import DomainError
from features.access import CaseAccess
from features.cases import disclosures
from features.cases.disclosures import DisclosureAnswer, DisclosureOut

router = APIRouter(tags=["disclosures"])
CSRF = [Depends(csrf_protect)]


async def disclosure_page(request: Request, db, access: CaseAccess, number: int, problem: DomainError | None = None) -> Response:
    view = await disclosures.disclosure_view(db, access, number)
    return render(
        request,
        "pages/disclosure.html",
        status_code=status_of(problem) if problem else 200,
        case=access.case,
        access=access,
        d=view,
        problem=problem,
        errors=problem.fields if problem else {},
        values=await request.form() if problem else {},
    )


@router.get("/cases/{case_id}/disclosures/{number}", include_in_schema=False)
async def disclosure_view(request: Request, db: Db, access: CaseInView, number: PathId):
    return await disclosure_page(request, db, access, number)


@router.post("/cases/{case_id}/disclosures/{number}", include_in_schema=False, dependencies=CSRF)
async def disclosure_form(request: Request, ctx: Ctx, db: Db, access: CaseInView, number: PathId):
    def done(state: CaseState) -> tuple[str, str]:
        record = next((r for r in state.disclosures if r.number == number), None)
        objected = record is not None and any(r.objects and r.by_id == access.viewer.id for r in record.responses)
        if objected:
            return f"/cases/{access.case.id}", "Your objection was sent to the center, which decides. You will be emailed the decision."
        return f"/cases/{access.case.id}", "Thank you: the center has your answer. You do not object to the mediator's disclosure."

    return await submit(
        request,
        DisclosureAnswer,
        lambda answer: disclosures.answer_disclosure(ctx, db, access, number, answer),
        lambda problem: disclosure_page(request, db, access, number, problem),
        done,
    )


@router.get("/api/v1/cases/{case_id}/disclosures", response_model=list[DisclosureOut], responses=documented(401, 404))
async def get_disclosures(db: Db, access: CaseInView) -> list[DisclosureOut]:
    """The mediators' disclosures on this case, and re-confirmations waiting: the answers for the parties, their
    representatives and the mediator; for interested persons only that there is one and how it ended."""
    return [view.out() for view in await disclosures.disclosure_views(db, access)]


@router.post(
    "/api/v1/cases/{case_id}/disclosures/{number}/answer",
    response_model=DisclosureOut,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def post_disclosure_answer(body: DisclosureAnswer, ctx: Ctx, db: Db, access: CaseInView, number: PathId) -> DisclosureOut:
    """Object to the disclosure (with the reason; the center decides) or say you do not object, for a party you act for,
    until the window closes."""
    state = await disclosures.answer_disclosure(ctx, db, access, number, body)
    views = await disclosures.disclosure_views(db, access, state)
    return next(v for v in views if v.number == number).out()
