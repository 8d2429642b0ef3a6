"""DescribeOutcome: the detail of a Clone Completed / Clone Failed event, read from the job.

The state machine publishes it with its native EventBridge integration.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.data.outcome_events import event_for
from ecwid_cloner.models import JobStatus
from ecwid_cloner.runtime import jobs_repository, logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"))
    job = jobs_repository().get(event["cloneId"])
    if job is None:  # failed before its intent was written, and RecordFailure could not write it
        return event_for(
            {"cloneId": event["cloneId"], "status": JobStatus.FAILED, **(event.get("failure") or {})},
            event["detailType"],
        )
    return event_for(job, event["detailType"])
