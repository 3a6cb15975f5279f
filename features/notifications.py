"""The web's door to the one notification pipeline: an email event is handed to `NotificationWorkflow`, which
delivers it durably through the same activity, retry policy and ledger as every email the workflows send."""

import logging

from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.types import Notification
from features.context import AppContext
from features.lifecycle import LifecycleUnavailable
from workflows.notification import NotificationWorkflow

log = logging.getLogger(__name__)


async def notify(ctx: AppContext, notification: Notification) -> None:
    """Send `notification` once: its key names the delivery, so asking again for the same email sends nothing more."""
    client = await ctx.temporal.client()
    try:
        await client.start_workflow(
            NotificationWorkflow.run,
            notification,
            id=f"{ctx.settings.workflow_id_prefix}notification-{notification.key}",
            task_queue=ctx.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return
    except RPCError as error:
        raise LifecycleUnavailable("The email service is not reachable right now. Please try again in a moment.") from error
