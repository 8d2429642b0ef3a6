"""A large clone through the whole local pipeline: time, and the largest state payload.

    .venv/bin/python bench/large_clone.py [--products 100000] [--categories 10000]

Runs the real state machine and handlers on moto against the Ecwid sandbox,
clones a source store of that size, and reads the execution history for the
largest input or output any state carried (Step Functions' cap is 256 KiB).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "cloner")]

from local.ecwid_sandbox import SandboxConfig  # noqa: E402
from local.stack import LocalStack  # noqa: E402

SOURCE, TARGET = 990100, 2300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--categories", type=int, default=10_000)
    args = parser.parse_args()
    with LocalStack(sandbox_config=SandboxConfig(queued_seconds=0.3, clone_seconds=2.0), poll_scale=0.02) as stack:
        stack.sandbox.add_store(SOURCE, products=args.products, categories=args.categories)
        started = time.monotonic()
        run = stack.clone({"sourceStoreId": SOURCE, "targetStoreId": TARGET, "scope": "CATALOG"}, timeout=1800)
        seconds = time.monotonic() - started
    job = run.job
    assert job is not None, "the clone left no job"
    print(f"status                 {job['status']}")
    print(f"mapped                 {int(job['products']):,} products, {int(job['categories']):,} categories")
    print(f"execution seconds      {seconds:.1f} (sandbox clone 2.0 s, waits at poll scale 0.02)")
    print(
        f"largest state payload  {run.largest_state_bytes():,} bytes "
        f"({run.largest_state_bytes() / 262_144:.2%} of the 256 KiB cap)"
    )


if __name__ == "__main__":
    main()
