"""Signup events from SQS: one signup, one clone. A bad message fails alone."""

# No "from __future__ import annotations": pydantic reads SignupRecord's annotations as the class is made.

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.parser.types import Json
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner import runtime
from ecwid_cloner.api.clone_requests import SignupMessage

logger, tracer = runtime.logger, runtime.tracer


class SignupRecord(SqsRecordModel):
    body: Json[SignupMessage]  # the message, validated as the batch is read


class SignupBatchProcessor(BatchProcessor):
    def failure_handler(self, record, exception):
        # A message that does not validate fails alone: it is redelivered, then dead-lettered.
        logger.warning(
            "Bad signup message",
            extra={"messageId": getattr(record, "message_id", None), "problems": str(exception[1])},
        )
        return super().failure_handler(record, exception)


# A batch of bad messages is reported item by item, not as a Lambda error:
# the Errors alarm should mean a bug, and the DLQ alarm catches bad messages.
processor = SignupBatchProcessor(event_type=EventType.SQS, model=SignupRecord, raise_on_entire_batch_failure=False)


@tracer.capture_method
def start_clone_for(record: SignupRecord) -> str:
    signup = record.body
    request = signup.clone_request(runtime.settings().template_store_id)  # ValueError: no source to clone
    job, started = runtime.clone_launcher().launch(request, signup_id=signup.signupId)
    logger.info("Signup clone", extra={"signupId": signup.signupId, "cloneId": job.clone_id, "started": started})
    return job.clone_id


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=start_clone_for, processor=processor, context=context)
