"""Where the pipeline keeps things: jobs, mappings, store tokens, and the events it publishes."""
