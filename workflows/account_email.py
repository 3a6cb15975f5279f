"""Account emails queued before every email went through the one notification pipeline: kept so those finish.

New account emails (activation, password reset) are delivered by `NotificationWorkflow` through the same activity as
every other email. The message itself stays in the database ledger: a password link is never written into history.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.notifications import EMAIL_DELIVERY


@workflow.defn
class AccountEmailWorkflow:
    @workflow.run
    async def run(self, idempotency_key: str) -> bool:
        return await workflow.execute_activity_method(CaseActivities.deliver_stored_email, idempotency_key, **EMAIL_DELIVERY)
