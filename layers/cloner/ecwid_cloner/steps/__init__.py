"""The state machine's steps, as its Lambdas run them: a module per step, named as its handler
(start_clone, check_clone_status, personalize_store, clone_instant_site, record_failure,
create_store; store_actions for SettleFailedStore and the operators' store actions), with what
they share: poll_timing (when to poll next) and budgeted (how a step calls Ecwid within the
shared request budget)."""
