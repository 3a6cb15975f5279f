"""One email digest per discussion room at a time: messages posted within the delay go out together.

Each post signals this workflow with signal-with-start, so the first message of a quiet room starts a run and
the next ones join it. The run waits, then sends one email per member through the one notification activity. Only message
ids cross into history; the text of confidential discussions never does.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.discussion_activities import DigestBatch, DiscussionActivities, digest_notification
    from activities.notifications import EMAIL_DELIVERY, NotificationActivities

# Digests go through the one notification activity; runs that began before keep their own.
ONE_PIPELINE_PATCH = "digest-through-the-notification-pipeline"


@dataclass
class DigestRequest:
    room_id: int
    delay_seconds: int
    # Messages that arrived while the previous run was already sending, carried into the next run.
    pending_message_ids: list[int] = field(default_factory=list)


@workflow.defn
class DiscussionDigestWorkflow:
    def __init__(self) -> None:
        self._message_ids: list[int] = []

    @workflow.signal
    def message_posted(self, message_id: int) -> None:
        if message_id not in self._message_ids:
            self._message_ids.append(message_id)

    @workflow.run
    async def run(self, request: DigestRequest) -> int:
        carried = [m for m in request.pending_message_ids if m not in self._message_ids]
        self._message_ids[:0] = carried
        await workflow.sleep(timedelta(seconds=request.delay_seconds))
        batch = list(self._message_ids)
        info = workflow.info()
        sent = 0
        digest_key = f"{info.workflow_id}:{info.run_id}"
        try:
            if workflow.patched(ONE_PIPELINE_PATCH):
                notification = digest_notification(request.room_id, batch, digest_key)
                sent = await workflow.execute_activity_method(NotificationActivities.send_notification, notification, **EMAIL_DELIVERY)
            else:
                sent = await workflow.execute_activity_method(
                    DiscussionActivities.send_discussion_digest,
                    DigestBatch(room_id=request.room_id, message_ids=batch, digest_key=digest_key),
                    **EMAIL_DELIVERY,
                )
        except ActivityError as error:
            # A refused address is not worth keeping the room's later digests waiting for.
            workflow.logger.warning("Discussion digest for room %s failed: %s", request.room_id, error.cause or error)
        await workflow.wait_condition(workflow.all_handlers_finished)
        late = [m for m in self._message_ids if m not in batch]
        if late:
            # Posted while this run was sending: they get their own digest after a fresh delay.
            workflow.continue_as_new(DigestRequest(room_id=request.room_id, delay_seconds=request.delay_seconds, pending_message_ids=late))
        return sent
