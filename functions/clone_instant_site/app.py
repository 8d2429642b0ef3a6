"""CloneInstantSite: after the store clone, copy the template's Instant Site to the target."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import clone_instant_site, logger, tracer, waits_for_budget
from ecwid_cloner.state import CloneState
from ecwid_cloner.telemetry import record_instant_site


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"), ticket=event.get("ticket"))
    state = clone_instant_site()(CloneState.from_state(event))
    if waits_for_budget(state.budget, "CloneInstantSite"):
        return state.to_state()
    answer = state.to_state()
    logger.info("Instant Site cloned", extra={"instantSite": answer.get("instantSite")})
    record_instant_site(state.instant_site)
    return answer
