"""python -m local.ecwid_sandbox --port 8765 [--clone-seconds 20]: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import EcwidSandbox, SandboxConfig


def main(argv: list[str] | None = None) -> int:
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(prog="python -m local.ecwid_sandbox", description="Ecwid Clone Store API sandbox")
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    parser.add_argument("--queued-seconds", type=float, default=defaults.queued_seconds)
    parser.add_argument("--clone-seconds", type=float, default=defaults.clone_seconds)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--rate-limit-per-minute", type=int, default=None)
    parser.add_argument("--client-id", default=defaults.client_id)
    # The secret comes from the environment, not argv, so it stays out of `ps` output.
    parser.add_argument("--no-default-stores", action="store_true", help="start with no stores")
    parser.add_argument("--verbose", action="store_true", help="log each request line to stderr")
    args = parser.parse_args(argv)

    config = SandboxConfig(
        client_id=args.client_id,
        client_secret=os.environ.get("ECWID_SANDBOX_CLIENT_SECRET", defaults.client_secret),
        reseller_key=os.environ.get("ECWID_SANDBOX_RESELLER_KEY", defaults.reseller_key),
        queued_seconds=args.queued_seconds,
        clone_seconds=args.clone_seconds,
        seed=args.seed,
        rate_limit_per_minute=args.rate_limit_per_minute,
        host=args.host,
        port=args.port,
    )
    sandbox = EcwidSandbox(config, seed_default_stores=not args.no_default_stores)
    sandbox.log_to_stderr = args.verbose
    stop = threading.Event()
    # SIGTERM (docker stop, a test harness) ends it as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with sandbox:
        print(f"Ecwid sandbox serving at {sandbox.base_url}", flush=True)
        print(f"client id: {config.client_id} (secret from ECWID_SANDBOX_CLIENT_SECRET or the default)", flush=True)
        print(f"admin: {sandbox.admin_url}/stats", flush=True)
        print(f"instant site: {sandbox.instant_site_base_url}", flush=True)
        print(
            f"reseller API: {sandbox.reseller_base_url} (key from ECWID_SANDBOX_RESELLER_KEY or the default)",
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("Ecwid sandbox stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
