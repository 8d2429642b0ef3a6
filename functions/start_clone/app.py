"""StartClone: record the intent, ask Ecwid to clone, hand the ticket on."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import logger, start_clone, tracer, waits_for_budget
from ecwid_cloner.state import CloneState
from ecwid_cloner.telemetry import record_started


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"))
    state = start_clone()(CloneState.from_state(event))
    if waits_for_budget(state.budget, "StartClone"):
        return state.to_state()
    logger.info("Clone started", extra={"ticket": state.ticket, "status": state.status})
    record_started(state)
    return state.to_state()
