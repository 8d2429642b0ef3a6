"""python -m console --api-url "$ApiUrl" [--sigv4 | --api-key K]: the operator console for a
deployed stack, on http://127.0.0.1:PORT/ (loopback only), signing with your own credentials."""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit

from console.proxy import check_credentials, signing_forward
from console.server import ConsoleServer
from local.api_client import client_from


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__)
    parser.add_argument("--api-url", required=True, help="the stack's ApiUrl output, e.g. https://…/v1")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--sigv4", action="store_true", help="sign with your AWS credentials (ApiAuthMode=AWS_IAM)")
    auth.add_argument("--api-key", help="the API key (ApiAuthMode=API_KEY; or STORE_CLONER_API_KEY)")
    parser.add_argument("--region", help="for --sigv4 (default: from the API's host name)")
    parser.add_argument("--port", type=int, default=8090, help="the console's port on 127.0.0.1 (default 8090)")
    parser.add_argument(
        "--refresh-seconds", type=float, default=5.0, help="how often the page reads the API (default 5)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    api_url = args.api_url.rstrip("/")
    if urlsplit(api_url).scheme not in ("https", "http") or not urlsplit(api_url).netloc:
        parser.error(f"--api-url: must be the API's http(s) URL, got {args.api_url!r}")
    client = client_from(api_url, args.api_key, args.sigv4, args.region)
    problem = check_credentials(client)
    if problem:
        parser.error(problem)
    auth = "SigV4" if client.sigv4 else "API key" if client.api_key else "none"
    if auth == "none" and not os.environ.get("STORE_CLONER_API_KEY"):
        print("note: requests go unsigned (no --sigv4, no --api-key): a deployed API will refuse them", flush=True)
    config = {"mode": "deployed", "api": urlsplit(api_url).netloc, "auth": auth, "refreshSeconds": args.refresh_seconds}
    console = ConsoleServer(signing_forward(client), config, port=args.port, log=lambda line: print(line, flush=True))
    console.bind()
    print(f"store-cloner console on {console.url} (API {api_url}, {auth}; Ctrl-C stops)", flush=True)
    console.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
