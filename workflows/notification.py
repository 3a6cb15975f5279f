"""An email the web app sends (an account link, a calendar change) is delivered durably, like the emails the case
workflows send: one run per notification, through the one notification activity and its retry policy, so a SendGrid
outage delays it and never loses it. The workflow id is the notification's key, so it is sent once however often
the web asks."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.notifications import EMAIL_DELIVERY, NotificationActivities
    from activities.types import Notification


@workflow.defn
class NotificationWorkflow:
    @workflow.run
    async def run(self, notification: Notification) -> int:
        return await workflow.execute_activity_method(NotificationActivities.send_notification, notification, **EMAIL_DELIVERY)
