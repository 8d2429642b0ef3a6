"""Mapping writes: the project's MappingStore.write beside boto3's Table.batch_writer(),
and the status Lambda's peak memory on a 100,000-entry COMPLETED answer.

    .venv/bin/python bench/mapping_write.py [--sizes 1000 10000 100000] [--repeats 9 3 1] [--tracemalloc]
                                            [--latency-entries 10000] [--latency-ms 10]

1. Throughput, on moto (``mock_aws``): the same items (90 % products, 10 %
   categories, Ecwid-like 9-digit IDs) into a fresh table laid out as
   template.yaml's MappingsTable (key ``pk``, GSI ``clone-index``), through
   ``MappingStore.write`` (8 writer threads, low-level client) and through a
   plain ``boto3.resource("dynamodb").Table(...).batch_writer()`` loop, taking
   turns which goes first; items/s are medians over the repeats, the ratio
   the median of each back-to-back pair's ratio. moto answers
   in-process under the GIL with no network latency, so this compares the
   client-side cost of each path; it cannot show what 8 writers in flight buy
   against DynamoDB's real round trips.
2. Memory, in a fresh ``python -I -S`` holding only the layer (its
   dependencies as bench/cold_start.py installs them): the answer's JSON body
   arrives through the Ecwid client (a requests transport adapter hands it
   over as a socket would) and is parsed into the client's CloneStatus, then ``MappingStore.write`` sends
   the whole mapping through a real botocore DynamoDB client whose HTTP send
   is answered locally with no UnprocessedItems (DynamoDB is remote to a
   Lambda: nothing is stored in the process). Reported: the process's peak
   RSS (VmHWM; Lambda's "Max Memory Used" is the same kind of figure) and its
   growth over the process before the answer; with ``--tracemalloc`` also the
   tracemalloc peak of the work, from a second child (about 20 s more).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "cloner")]
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_SESSION_TOKEN="bench",
)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_name, None)

MEMORY_ENTRIES = 100_000
MEMORY_TARGET_MB = 256
CLONE_ID, TARGET_STORE = "2001-bench", 2001


def mapping_of(entries: int) -> dict[str, dict[str, str]]:
    products = entries * 9 // 10
    return {
        "products": {str(100_000_000 + i): str(700_000_000 + i) for i in range(products)},
        "categories": {str(10_000_000 + i): str(70_000_000 + i) for i in range(entries - products)},
    }


# -- 1. throughput on moto ---------------------------------------------------------------


def write_ours(client, table: str, mapping: dict) -> None:
    from ecwid_cloner.data.mappings import MappingStore

    MappingStore(client, table).write(CLONE_ID, TARGET_STORE, mapping)


def write_batch_writer(resource, table: str, mapping: dict) -> None:
    from ecwid_cloner.data.mappings import clone_partition, mapping_key

    with resource.Table(table).batch_writer() as writer:
        for entity, pairs in mapping.items():
            partition = clone_partition(CLONE_ID, entity)
            for source_id, target_id in pairs.items():
                writer.put_item(
                    Item={
                        "pk": mapping_key(TARGET_STORE, entity, source_id),
                        "cloneEntity": partition,
                        "sourceId": source_id,
                        "targetId": target_id,
                    }
                )


def throughput(sizes: list[int], repeats: list[int], latency_entries: int, latency_ms: float) -> list[dict]:
    """One row per size, and one for ``latency_entries`` with ``latency_ms`` added to every
    BatchWriteItem round trip (both paths, before moto answers; 0 entries: no such row)."""
    import boto3
    from moto import mock_aws

    from local.template_model import TemplateModel  # the template's MappingsTable, as the tests build it

    rows = []
    with mock_aws():
        client = boto3.client("dynamodb")
        resource = boto3.resource("dynamodb")
        tables = iter(range(1_000_000))
        template = TemplateModel()

        def timed(write, handle, mapping: dict) -> tuple[float, float]:
            """(wall seconds, CPU seconds of this process, all threads) of one write."""
            table = f"mappings-{next(tables)}"
            client.create_table(**template.table_arguments("MappingsTable", table))
            started, cpu_started = time.perf_counter(), time.process_time()
            write(handle, table, mapping)
            seconds = time.perf_counter() - started, time.process_time() - cpu_started
            written = client.describe_table(TableName=table)["Table"]["ItemCount"]
            client.delete_table(TableName=table)
            if written != sum(map(len, mapping.values())):
                raise AssertionError(f"{write.__name__} wrote {written} items")
            return seconds

        def row(size: int, count: int, latency: float) -> dict:
            mapping = mapping_of(size)
            ours: list[tuple[float, float]] = []
            baseline: list[tuple[float, float]] = []
            for turn in range(count):
                pair = [(ours, write_ours, client), (baseline, write_batch_writer, resource)]
                for times, write, handle in pair if turn % 2 == 0 else reversed(pair):
                    times.append(timed(write, handle, mapping))
            return {
                "entries": size,
                "runs": count,
                "latency_ms": latency,
                "ours": size / statistics.median(w for w, _ in ours),
                "baseline": size / statistics.median(w for w, _ in baseline),
                "ratio": statistics.median(b[0] / o[0] for o, b in zip(ours, baseline, strict=True)),
                "cpu_ratio": statistics.median(b[1] / o[1] for o, b in zip(ours, baseline, strict=True)),
            }

        rows += [row(size, count, 0.0) for size, count in zip(sizes, repeats, strict=True)]
        if latency_entries:

            def round_trip(**_):
                time.sleep(latency_ms / 1000)  # then moto answers, as DynamoDB would after the network

            for events in (client.meta.events, resource.meta.client.meta.events):
                events.register_first("before-send.dynamodb.BatchWriteItem", round_trip)
            rows.append(row(latency_entries, 1, latency_ms))
    return rows


# -- 2. peak memory of the status Lambda's work ------------------------------------------

MEMORY_CHILD = r"""
import gc, io, json, sys, time, tracemalloc
sys.path[:0] = {paths!r}
import boto3, requests
from botocore.awsrequest import AWSResponse
from requests.adapters import BaseAdapter
from ecwid_cloner.ecwid.clone_api import EcwidCloneClient
from ecwid_cloner.ecwid.transport import EcwidCredentials
from ecwid_cloner.data.mappings import MappingStore

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over execve from the forked parent.
    with open("/proc/self/status") as status:
        return int(status.read().split("VmHWM:")[1].split()[0]) / 1024

