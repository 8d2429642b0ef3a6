"""PersonalizeStore: after the clone, the store's profile becomes the merchant's, not the template's."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner.runtime import logger, personalize_store, tracer, waits_for_budget
from ecwid_cloner.state import CloneState
from ecwid_cloner.telemetry import record_profile


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(cloneId=event.get("cloneId"), ticket=event.get("ticket"))
    state = personalize_store()(CloneState.from_state(event))
    if waits_for_budget(state.budget, "PersonalizeStore"):
        return state.to_state()
    answer = state.to_state()
    # The names of the fields set, never their values (personal data stays on the job).
    logger.info("Store profile set", extra={"profile": answer.get("profile")})
    record_profile(state.profile)
    return answer
