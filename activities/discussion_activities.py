"""The discussion digest's first activity, kept for digests gathered before every email went through the one
notification pipeline: it hands the batch to that pipeline, under the same email keys as before."""

from dataclasses import dataclass

from temporalio import activity

from activities.notifications import NotificationActivities
from activities.types import Notification


@dataclass
class DigestBatch:
    room_id: int
    message_ids: list[int]
    # One per digest run: with the recipient it keys the email, so a retried activity never sends twice.
    digest_key: str


def digest_notification(room_id: int, message_ids: list[int], digest_key: str) -> Notification:
    """A digest as a notification: the room and the gathered message ids; the text never enters history."""
    return Notification(
        key=f"room-digest:{digest_key}",
        template="discussion_digest",
        case_id=0,
        details={"room_id": str(room_id), "message_ids": ",".join(str(m) for m in message_ids)},
    )


class DiscussionActivities:
    def __init__(self, notifications: NotificationActivities):
        self._notifications = notifications

    @activity.defn
    async def send_discussion_digest(self, batch: DigestBatch) -> int:
        return await self._notifications.send_notification(digest_notification(batch.room_id, batch.message_ids, batch.digest_key))
