"""DescribeOutcome: the detail of a Clone Completed / Clone Failed event, read from the job.

The state machine publishes it with its native EventBridge integration.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.data.outcome_events import event_for
from ecwid_cloner.runtime import jobs_repository, logger, tracer
from ecwid_cloner.state import Failure, OutcomeEvent
from ecwid_cloner.steps.record_failure import unrecorded_failure


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    clone_id, detail_type = event["cloneId"], event["detailType"]
    logger.append_keys(cloneId=clone_id)
    job = jobs_repository().get(clone_id)
    if job is None:  # failed before its intent was written, and RecordFailure could not write it
        failure = event.get("failure")
        job = unrecorded_failure(clone_id, Failure.from_state(failure) if failure else None)
    return OutcomeEvent.from_state(event_for(job, detail_type)).to_state()  # $.event
