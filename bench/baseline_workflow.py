"""The raw-Temporal baseline: the selection pipeline's shape with nothing but Temporal in it.

One workflow per case receives what a case's workflow receives on its way to an accepted mediator
(intake, one ranking per party, the mediator's acceptance) as Updates, and completes. No HTTP, no
database, no activities, no email: the difference to the real pipeline is what the platform adds.
"""

from dataclasses import dataclass

from temporalio import workflow


@dataclass
class BaselineBallot:
    party_id: int
    ranked: list[int]


@workflow.defn
class BaselineCaseWorkflow:
    def __init__(self) -> None:
        self._intake = False
        self._ballots: dict[int, list[int]] = {}
        self._accepted = False
        self._parties = 0

    @workflow.run
    async def run(self, parties: int) -> int:
        self._parties = parties
        await workflow.wait_condition(lambda: self._intake)
        await workflow.wait_condition(lambda: len(self._ballots) >= self._parties)
        await workflow.wait_condition(lambda: self._accepted)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return min(self._ballots.values())[0]

    @workflow.update
    def accept_intake(self) -> None:
        self._intake = True

    @workflow.update
    def submit_ranking(self, ballot: BaselineBallot) -> int:
        self._ballots[ballot.party_id] = list(ballot.ranked)
        return self._parties - len(self._ballots)

    @submit_ranking.validator
    def _validate_submit_ranking(self, ballot: BaselineBallot) -> None:
        if not self._intake:
            raise ValueError("ranking is not open")

    @workflow.update
    def accept_conflict_check(self) -> None:
        self._accepted = True

    @accept_conflict_check.validator
    def _validate_accept(self) -> None:
        if len(self._ballots) < self._parties:
            raise ValueError("no conflict check yet")


@workflow.defn
class BaselineEchoWorkflow:
    """The floor of an action: an Update that does nothing, answered by a workflow that does nothing else."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)
        await workflow.wait_condition(workflow.all_handlers_finished)

    @workflow.update
    def echo(self, value: int) -> int:
        return value

    @workflow.update
    def finish(self) -> None:
        self._done = True
