"""RecordFailure: write a caught error on the job, for the Fail state to report."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import clone_steps, logger, tracer
from ecwid_cloner.telemetry import record_event_not_published, record_instant_site, record_outcome


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"), ticket=event.get("ticket"))
    state = clone_steps().record_failure(event)
    if "eventNotPublished" in state:  # the outcome stands; its event did not go out
        logger.warning("Event not published", extra=state["eventNotPublished"])
        record_event_not_published()
    elif "instantSite" in state:  # the store clone stands; only its Instant Site step failed
        logger.warning("Instant Site clone failed", extra={"instantSite": state["instantSite"]})
        record_instant_site(state)
    else:
        logger.warning("Clone failed", extra={"failure": state["failure"]})
        record_outcome(state)
    return state
