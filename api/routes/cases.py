"""My Cases, Case Home, and filing a Request to Mediate."""


from fastapi import APIRouter, Depends, Request
from sqlalchemy import or_, select

from api.deps import CaseInView, CurrentViewer, Ctx, Db, csrf_protect
from api.pages import redirect, render
from core.db.models import Case, Participant, Person
from features.calendar.service import case_events
from core.case_facts import case_titles
from features.cases.next_steps import NO_ACTION, next_steps
from features.cases.filing import FilingForm, FilingProblem, file_request
from features.cases.state import case_state
from features.cases.messages import case_messages
from features.cases.roster import DISPUTE_BASES, DISPUTE_VALUES

router = APIRouter(tags=["cases"])


async def my_cases(db, viewer) -> list[Case]:
    query = select(Case).order_by(Case.id.desc())
    if not viewer.is_staff:
        # A mediator asked for a conflict check is not a participant yet, but must find the case to answer.
        query = query.where(
            or_(Case.id.in_(select(Participant.case_id).where(Participant.person_id == viewer.id)), Case.candidate_mediator_id == viewer.id)
        )
    return list((await db.execute(query.limit(200))).scalars())


@router.get("/cases", include_in_schema=False)
async def my_cases_page(request: Request, db: Db, viewer: CurrentViewer):
    cases = await my_cases(db, viewer)
    return render(request, "pages/my_cases.html", cases=cases, titles=await case_titles(db, [c.id for c in cases]))


@router.get("/cases/new", include_in_schema=False)
async def filing_page(request: Request, viewer: CurrentViewer):
    return render(request, "pages/file_case.html", form=FilingForm.blank(viewer.person), bases=DISPUTE_BASES, values=DISPUTE_VALUES)


@router.post("/cases/new", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def file_case_form(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer):
    form = FilingForm.from_form(await request.form())
    try:
        case = await file_request(ctx, db, viewer.person, form)
    except FilingProblem as problem:
        return render(
            request, "pages/file_case.html", status_code=422, form=form, errors=problem.errors, bases=DISPUTE_BASES, values=DISPUTE_VALUES
        )
    return redirect(request, f"/cases/{case.id}", "Your Request to Mediate was filed. The center will review it and propose mediators.")


@router.get("/cases/{case_id}", include_in_schema=False)
async def case_home(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    status = await case_state(db, access.case)
    steps = next_steps(status, access.viewer.id, access.is_staff, access.represented_party_ids, {p.role for p in access.roles})
    people = {p.id: p for p in (await db.execute(select(Person).where(Person.id.in_([status.mediator_id or -1])))).scalars()}
    titles = await case_titles(db, [access.case.id])
    events = await case_events(db, access.case.id)
    messages = await case_messages(db, access.case.id)
    return render(
        request,
        "pages/case_home.html",
        case=access.case,
        title=titles[access.case.id],
        status=status,
        steps=steps,
        no_action=NO_ACTION,
        mediator=people.get(status.mediator_id),
        access=access,
        events=events,
        messages=messages,
    )
