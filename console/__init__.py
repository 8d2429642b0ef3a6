"""The operator console: one page over the store-cloner API (console/static), served on
127.0.0.1 by ``python -m local console`` over the local stack, or by ``python -m console`` as a
signing proxy to a deployed stack's API."""
