"""Account emails (activation, password reset) leave through Temporal too, so a SendGrid outage delays them instead of losing them.

The message itself stays in the database ledger: a password link must never be written into workflow history.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities


@workflow.defn
class AccountEmailWorkflow:
    @workflow.run
    async def run(self, idempotency_key: str) -> bool:
        return await workflow.execute_activity_method(
            CaseActivities.deliver_stored_email,
            idempotency_key,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5), non_retryable_error_types=["PermanentEmailError"]),
        )
