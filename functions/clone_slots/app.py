"""AcquireSlot / ReleaseSlot: a clone takes a slot among the clones in flight before
its first Ecwid call, and gives it back on every way out."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import clone_slots, logger, tracer
from ecwid_cloner.telemetry import record_slot_wait


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"))
    if event.get("action") == "release":
        released = clone_slots().release(event)
        logger.info("Slot released", extra=released)
        return released
    slot = clone_slots().acquire(event)
    if not slot["held"]:
        logger.info("Waiting for a slot", extra={"slot": slot})
    record_slot_wait(slot)
    return slot
