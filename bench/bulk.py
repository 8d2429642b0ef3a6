"""Bulk actions at an operator's scale: cancel a line of waiting clones, retry the failed ones.

    .venv/bin/python bench/bulk.py --simulate                 # 10,000 cancels and 1,000 retries, simulated clock
    .venv/bin/python bench/bulk.py --local --waiting 300      # the local stack, real HTTP, real time

``--simulate`` runs the product's own BulkActions and BulkWorker, CloneCancellations,
CloneRetries and AdmissionControl, on moto's DynamoDB (the jobs table and the coordination
table as template.yaml declares them), against a Step Functions whose StartExecution and
StopExecution are token buckets with AWS's quotas (us-east-1's, the largest; other regions
have about half); the clock is simulated: every AWS call takes ``--call-ms``, a Wait state
waits what the worker said. It prints the bulk's seconds, its calls a second, the most any
second saw, throttled calls (the target: 0) and the worker's runs.

``--local`` sends ``--waiting`` signups behind 5 slots on the local stack (poll scale 0.5, as
tests/burst), cancels the waiting ones with POST /clones/bulk, and prints the same figures,
measured.

A bulk asks Ecwid nothing itself: a cancel stops an execution, a retry starts one, whose
Ecwid requests then go through admission and the request budget like a signup's
(bench/burst.py). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from decimal import Decimal

    from mypy_boto3_stepfunctions.client import SFNClient

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "cloner"), str(ROOT)]

# Step Functions' API quotas (token buckets) for Standard workflows in us-east-1, us-west-2 and
# eu-west-1 (AWS documentation, "Step Functions service quotas", API action throttling).
QUOTAS = {"StartExecution": (1300, 300.0), "StopExecution": (1000, 200.0)}


class SimulatedClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class QuotaStepFunctions:
    """StartExecution and StopExecution on a simulated clock, throttled as AWS throttles them."""

    def __init__(self, clock: SimulatedClock, call_seconds: float):
        self._clock = clock
        self._call_seconds = call_seconds
        self._tokens = {action: float(bucket) for action, (bucket, _) in QUOTAS.items()}
        self._at = dict.fromkeys(QUOTAS, 0.0)
        self.calls: dict[str, list[float]] = {action: [] for action in QUOTAS}
        self.throttled = Counter[str]()

    def _take(self, action: str) -> None:
        self._clock.advance(self._call_seconds)
        bucket, refill = QUOTAS[action]
        now = self._clock.now
        self._tokens[action] = min(bucket, self._tokens[action] + (now - self._at[action]) * refill)
        self._at[action] = now
        if self._tokens[action] < 1:
            self.throttled[action] += 1
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, action)
        self._tokens[action] -= 1
        self.calls[action].append(now)

    def start_execution(self, **_: object) -> dict:
        self._take("StartExecution")
        return {"executionArn": "arn"}

    def stop_execution(self, **_: object) -> dict:
        self._take("StopExecution")
        return {}


def per_second(times: list[float]) -> tuple[float, int]:
    """Mean calls a second over the bulk, and the most in any one second."""
    if not times:
        return 0.0, 0
    span = max(times) - min(times) or 1.0
    busiest = Counter(int(t) for t in times).most_common(1)[0][1]
    return round(len(times) / span, 1), busiest


def simulate(cancels: int, retries: int, per_second_setting: float, call_ms: float) -> dict:
    import boto3
    from moto import mock_aws

    from ecwid_cloner.admission.control import AdmissionControl, AdmissionPolicy
    from ecwid_cloner.admission.slot_store import DynamoSlotStore
    from ecwid_cloner.api.bulk_actions import BulkActions, BulkFilter, BulkRecords, BulkWorker
    from ecwid_cloner.api.launcher import CloneLauncher
    from ecwid_cloner.api.operator_actions import CloneCancellations, CloneRetries, stop_execution
    from ecwid_cloner.data.jobs import JobsRepository
    from ecwid_cloner.errors import ErrorCode
    from ecwid_cloner.models import CloneRequest, JobStatus, Scope
    from local.template_model import TemplateModel

    figures = {}
    with mock_aws():
        template = TemplateModel()
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        for logical_id in ("JobsTable", "CoordinationTable"):
            dynamodb.meta.client.create_table(**template.table_arguments(logical_id, logical_id))
        jobs = JobsRepository(dynamodb.Table("JobsTable"), retention_days=400)
        coordination = dynamodb.Table("CoordinationTable")
        arn = "arn:aws:states:us-east-1:123456789012:stateMachine:clones"
        clock = SimulatedClock()
        # Every DynamoDB call takes its time on the simulated clock too.
        dynamodb.meta.client.meta.events.register("before-call", lambda **_: clock.advance(call_ms / 1000))
        for action, count, status in (("cancel", cancels, JobStatus.WAITING), ("retry", retries, JobStatus.FAILED)):
            sfn = QuotaStepFunctions(clock, call_ms / 1000)
            slots = DynamoSlotStore(coordination)
            for index in range(count):
                clone_id = f"{action}-{index:05d}"
                jobs.record_intent(clone_id, CloneRequest(1003, 10_000 + index, Scope.CATALOG))
                if status == JobStatus.WAITING:
                    number, _ = slots.take_number()
                    jobs.advance(clone_id, JobStatus.WAITING, waitingPlace=number, slotNumber=number)
                else:
                    jobs.advance(
                        clone_id, JobStatus.FAILED, errorCode=ErrorCode.CLONE_FAILED, errorMessage="Ecwid said so"
                    )
            admission = AdmissionControl(slots, AdmissionPolicy.for_budget(540, 420), clock=clock)
            stepfunctions = cast("SFNClient", sfn)  # the two calls the bulk actions make, on the quotas
            cancellations = CloneCancellations(jobs, admission, stop_execution(stepfunctions, arn), lambda job: None)
            retries_ = CloneRetries(jobs, CloneLauncher(jobs, stepfunctions, arn))
            records = BulkRecords(coordination)
            worker = BulkWorker(jobs, records, retries_, cancellations, per_second=per_second_setting, clock=clock)
            bulk, _ = BulkActions(jobs, records, lambda bulk_id: None).start(
                action, BulkFilter(status), request_id=f"bench-{action}", by="bench"
            )
            runs, wall, begun = 0, time.monotonic(), clock.now
            while True:
                runs += 1
                answer = worker.run(bulk["bulkId"])
                if answer["done"]:
                    break
                clock.now += answer.get("waitSeconds", 0) + 0.05  # the Wait state, the state transitions
            record = records.get(bulk["bulkId"]) or {}
            api = "StopExecution" if action == "cancel" else "StartExecution"
            mean, busiest = per_second(sfn.calls[api])
            line = slots.line()
            figures[action] = {
                "clones": count,
                "done": int(record["done"]),
                "failed": int(record["failed"]),
                "skipped": int(record["skipped"]),
                "seconds": round(clock.now - begun, 1),
                f"{api}PerSecond": mean,
                f"{api}BusiestSecond": busiest,
                "throttled": sum(sfn.throttled.values()),
                "workerRuns": runs,
                "quota": f"{QUOTAS[api][1]:.0f}/s (bucket {QUOTAS[api][0]})",
                "ecwidRequestsPerMinute": 0,
                "benchWallSeconds": round(time.monotonic() - wall, 1),
                **(
                    {"lineInFlight": line.in_flight, "linePassedOf": f"{line.passed}/{count}"}
                    if action == "cancel"
                    else {}
                ),
            }
    return figures


def local(waiting: int) -> dict:
    import boto3

    from local.ecwid_sandbox import SandboxConfig
    from local.stack import LocalStack

    slots_cap, source = 5, 1010
    config = SandboxConfig(queued_seconds=0.5, clone_seconds=3.0)
    with LocalStack(sandbox_config=config, poll_scale=0.5) as stack:
        stack.configure(MAX_CLONES_IN_FLIGHT=str(slots_cap))
        stack.sandbox.add_store(source, products=20, categories=3, clone_seconds=600)
        for index in range(waiting + slots_cap):
            stack.send_signup(
                {
                    "signupId": f"bench-line-{index}",
                    "sourceStoreId": source,
                    "scope": "CATALOG",
                    "merchant": {"email": f"bench-line-{index}@example.com", "name": "Waiter"},
                }
            )
        stack.drain_signups(max_rounds=20 * waiting)
        deadline = time.monotonic() + 900
        while stack.jobs.count_by_status("WAITING")[0] < waiting and time.monotonic() < deadline:
            time.sleep(2)
        started = time.monotonic()
        status, bulk = stack.api(
            "POST", "/clones/bulk", {"action": "cancel", "filter": {"status": "WAITING"}, "requestId": "bench"}
        )
        assert status == 202, bulk
        while (view := stack.api("GET", f"/clones/bulk/{bulk['bulkId']}")[1])["status"] != "COMPLETED":
            time.sleep(0.5)
        seconds = time.monotonic() - started
        line = boto3.resource("dynamodb").Table(stack.coordination_table).get_item(Key={"name": "clone-slots"})["Item"]
        return {
            "waiting": waiting,
            "done": view["done"],
            "failed": view["failed"],
            "seconds": round(seconds, 1),
            "secondsOnAws": round(seconds / stack.poll_scale, 1),
            "StopExecutionPerSecondOnAws": round(view["done"] / (seconds / stack.poll_scale), 1),
            "lineInFlight": int(cast("Decimal", line["inFlight"])),
            "ecwidRequestsPerMinute": 0,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--simulate", action="store_true")
    mode.add_argument("--local", action="store_true")
    parser.add_argument("--cancels", type=int, default=10_000)
    parser.add_argument("--retries", type=int, default=1_000)
    parser.add_argument("--waiting", type=int, default=300)
    parser.add_argument("--per-second", type=float, default=20.0, help="BulkActionsPerSecond (default 20)")
    parser.add_argument("--call-ms", type=float, default=8.0, help="one AWS call's latency, simulated (default 8)")
    args = parser.parse_args()
    if args.simulate:
        figures = simulate(args.cancels, args.retries, args.per_second, args.call_ms)
        for action, row in figures.items():
            print(f"{action:>7}: " + ", ".join(f"{key} {value}" for key, value in row.items()))
    else:
        figures = local(args.waiting)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