class EcwidAnswers(BaseAdapter):  # requests' transport, answering with the body as a socket would
    def __init__(self, body):
        super().__init__()
        self.body = body
    def send(self, request, **_):
        response = requests.Response()
        response.status_code, response.url, response.request = 200, request.url, request
        response.headers["Content-Type"] = "application/json"
        response.raw = io.BytesIO(self.body)
        return response
    def close(self):
        pass

class Raw:  # what botocore reads a response body from
    def __init__(self, body): self._body = body
    def stream(self, **_): yield self._body

def no_unprocessed(request, **_):
    return AWSResponse(request.url, 200, {{"Content-Type": "application/x-amz-json-1.0"}}, Raw(b'{{"UnprocessedItems": {{}}}}'))

def answer_body(entries):
    # Built as bytes, never as a dict, so that building it does not raise the high-water mark.
    products = entries * 9 // 10
    pairs = lambda first, target, count: b",".join(b'"%d":"%d"' % (first + i, target + i) for i in range(count))
    return (b'{{"status":"COMPLETED","clonedEntitiesMapping":{{"products":{{' + pairs(100000000, 700000000, products)
            + b'}},"categories":{{' + pairs(10000000, 70000000, entries - products) + b'}}}}}}')

dynamodb = boto3.client("dynamodb", region_name="us-east-1")
dynamodb.meta.events.register("before-send.dynamodb.BatchWriteItem", no_unprocessed)
body = answer_body({entries})
session = requests.Session()
session.mount("https://", EcwidAnswers(body))
ecwid = EcwidCloneClient(EcwidCredentials("bench", "bench"), "https://ecwid.example/api/v3", session=session)
body_mb = len(body) / 2**20
del body
gc.collect()
before = peak_mb()
if {trace}:
    tracemalloc.start()
started = time.perf_counter()
status = ecwid.get_status("bench-ticket")
session.close()
counts = MappingStore(dynamodb, "mappings").write("2001-bench", 2001, {{"products": status.products, "categories": status.categories}})
seconds = time.perf_counter() - started
traced = tracemalloc.get_traced_memory()[1] / 2**20 if {trace} else None
print(json.dumps({{"before": before, "peak": peak_mb(), "traced": traced, "counts": counts, "seconds": seconds,
                  "body_mb": body_mb}}))
