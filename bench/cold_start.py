"""Cold start of every Lambda as deployed, against the honest floor: ``import boto3`` with its .pyc.

    .venv/bin/python bench/cold_start.py [--runs 10] [--sam-build] [--code-root DIR]

Each run is a new ``python -I -S -B`` process whose sys.path is what Lambda
gives the function: its code (functions/<name>, as /var/task) and the layer
(as /opt/python). -B: /var/task and /opt are read-only, nothing is written.

Two ways to build the layer, measured side by side:
- makefile (what ``sam build`` runs now): ``make -C layers/cloner
  build-ClonerLayer`` for this machine (``PLATFORM=``; sam build makes the same
  for arm64, which cannot be imported here): the packages and ecwid_cloner,
  compiled with ``--invalidation-mode unchecked-hash``;
- python3.13 (the BuildMethod before it): the same recipe with ``BYTECODE=no``,
  the same packages without any .pyc, so every cold start compiled every
  module it imported.
The functions ship as sources in both (sam build's python3.13 copy of app.py:
compiling it costs 0.1 to 1.5 ms, so they are not built with make).

The floor is ``import boto3`` from the makefile build: the runtime's own boto3
is compiled, so this is what the runtime pays before our code does anything.
Every ratio is to that one floor.

The environment is what template.yaml gives each function (Globals and its
own variables: a parameter's default where there is one, else a dummy ARN),
plus what Lambda sets: LAMBDA_TASK_ROOT, the
region, the function name, the X-Ray daemon address and context-missing
mode. So the Powertools Tracer is on, as deployed (not
POWERTOOLS_TRACE_DISABLED): it imports aws_xray_sdk and patches botocore and
requests at import. It opens no connection doing so: the child counts every
socket connect/send during init and the table shows it.

Measured inside each child with perf_counter:
- init: ``import app``, Lambda's INIT of the handler module (the target);
- +wiring: init plus what the first invocation builds (runtime's cached
  boto3 clients/resources, settings), without calling AWS;
- floor: ``import boto3`` alone, from the makefile build.
Runs take turns round-robin; medians, and ratios to the floor. A handler over
1.5x is broken down with ``python -X importtime``: what it imports beyond
the floor, and which of our modules pulls it in.
``--code-root DIR`` measures the layers/cloner and functions/ of another
checkout (e.g. one with a proposed lazy-import change).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
SAM_BUILD_DIR = Path("/tmp/bench-sam-build")

# What each handler's first invocation builds (runtime's functools caches).
WIRING = {
    "start_clone": "runtime.start_clone()",
    "check_clone_status": "runtime.check_clone_status()",
    "record_failure": "runtime.record_failure()",
    "api": "runtime.clone_launcher(); runtime.jobs_repository(); runtime.mapping_store()",
    "signup_consumer": "runtime.clone_launcher(); runtime.settings()",
}


def template_environment() -> dict[str, dict[str, str]]:
    """functions/<name> -> the variables template.yaml gives that function (Globals and its
    own), each a parameter's default where it refers to one with a default, else a dummy."""
    from cfnlint.decode import cfn_yaml  # reads !Ref and friends, as the tests do

    template = cfn_yaml.loads((ROOT / "template.yaml").read_text())
    parameters = template.get("Parameters", {})

    def concrete(name: str, raw: object) -> str:
        if isinstance(raw, (str, int, float)):
            return str(raw)
        default = parameters.get(raw.get("Ref"), {}).get("Default") if isinstance(raw, dict) else None
        if default not in (None, ""):
            return str(default)
        return f"arn:aws:bench:us-east-1:123456789012:{name.lower()}"  # a table, secret, state machine...

    shared = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    functions = {}
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            variables = {**shared, **properties.get("Environment", {}).get("Variables", {})}
            name = Path(properties["CodeUri"]).name
            functions[name] = {key: concrete(key, raw) for key, raw in variables.items()}
    return functions


# Runs in the child: count network use during init, time the imports.
CHILD = r"""
import json, socket, sys, time
sys.path[:0] = {paths!r}
calls = []
for name in ("connect", "connect_ex", "sendto", "sendall", "send"):
    original = getattr(socket.socket, name)
    def spy(self, *args, _original=original, _name=name):
        calls.append(_name)
        return _original(self, *args)
    setattr(socket.socket, name, spy)
start = time.perf_counter()
{imports}
init = time.perf_counter()
{wiring}
wired = time.perf_counter()
print(json.dumps({{"init": init - start, "wired": wired - start, "network": calls,
                   "tracer_on": {tracer_on}}}))
"""


