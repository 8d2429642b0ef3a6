"""Signup events from SQS: one signup, one clone. A bad message fails alone."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ecwid_cloner import runtime
from ecwid_cloner.clone_requests import SignupMessage

logger, tracer = runtime.logger, runtime.tracer
# A batch of bad messages is reported item by item, not as a Lambda error:
# the Errors alarm should mean a bug, and the DLQ alarm catches bad messages.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def start_clone_for(record: SQSRecord) -> str:
    # A message that does not validate raises here: this item fails, is
    # redelivered, and ends in the dead-letter queue; the batch goes on.
    try:
        signup = SignupMessage.model_validate_json(record.body)
        request = signup.clone_request(runtime.settings().template_store_id)
    except ValueError as bad:  # pydantic's ValidationError is a ValueError
        logger.warning("Bad signup message", extra={"messageId": record.message_id, "problems": str(bad)})
        raise
    job, started = runtime.clone_launcher().launch(request, signup_id=signup.signupId)
    logger.info("Signup clone", extra={"signupId": signup.signupId, "cloneId": job["cloneId"], "started": started})
    return job["cloneId"]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context) -> dict:
    return process_partial_response(event=event, record_handler=start_clone_for, processor=processor, context=context)
