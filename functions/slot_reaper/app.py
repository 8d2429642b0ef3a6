"""SlotReaper: an execution that ended FAILED, TIMED_OUT or ABORTED gives back what its
clone still holds, its slot or its place in line (EventBridge: Step Functions Execution
Status Change)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import clone_slots, logger, store_actions, tracer
from ecwid_cloner.state import BudgetTurn
from ecwid_cloner.telemetry import record_slot_reaped


class StoreActionPending(Exception):
    """A cancelled clone's store action still waits for the budget: Lambda's retries come back later."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    detail = event.get("detail") or {}
    clone_id = detail.get("name")  # the execution name is the clone ID
    if not clone_id:
        logger.warning("Not an execution status change", extra={"detailType": event.get("detail-type")})
        return {"released": False}
    logger.append_keys(cloneId=clone_id)
    released = clone_slots().reap(clone_id)
    if released:
        logger.warning("Slot of a dead execution released", extra={"status": detail.get("status")})
        record_slot_reaped()
    # A cancel whose store action met a spent budget left it PENDING; an execution stopped by hand
    # never ran its SettleFailedStore step. Settled here, once (a settled store answers as it is).
    store_action = store_actions().settle_failed(clone_id)
    if isinstance(store_action, BudgetTurn):
        logger.warning(
            "Store action waits for the Ecwid request budget",
            extra={"storeAction": {"budget": store_action.to_state()}},
        )
        raise StoreActionPending(clone_id)
    if store_action is None:
        return {"cloneId": clone_id, "released": released}
    logger.info("Failed clone's store settled", extra={"storeAction": store_action.to_state()})
    return {"cloneId": clone_id, "released": released, "storeAction": store_action.to_state()}
