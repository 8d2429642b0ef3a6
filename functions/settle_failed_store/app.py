"""SettleFailedStore: a provisioning that failed leaves no orphaned store behind. The store this
stack created is suspended, deleted or kept (FailedStoreAction); the job and the Clone Failed
event say which."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import logger, store_actions, tracer, waits_for_budget
from ecwid_cloner.state import BudgetTurn


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    clone_id = event["cloneId"]
    logger.append_keys(cloneId=clone_id)
    previous = event.get("storeAction") or {}  # this step's own result, when it waited for the budget
    outcome = store_actions().settle_failed(clone_id, BudgetTurn.from_state(previous.get("budget")))
    if waits_for_budget(outcome, "SettleFailedStore"):
        return {"budget": outcome.to_state()}  # $.storeAction.budget: the state machine waits, then runs this again
    settled = outcome.to_state() if outcome is not None else {}  # {}: no store of ours to settle
    logger.info("Failed clone's store settled", extra={"storeAction": settled})
    return settled
