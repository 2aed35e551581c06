#!/usr/bin/env python3
"""HTTP side-by-side benchmark: hookserver against the other ways to serve hello-world.

Run from the repository root, after the builds (the script names the make target of
anything missing):

    python3 conformance/bench/bench.py [--quick] [--only hookserver,native]

What is measured. The same hook, the hello-world CompositeController, served four ways:
hookserver running `target/hooks/hello-world.wasm`, the same crate compiled natively into
hookserver's HTTP stack (`native-baseline`), a Node.js server and the Python reference
webhook (see conformance/baselines/README.md). For each backend:

1. Maximum throughput: `hookload` flat out (closed loop) on a few connections, small
   requests (one observed Pod). Gives req/s, latency percentiles and errors.
2. Latency against load: `hookload` open loop at 10, 25, 50, 75 and 90% of that backend's
   own maximum. Latency counts from when each request was due, so a slow answer delays
   nobody's clock (no coordinated omission). hookserver's target, p50 <= 150 us and
   p99 <= 1 ms, is read at 50%.
3. Request size (hookserver and native only): flat out with 0, 10, 100 and 1000 observed
   Pods per request, so the cost of moving a large request into Wasm shows against the
   same code run natively.

Why every request is distinct: `hookload` varies each request body, and hookserver runs
with `--response-cache-size 0` besides, so every answer is computed by running the hook;
a benchmark of repeated requests would measure the response cache, not the hook.

Why each backend alone: the machine is small (the load generator and the server share its
cores), so a backend is started fresh, measured with nothing else running, and stopped
before the next starts. Numbers on a busy machine are noisy; ratios hold better.

Output: every raw `hookload` report, with the exact command that produced it, goes to
`target/bench/http.json`; `report.py` then renders `target/bench/http.md` and the charts in
`docs/performance/`. The script exits non-zero if a backend does not start, or after
writing everything if any run had failed requests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402  (sibling module; the directory is not a package)

HOOKLOAD = Path("target/release/hookload")
HELLO_WORLD_WASM = Path("target/hooks/hello-world.wasm")
RESULTS = Path("target/bench/http.json")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class BenchError(Exception):
    """A failure that stops the benchmark; the message says what to do about it."""


@dataclass(frozen=True)
class Settings:
    """How long and how hard each run is."""

    duration: str
    warmup: str
    concurrency: int
    """Connections of a flat-out run."""
    rate_concurrency: int
    """Most requests in flight in an open-loop run: enough that the generator never waits."""
    load_percents: tuple[int, ...] = (10, 25, 50, 75, 90)
    size_children: tuple[int, ...] = (0, 10, 100, 1000)
    max_children: int = 1


FULL = Settings(duration="10s", warmup="2s", concurrency=8, rate_concurrency=32)
QUICK = Settings(duration="2s", warmup="1s", concurrency=8, rate_concurrency=32)


@dataclass
class Backend:
    """One way of serving hello-world: how to build it, start it, and reach its hook."""

    name: str
    label: str
    needs: dict[Path, str]
    """Files it needs, each with the command that builds it."""
    banner: str
    """Start of the line it prints once listening; the URL follows."""
    hook_path: str
    size_sweep: bool = False
    readyz: bool = False
    argv: list[str] = field(default_factory=list)
    """Set by `prepare`: the command line, with `display` its form for the docs."""
    display: str = ""

    def prepare(self, workdir: Path) -> None:
        """Fill in the command line; hookserver gets its own modules and cache dirs."""
        if self.name == "hookserver":
            modules, cache = workdir / "modules", workdir / "cache"
            modules.mkdir()
            shutil.copy(HELLO_WORLD_WASM, modules / HELLO_WORLD_WASM.name)
            self.argv = [
                "target/release/hookserver", "serve",
                "--modules", str(modules), "--listen", "127.0.0.1:0",
                "--cache-dir", str(cache), "--response-cache-size", "0",
            ]
            self.display = command_line(self.argv).replace(str(modules), "$MODULES").replace(
                str(cache), "$CACHE"
            ) + "  # $MODULES holds a copy of target/hooks/hello-world.wasm"
        else:
            self.display = command_line(self.argv)


def backends() -> list[Backend]:
    """The four backends, in the order they are measured and shown."""
    release = "cargo build --release -p hookserver -p native-baseline -p hookload"
    hookload = {HOOKLOAD: release}
    return [
        Backend(
            name="hookserver",
            label="hookserver (Wasm)",
            needs={Path("target/release/hookserver"): release, HELLO_WORLD_WASM: "make hooks", **hookload},
            banner="hookserver listening on ",
            hook_path="/hooks/hello-world/{hook}",
            size_sweep=True,
            readyz=True,
        ),
        Backend(
            name="native",
            label="native (axum, no Wasm)",
            needs={Path("target/release/native-baseline"): release, **hookload},
            banner="native baseline listening on ",
            hook_path="/hooks/hello-world/{hook}",
            size_sweep=True,
            argv=["target/release/native-baseline", "--listen", "127.0.0.1:0"],
        ),
        Backend(
            name="node",
            label="Node.js (http module)",
            needs={**hookload},
            banner="node webhook listening on ",
            hook_path="/hello-world/{hook}",
            argv=["node", "conformance/baselines/node/server.js", "--port", "0"],
        ),
        Backend(
            name="python",
            label="Python (reference webhook)",
            needs={**hookload},
            banner="reference webhook listening on ",
            hook_path="/hello-world/{hook}",
            argv=["python3", "conformance/reference/webhook.py", "--port", "0", "--quiet"],
        ),
    ]


def command_line(argv: list[str]) -> str:
    """A shell command line; URL templates stay in double quotes so `$URL` expands."""

    def quote(arg: str) -> str:
        return f'"{arg}"' if any(c in arg for c in "{}$ ") else arg

    return " ".join(quote(arg) for arg in argv)


def check_prerequisites(chosen: list[Backend]) -> None:
    if not Path("Cargo.toml").is_file() or not Path("conformance/bench").is_dir():
        raise BenchError("run from the repository root: python3 conformance/bench/bench.py")
    missing = {path: build for b in chosen for path, build in b.needs.items() if not path.exists()}
    for tool in {b.argv[0] for b in chosen if b.argv and not b.argv[0].startswith("target/")}:
        if shutil.which(tool) is None:
            raise BenchError(f"`{tool}` is not on the PATH; the {tool} baseline needs it")
    if missing:
        lines = [f"  {path}: build it with `{build}`" for path, build in missing.items()]
        raise BenchError("missing build outputs:\n" + "\n".join(lines))


# --- running a backend -------------------------------------------------------------------


@contextmanager
def running(backend: Backend):
    """Start the backend fresh in its own temp dir, yield its base URL, stop it after."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{backend.name}-") as tmp:
        workdir = Path(tmp)
        backend.prepare(workdir)
        stdout, stderr = workdir / "stdout.log", workdir / "stderr.log"
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            process = subprocess.Popen(backend.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            url = wait_for_banner(backend, process, stdout, stderr)
            if backend.readyz:
                wait_until_ready(backend, process, url, stderr)
            yield url
        finally:
            stop(process)


def wait_for_banner(backend: Backend, process: subprocess.Popen, stdout: Path, stderr: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in stdout.read_text(errors="replace").splitlines():
            if line.startswith(backend.banner):
                return line[len(backend.banner):].strip().rstrip("/")
        if process.poll() is not None:
            raise start_failure(backend, f"exited with status {process.returncode}", stderr)
        time.sleep(0.05)
    raise start_failure(backend, f"printed no '{backend.banner}...' line in {START_TIMEOUT_S:.0f} s", stderr)


def wait_until_ready(backend: Backend, process: subprocess.Popen, url: str, stderr: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise start_failure(backend, f"exited with status {process.returncode}", stderr)
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise start_failure(backend, f"GET {url}/readyz was not 200 within {START_TIMEOUT_S:.0f} s", stderr)


def start_failure(backend: Backend, what: str, stderr: Path) -> BenchError:
    tail = "\n".join(stderr.read_text(errors="replace").splitlines()[-15:])
    return BenchError(
        f"backend {backend.name} did not start: {what}\n  command: {backend.display}\n"
        f"  its stderr (last lines):\n{tail or '  (empty)'}"
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- running hookload ---------------------------------------------------------------------


def hookload(base: str, hook_path: str, settings: Settings, children: int, rate: float | None = None) -> dict:
    """One hookload run; returns {"command": ..., "report": ...}, `$URL` standing for `base`."""
    argv = [
        str(HOOKLOAD), "--json", "--url", base + hook_path, "--children", str(children),
        "--duration", settings.duration, "--warmup", settings.warmup,
    ]
    if rate is None:
        argv += ["--concurrency", str(settings.concurrency)]
    else:
        argv += ["--rate", f"{rate:.0f}", "--concurrency", str(settings.rate_concurrency)]
    done = subprocess.run(argv, capture_output=True, text=True)
    # Exit 1 with a report means no request succeeded: keep the report, its errors show it.
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise BenchError(
            f"hookload failed (exit {done.returncode}): {command_line(argv)}\n{done.stderr.strip()}"
        )
    return {"command": command_line(argv).replace(base, "$URL"), "report": json.loads(done.stdout)}


def summary(run: dict) -> str:
    r = run["report"]
    line = (
        f"{r['throughput']:>9.0f} req/s  p50 {r['latency_ms']['p50'] * 1000:>7.0f} us  "
        f"p99 {r['latency_ms']['p99'] * 1000:>7.0f} us  errors {r['errors']['total']}"
    )
    if r.get("rate"):
        line = f"asked {r['rate']['requested']:>7.0f}: " + line
    return line


def measure(backend: Backend, settings: Settings, say) -> dict:
    """All runs of one backend against one fresh server."""
    with running(backend) as base:
        say(f"{backend.name}: {backend.display.split('  #')[0]}")
        say(f"  listening on {base}")
        result = {"name": backend.name, "label": backend.label, "command": backend.display}
        result["max"] = hookload(base, backend.hook_path, settings, settings.max_children)
        say(f"  max        {summary(result['max'])}")
        top = result["max"]["report"]["ok_throughput"]
        result["load"] = []
        for percent in settings.load_percents:
            run = hookload(base, backend.hook_path, settings, settings.max_children, rate=max(1.0, top * percent / 100))
            result["load"].append({"percent": percent, **run})
            say(f"  load {percent:>3}%  {summary(run)}")
        result["sizes"] = []
        for children in settings.size_children if backend.size_sweep else ():
            run = hookload(base, backend.hook_path, settings, children)
            result["sizes"].append({"children": children, **run})
            say(f"  {children:>4} pods  {summary(run)}")
    return result


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": list(os.getloadavg()),
    }


def failed_runs(results: list[dict]) -> list[str]:
    """Every run that had failed requests, as one line each."""
    problems = []
    for backend in results:
        runs = [("max", backend["max"])]
        runs += [(f"load {r['percent']}%", r) for r in backend["load"]]
        runs += [(f"{r['children']} pods", r) for r in backend["sizes"]]
        for what, run in runs:
            errors = run["report"]["errors"]
            if errors["total"] > 0:
                kinds = {k: v for k, v in errors.items() if k != "total" and v}
                problems.append(f"{backend['name']} {what}: {errors['total']} failed {kinds}\n    {run['command']}")
    return problems


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s runs: a smoke test of the tooling, not figures to publish")
    names = [b.name for b in backends()]
    parser.add_argument("--only", default=",".join(names), help=f"comma-separated backends (default: {','.join(names)})")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(names)
    if unknown:
        parser.error(f"--only: unknown backend(s) {', '.join(sorted(unknown))}; choose from {', '.join(names)}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    chosen = [b for b in backends() if b.name in args.only]
    say = lambda text: print(text, flush=True)  # noqa: E731
    try:
        check_prerequisites(chosen)
        results = {
            "quick": args.quick,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(settings).items()},
            "backends": [measure(backend, settings, say) for backend in chosen],
        }
    except BenchError as error:
        print(f"bench.py: {error}", file=sys.stderr)
        return 1
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    say(f"wrote {RESULTS}")
    try:
        for path in report.render(RESULTS.parent, Path("docs")):
            say(f"wrote {path}")
    except report.ReportError as error:
        print(f"bench.py: {error}", file=sys.stderr)
        return 1
    problems = failed_runs(results["backends"])
    if problems:
        print("bench.py: runs with failed requests:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
