"""RecordFailure: write a caught error on the job, for the Fail state to report."""

from typing import assert_never

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import logger, record_failure, tracer
from ecwid_cloner.steps.record_failure import CloneFailed, EventNotPublished, InstantSiteFailed, ProfileFailed
from ecwid_cloner.telemetry import record_event_not_published, record_failed, record_instant_site, record_profile


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"), ticket=event.get("ticket"))
    recorded = record_failure()(event)
    match recorded:
        case EventNotPublished():  # the outcome stands; its event did not go out
            logger.warning("Event not published", extra=recorded.detail())
            record_event_not_published()
        case ProfileFailed(outcome=profile):  # the store clone stands; only its profile step failed
            logger.warning("Store profile update failed", extra={"profile": profile.to_state()})
            record_profile(profile)
        case InstantSiteFailed(outcome=instant_site):  # the store clone stands; only its Instant Site step failed
            logger.warning("Instant Site clone failed", extra={"instantSite": instant_site.to_state()})
            record_instant_site(instant_site)
        case CloneFailed(failure=failure):
            logger.warning("Clone failed", extra={"failure": failure.to_state()})
            record_failed(failure)
        case _:
            assert_never(recorded)
    return recorded.to_state()