def layer_made(root: Path, into: Path, bytecode: bool = True) -> Path:
    """The layer as sam build makes it now (layers/cloner/Makefile), for this machine; without
    ``bytecode``, as BuildMethod python3.13 shipped it (the same packages, no .pyc)."""
    made = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(root / "layers" / "cloner"),
            "build-ClonerLayer",
            f"ARTIFACTS_DIR={into}",
            "PLATFORM=",
            f"PYTHON={sys.executable}",
            f"BYTECODE={'yes' if bytecode else 'no'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if made.returncode:
        raise SystemExit(f"make build-ClonerLayer failed:\n{made.stderr}")
    return into / "python"


def functions_copy(root: Path, into: Path) -> Path:
    """functions/ of ``root`` as sam build copies them: sources only."""
    shutil.copytree(root / "functions", into / "functions", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return into


@dataclass(frozen=True)
class Setup:
    site: Path  # the layer's python/ directory: its packages and ecwid_cloner
    root: Path  # holds the functions/ measured
    environment: dict[str, dict[str, str]]  # template_environment()

    def function_dir(self, name: str | None) -> Path:
        return self.root / "functions" / (name or "")

    def env(self, name: str | None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(self.environment.get(name or "", {}))
        env.update(
            {
                "LAMBDA_TASK_ROOT": str(self.function_dir(name)),
                "AWS_LAMBDA_FUNCTION_NAME": f"store-cloner-{name or 'baseline'}",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_SESSION_TOKEN": "bench",
                "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "_HANDLER": "app.lambda_handler",
            }
        )
        return env

    def code(self, name: str | None) -> str:
        if name is None:
            return CHILD.format(paths=[str(self.site)], imports="import boto3", wiring="pass", tracer_on="None")
        return CHILD.format(
            paths=[str(self.function_dir(name)), str(self.site)],
            imports="import app",
            wiring=f"from ecwid_cloner import runtime; {WIRING.get(name, 'pass')}",
            tracer_on="not runtime.tracer.disabled",
        )

    def run(self, name: str | None, *flags: str) -> subprocess.CompletedProcess:
        """One fresh interpreter: isolated, no site-packages but the layer's, writing no bytecode."""
        return subprocess.run(
            [sys.executable, "-I", "-S", "-B", *flags, "-c", self.code(name)],
            env=self.env(name),
            cwd=self.function_dir(name),
            capture_output=True,
            text=True,
            check=False,
        )


def run_once(setup: Setup, name: str | None) -> dict:
    out = setup.run(name)
    if out.returncode:
        raise SystemExit(f"{name or 'baseline'} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_tree(setup: Setup, name: str | None) -> list[tuple[int, int, str]]:
    """(self us, depth, module) of one ``-X importtime`` run, in its order (children before parents)."""
    rows = []
    for line in setup.run(name, "-X", "importtime").stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and len(fields) == 3 and fields[0].strip().isdigit():
            module = fields[2].rstrip()
            rows.append((int(fields[0]), len(module) - len(module.lstrip()), module.strip()))
    return rows


def ours(module: str) -> bool:
    return module == "app" or module.startswith("ecwid_cloner")


def import_breakdown(setup: Setup, name: str, baseline: set[str], top: int = 12) -> list[tuple[str, str, float]]:
    """What the handler imports and the boto3 baseline (its modules) does not: (package, which
    of our modules pulls it in, ms of self time), largest first."""
    tree = import_tree(setup, name)
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for index, (self_us, depth, module) in enumerate(tree):
        if module in baseline:
            continue
        via, level = module, depth  # the nearest of our modules above it (a parent comes later, one level up)
        for _, parent_depth, parent in tree[index + 1 :]:
            if ours(via) and via != module:
                break
            if parent_depth < level:
                via, level = parent, parent_depth
        package = module if ours(module) else module.split(".")[0]
        totals[(package, via if via != module else "")] += self_us / 1000
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:top]
    return [(package, via, ms) for (package, via), ms in ranked]


def sam_build_sizes() -> None:
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}", "SAM_CLI_TELEMETRY": "0"}
    print(f"\n$ sam build --build-dir {SAM_BUILD_DIR}   (in {ROOT})", flush=True)
    subprocess.run(
        ["sam", "build", "--build-dir", str(SAM_BUILD_DIR)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"{'artifact':<26} {'du -sk':>10} {'files':>6} {'.pyc':>5}")
    for artifact in sorted(p for p in SAM_BUILD_DIR.iterdir() if p.is_dir()):
        kib = int(
            subprocess.run(["du", "-sk", str(artifact)], capture_output=True, text=True, check=True).stdout.split()[0]
        )
        files = [p for p in artifact.rglob("*") if p.is_file()]
        pyc = sum(p.suffix == ".pyc" for p in files)
        print(f"{artifact.name:<26} {kib:>7,} KiB {len(files):>6} {pyc:>5}")
        sources = [p for p in files if p.suffix == ".py"]
        if pyc and pyc < len(sources):
            print(f"  {artifact.name}: {len(sources) - pyc} .py without their .pyc")
    layer_packages = SAM_BUILD_DIR / "ClonerLayer" / "python"
    if layer_packages.is_dir():
        sizes = []
        for package in layer_packages.iterdir():
            if package.is_dir() and not package.name.endswith((".dist-info", "__pycache__")):
                sizes.append((sum(p.stat().st_size for p in package.rglob("*") if p.is_file()), package.name))
        largest = ", ".join(f"{name} {size / 2**20:.1f} MB" for size, name in sorted(sizes, reverse=True)[:5])
        print(f"  largest in the layer (apparent size): {largest}; a function and its layers may hold 250 MB unzipped")


MAKEFILE, PYTHON_BUILD = "makefile (.pyc)", "python3.13 (no .pyc)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs per target and build, at least 10 (default 10)")
    parser.add_argument("--sam-build", action="store_true", help="also run sam build and report artifact sizes")
    parser.add_argument("--code-root", type=Path, default=ROOT, help="measure this checkout's code (default: this one)")
    args = parser.parse_args()
    root = args.code_root.resolve()
    names = sorted(p.parent.name for p in (root / "functions").glob("*/app.py"))
    targets: list[str | None] = [None, *names]
    with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
        print(
            f"(building the layer twice into {scratch}: make build-ClonerLayer, with and without .pyc ...)", flush=True
        )
        environment = template_environment()
        code = functions_copy(root, Path(scratch))
        setups = {
            MAKEFILE: Setup(layer_made(root, Path(scratch) / "made"), code, environment),
            PYTHON_BUILD: Setup(layer_made(root, Path(scratch) / "plain", bytecode=False), code, environment),
        }
        floor_setup = setups[MAKEFILE]
        samples: dict[tuple[str, str | None], list[dict]] = defaultdict(list)
        for _ in range(max(1, args.runs)):
            for target in targets:  # round-robin: drift hits every target alike
                for label, setup in setups.items():
                    if target is None and setup is not floor_setup:
                        continue
                    samples[label, target].append(run_once(setup, target))
        floor = statistics.median(s["init"] for s in samples[MAKEFILE, None]) * 1000
        print(
            f"== Cold start: median of {args.runs} fresh interpreters per target and layer build "
            f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs); code of {root}"
        )
        print(
            f"floor: import boto3 with its .pyc = {floor:.0f} ms; every ratio is to it; target init <= "
            f"{TARGET_RATIO}x = {floor * TARGET_RATIO:.0f} ms"
        )
        print(
            f"{'function':<20} {'layer build':<22} {'init ms':>8} {'x floor':>8} {'+wiring ms':>11} {'x floor':>8} "
            f"{'tracer':>7} {'net calls':>9}"
        )
        missed = []
        for name in names:
            for label in setups:
                runs = samples[label, name]
                init = statistics.median(s["init"] for s in runs) * 1000
                wired = statistics.median(s["wired"] for s in runs) * 1000
                network = sum(len(s["network"]) for s in runs)
                tracer = "on" if all(s["tracer_on"] for s in runs) else "off"
                ratio = init / floor
                verdict = (
                    ""
                    if label != MAKEFILE
                    else ("MET" if ratio <= TARGET_RATIO else f"MISSED by {ratio / TARGET_RATIO - 1:.0%}")
                )
                print(
                    f"{name:<20} {label:<22} {init:>8.0f} {ratio:>8.2f} {wired:>11.0f} {wired / floor:>8.2f} "
                    f"{tracer:>7} {network:>9}  {verdict}"
                )
                if label == MAKEFILE and ratio > TARGET_RATIO:
                    missed.append(name)
        print(
            "  init = import app (Lambda's INIT of the handler module); +wiring = init and the clients/resources "
            "the first invocation builds (no AWS call); net calls = socket connects/sends, all runs"
        )
        floor_modules = {module for _, _, module in import_tree(floor_setup, None)} if missed else set()
        for name in missed:
            print(
                f"\n  {name}: imported beyond the floor (self ms in one -X importtime run, makefile build), "
                "and which of our modules pulls it in:"
            )
            for package, via, ms in import_breakdown(floor_setup, name, floor_modules):
                print(f"    {package:<30} {ms:6.1f} ms  {('via ' + via) if via else ''}")
    if args.sam_build:
        sam_build_sizes()


if __name__ == "__main__":
    main()
