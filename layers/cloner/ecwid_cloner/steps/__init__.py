"""The state machine's steps, as its Lambdas run them."""
