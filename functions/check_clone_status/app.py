"""CheckCloneStatus: poll the ticket; on COMPLETED store the mapping, pass on counts."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import check_clone_status, logger, tracer, waits_for_budget
from ecwid_cloner.state import CloneState
from ecwid_cloner.telemetry import record_outcome


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"), ticket=event.get("ticket"))
    state = check_clone_status()(CloneState.from_state(event))
    if waits_for_budget(state.budget, "CheckCloneStatus"):
        return state.to_state()
    answer = state.to_state()
    logger.info(
        "Clone status checked",
        extra={"status": state.status, "poll": answer.get("poll"), "result": state.result},
    )
    record_outcome(state)
    return answer
