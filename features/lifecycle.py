"""The features' one door to the case workflows: an action becomes an Update, its answer the new state, and each
refusal one error of the taxonomy, with words the person who tried it can act on.

Before anything is sent, the workers must be there (the database says so; see `CaseWorker`): with every worker
down an action answers 503 and nothing is sent, so nothing can happen later that the person was told did not.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from core.db.session import release_connection
from core.errors import Forbidden, Invalid, Rejected, Unavailable
from features.context import AppContext

PAUSED = "Changes are paused for a moment while the case service restarts; nothing was changed. Please try again in a few minutes."
NOT_CONFIRMED = (
    "The case service did not confirm your change in time. If it went through, you will see it on the case page in a moment; if not, please do it again."
)
UNREACHABLE = "The case service is not reachable right now; nothing was changed. Please try again in a moment."
CASE_OVER = "This case is already over; nothing more can be done on it."


class ActionRejected(Rejected):
    """The workflow refused the action at this moment; the message is meant for the person who tried it."""


class LifecycleUnavailable(Unavailable):
    """The case service could not take the action; the message says whether anything may have happened."""


def refusal(cause: BaseException | None) -> Exception:
    """A validator's refusal as the taxonomy's error: input to correct (with its field), not yours to do, or the wrong moment."""
    message = getattr(cause, "message", None) or str(cause)
    kind = getattr(cause, "type", None)
    if kind == "InvalidInput":
        details = list(getattr(cause, "details", None) or [])
        field = str(details[0]) if details else "request"
        return Invalid(message, {field: message})
    if kind == "NotAllowed":
        return Forbidden(message)
    return ActionRejected(message)


def _translate(error: RPCError, gone: str) -> Exception:
    text = str(error).lower()
    if error.status == RPCStatusCode.NOT_FOUND or "already completed" in text or "completed workflow" in text:
        return ActionRejected(gone)
    if error.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return LifecycleUnavailable(NOT_CONFIRMED)
    return LifecycleUnavailable(UNREACHABLE)


async def run_update(ctx: AppContext, case_id: int, update, argument: Any, update_id: str | None = None, *, db: AsyncSession | None = None) -> Any:
    """Send the action to the case's workflow and return its answer (the new state, or None for an older case).

    `db`, the request's session, gives its connection back first: an Update can take a while under load, and a
    connection held through it is one the next request waits for."""
    return await run_workflow_update(ctx, ctx.settings.workflow_id(case_id), update, argument, update_id, db=db)


async def run_workflow_update(
    ctx: AppContext, workflow_id: str, update, argument: Any = None, update_id: str | None = None, *, db: AsyncSession | None = None, gone: str = CASE_OVER
) -> Any:
    """`run_update` for any of the case's workflows (a scheduling poll...); `gone` is what a completed one answers."""
    if not await ctx.workers_present():
        raise LifecycleUnavailable(PAUSED)
    if db is not None:
        await release_connection(db)
    client = await ctx.temporal.client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        if argument is None:
            return await handle.execute_update(update, id=update_id, rpc_timeout=ctx.settings.action_timeout)
        return await handle.execute_update(update, argument, id=update_id, rpc_timeout=ctx.settings.action_timeout)
    except WorkflowUpdateFailedError as error:
        raise refusal(error.cause) from error
    except WorkflowUpdateRPCTimeoutOrCancelledError as error:
        # Sent, and not answered in time: it may yet be applied (once) when its workflow runs again.
        raise LifecycleUnavailable(NOT_CONFIRMED) from error
    except RPCError as error:
        raise _translate(error, gone) from error
