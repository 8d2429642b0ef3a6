"""CreateStore: make the merchant's new store, keep its token in Secrets Manager, hand the store on."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import logger, store_provisioning, tracer, waits_for_budget
from ecwid_cloner.state import CloneState
from ecwid_cloner.telemetry import record_store_created


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"))
    state = store_provisioning().create_store(CloneState.from_state(event))
    if waits_for_budget(state.budget, "CreateStore"):
        return state.to_state()
    answer = state.to_state()
    # The store ID and whether its token was kept; never the token.
    logger.info("Store created", extra={"store": answer.get("store")})
    record_store_created(state)
    return answer
