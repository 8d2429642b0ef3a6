"""RecordFailure: write a caught error on the job, for the Fail state to report."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import logger, record_failure, tracer
from ecwid_cloner.telemetry import record_event_not_published, record_failed, record_instant_site, record_profile


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"), ticket=event.get("ticket"))
    answer = record_failure()(event)
    if "eventNotPublished" in answer:  # the outcome stands; its event did not go out
        logger.warning("Event not published", extra=answer["eventNotPublished"])
        record_event_not_published()
    elif "profile" in answer:  # the store clone stands; only its profile step failed
        logger.warning("Store profile update failed", extra={"profile": answer["profile"]})
        record_profile(answer["profile"])
    elif "instantSite" in answer:  # the store clone stands; only its Instant Site step failed
        logger.warning("Instant Site clone failed", extra={"instantSite": answer["instantSite"]})
        record_instant_site(answer["instantSite"])
    else:
        logger.warning("Clone failed", extra={"failure": answer["failure"]})
        record_failed(answer["failure"])
    return answer
