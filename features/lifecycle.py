"""Turn a person's action into a workflow Update, and workflow answers into messages a person understands."""

from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from core.errors import Invalid, Rejected, Unavailable
from core.settings import Settings
from workflows.case import CaseWorkflow
from workflows.types import BallotView, CaseStatus


class ActionRejected(Rejected):
    """The workflow refused the action at this moment; the message is meant for the person who tried it."""


class LifecycleUnavailable(Unavailable):
    """Temporal could not be reached; the action did not happen and can be retried."""


def _refusal(cause: BaseException | None) -> Exception:
    """A validator's refusal as the taxonomy's error: input to correct (with its field), or the wrong moment."""
    message = getattr(cause, "message", None) or str(cause)
    if getattr(cause, "type", None) == "InvalidInput":
        details = list(getattr(cause, "details", None) or [])
        field = str(details[0]) if details else "request"
        return Invalid(message, {field: message})
    return ActionRejected(message)


def _translate(error: RPCError) -> Exception:
    if error.status == RPCStatusCode.NOT_FOUND or "already completed" in str(error).lower() or "completed workflow" in str(error).lower():
        return ActionRejected("This case is already over; nothing more can be done on it.")
    return LifecycleUnavailable("The case service is not reachable right now. Please try again in a moment.")


async def run_update(client: Client, settings: Settings, case_id: int, update, argument: Any, update_id: str | None = None) -> Any:
    handle = client.get_workflow_handle(settings.workflow_id(case_id))
    try:
        return await handle.execute_update(update, argument, id=update_id)
    except WorkflowUpdateFailedError as error:
        raise _refusal(error.cause) from error
    except RPCError as error:
        raise _translate(error) from error


async def case_status(client: Client, settings: Settings, case_id: int) -> CaseStatus:
    try:
        return await client.get_workflow_handle(settings.workflow_id(case_id)).query(CaseWorkflow.status)
    except RPCError as error:
        raise LifecycleUnavailable("The case service is not reachable right now. Please try again in a moment.") from error


async def case_ballots(client: Client, settings: Settings, case_id: int) -> list[BallotView]:
    try:
        return await client.get_workflow_handle(settings.workflow_id(case_id)).query(CaseWorkflow.ballots)
    except RPCError as error:
        raise LifecycleUnavailable("The case service is not reachable right now. Please try again in a moment.") from error


async def ballot_of(client: Client, settings: Settings, case_id: int, party_id: int) -> BallotView | None:
    try:
        return await client.get_workflow_handle(settings.workflow_id(case_id)).query(CaseWorkflow.ballot_of, party_id)
    except RPCError as error:
        raise LifecycleUnavailable("The case service is not reachable right now. Please try again in a moment.") from error
