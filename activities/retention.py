"""Which closed cases are due for deletion of their records under the center's retention policy as it is now.

The policy is read from the settings when the sweep runs, never frozen per case, so a center that shortens or
lengthens it applies the change to every case already closed. The deletion itself is
`CaseActivities.purge_case_records`, which is idempotent.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from core.db.models import Case, utcnow
from core.settings import Settings
from core.stages import FINAL_STAGES


@dataclass
class DueCases:
    case_ids: list[int]
    # The retention period applied, in seconds: what the sweep's history records it acted on.
    retention_seconds: int


class RetentionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = sessions
        self._settings = settings

    @activity.defn
    async def cases_due_for_purge(self, after_case_id: int, limit: int) -> DueCases:
        """Up to `limit` ended cases, by id after `after_case_id`, that ended at least the retention period ago and
        still have records."""
        period: timedelta = self._settings.retention_period
        due_before = utcnow() - period
        async with self._sessions() as db:
            ids = (
                await db.execute(
                    select(Case.id)
                    .where(
                        Case.id > after_case_id,
                        Case.stage.in_([str(s) for s in FINAL_STAGES]),
                        Case.records_purged_at.is_(None),
                        Case.stage_since.is_not(None),
                        Case.stage_since <= due_before,
                    )
                    .order_by(Case.id)
                    .limit(limit)
                )
            ).scalars()
            return DueCases(case_ids=list(ids), retention_seconds=int(period.total_seconds()))
