"""The retention sweep: deletes the records of every case that ended longer ago than the center's retention period.

A Temporal Schedule starts one sweep at a time (`ensure_retention_schedule` in workflows/worker.py, at worker
start-up), so no case workflow has to stay open for two years on a timer of its own, and the policy applied is the
center's current one. The sweep works in batches by case id and continues as new between batches, so its history
stays small however many cases are due; after a crash it resumes where it was, and deleting twice changes nothing.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.retention import RetentionActivities
    from activities.types import ActivityOptions

DATABASE_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1)),
}


@dataclass
class RetentionSweep:
    batch_size: int = 100
    # Where a sweep that continued as new picks up.
    after_case_id: int = 0
    purged_so_far: int = 0


@workflow.defn
class RetentionSweepWorkflow:
    @workflow.run
    async def run(self, sweep: RetentionSweep) -> int:
        due = await workflow.execute_activity_method(RetentionActivities.cases_due_for_purge, args=[sweep.after_case_id, sweep.batch_size], **DATABASE_ACTIVITY)
        for case_id in due.case_ids:
            await workflow.execute_activity_method(CaseActivities.purge_case_records, case_id, **DATABASE_ACTIVITY)
        purged = sweep.purged_so_far + len(due.case_ids)
        if len(due.case_ids) == sweep.batch_size:
            workflow.continue_as_new(RetentionSweep(batch_size=sweep.batch_size, after_case_id=due.case_ids[-1], purged_so_far=purged))
        if purged:
            workflow.logger.info("Retention sweep deleted the records of %s case(s) (retention %s s)", purged, due.retention_seconds)
        return purged
