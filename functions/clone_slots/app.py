"""AcquireSlot / ReleaseSlot: a clone takes a slot among the clones in flight before
its first Ecwid call, and gives it back on every way out."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import clone_slots, logger, tracer
from ecwid_cloner.state import SlotTicket
from ecwid_cloner.telemetry import record_slot_wait


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    clone_id = event["cloneId"]
    logger.append_keys(cloneId=clone_id)
    if event.get("action") == "release":
        released = {"released": clone_slots().release(clone_id)}
        logger.info("Slot released", extra=released)
        return released
    previous = event.get("slot")  # the ticket of its last try, when it waited in line
    slot = clone_slots().acquire(clone_id, SlotTicket.from_state(previous) if previous else None)
    answer = slot.to_state()
    if not slot.held:
        logger.info("Waiting for a slot", extra={"slot": answer})
    record_slot_wait(slot)
    return answer