"""


def memory(entries: int, trace_too: bool) -> tuple[dict, str]:
    """The work's memory (and, with ``trace_too``, its tracemalloc peak from a second child
    running beside it), and where the layer came from."""
    from cold_start import layer_made  # the layer as sam build makes it, for this machine

    origin = "make -C layers/cloner build-ClonerLayer PLATFORM= (sam build's recipe, for this machine)"
    with tempfile.TemporaryDirectory(prefix="mapping-memory-") as scratch:
        site = layer_made(ROOT, Path(scratch))
        children = {
            trace: subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    MEMORY_CHILD.format(paths=[str(site)], entries=entries, trace=trace),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
            for trace in ((False, True) if trace_too else (False,))
        }
        results = {}
        for trace, child in children.items():
            out, err = child.communicate()
            if child.returncode:
                raise SystemExit(f"memory child failed:\n{err}")
            results[trace] = json.loads(out.strip().splitlines()[-1])
    plain, traced = results[False], results.get(True, {"traced": None})
    if sum(plain["counts"].values()) != entries:
        raise AssertionError(f"wrote {plain['counts']}")
    return {
        "entries": entries,
        "before": plain["before"],
        "peak": plain["peak"],
        "traced": traced["traced"],
        "seconds": plain["seconds"],
        "body_mb": plain["body_mb"],
    }, origin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument(
        "--repeats",
        type=int,
        nargs="+",
        default=[9, 3, 1],
        help="runs of each writer per size (the last value serves any further sizes)",
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also the tracemalloc peak of the work (slow)")
    parser.add_argument(
        "--latency-entries", type=int, default=10_000, help="entries of the run with a simulated round trip (0: none)"
    )
    parser.add_argument("--latency-ms", type=float, default=10.0, help="the simulated BatchWriteItem round trip")
    args = parser.parse_args()
    repeats = (args.repeats + [args.repeats[-1]] * len(args.sizes))[: len(args.sizes)]

    mem, origin = memory(MEMORY_ENTRIES, args.tracemalloc)  # first, before moto fills this process
    rows = throughput(args.sizes, repeats, args.latency_entries, args.latency_ms)
    print("== Mapping writes on moto: MappingStore.write vs boto3 Table.batch_writer(), same items, same table layout")
    print(
        f"{'entries':>9} {'runs':>5} {'MappingStore items/s':>21} {'batch_writer items/s':>21} {'ratio':>6} "
        f"{'CPU ratio':>9}  ratio >= 1.0"
    )
    for row in rows:
        ratio = row["ratio"]
        verdict = "MET" if ratio >= 1.0 else f"MISSED by {1 - ratio:.0%}"
        if row["latency_ms"]:
            verdict = f"(+{row['latency_ms']:.0f} ms a BatchWriteItem)"
        cpu_ratio = "-" if row["latency_ms"] else f"{row['cpu_ratio']:.2f}"  # a sleep is no CPU work
        print(
            f"{row['entries']:>9,} {row['runs']:>5} {row['ours']:>21,.0f} {row['baseline']:>21,.0f} {ratio:>6.2f} "
            f"{cpu_ratio:>9}  {verdict}"
        )
    print(
        "  items/s: medians over the runs (wall clock); ratio: median of the back-to-back pairs' speed ratio, "
        "MappingStore / batch_writer; CPU ratio: the same in CPU seconds of this process (all threads), which other "
        "load on the machine does not skew. The two take turns to go first, each run into a fresh table checked to "
        "hold every item afterwards. The last row adds a simulated network round trip to every BatchWriteItem "
        "(a sleep before moto answers): what the 8 writers in flight are for"
    )

    verdict = "MET" if mem["peak"] < MEMORY_TARGET_MB else f"MISSED by {mem['peak'] - MEMORY_TARGET_MB:.0f} MB"
    print(
        f"\n== CheckCloneStatus on a {mem['entries']:,}-entry COMPLETED answer ({mem['body_mb']:.1f} MB of JSON): "
        f"parse into CloneStatus, write the mapping"
    )
    print(f"  peak RSS of the process      {mem['peak']:7.1f} MB   target < {MEMORY_TARGET_MB} MB: {verdict}")
    print(
        f"  RSS before the answer        {mem['before']:7.1f} MB   (interpreter, boto3, requests, ecwid_cloner, "
        "a DynamoDB client)"
    )
    print(f"  growth for the work          {mem['peak'] - mem['before']:7.1f} MB")
    if mem["traced"] is not None:
        print(f"  tracemalloc peak of the work {mem['traced']:7.1f} MB   (Python allocations, second run)")
    print(f"  seconds for the work         {mem['seconds']:7.2f}      (DynamoDB answered locally, nothing stored)")
    print(f"  layer dependencies from {origin}; peak = VmHWM of a fresh python -I -S")


if __name__ == "__main__":
    main()
