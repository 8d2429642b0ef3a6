"""BulkWorker: one page of a bulk retry or cancel, then the pace to the next (the bulk state machine loops)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import bulk_worker, logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(bulkId=event.get("bulkId"))
    answer = bulk_worker().run(str(event["bulkId"]))
    for failure in answer.pop("failures", []):  # counted as failed on the bulk; why, here
        logger.warning("Bulk action failed on a clone", extra=failure)
    logger.info("Bulk page done", extra=answer)
    return answer
