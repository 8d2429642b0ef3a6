"""What the HTTP API takes and answers: request bodies, the launcher, queries, operator actions."""
