#!/usr/bin/env python3
"""Resync storm: hookserver answering one identical request over and over from its response cache.

Run from the repository root after `bench.py` (which rewrites `target/bench/http.json`):

    python3 conformance/bench/storm.py [--quick]

When metacontroller resyncs, it sends the same request for every unchanged object again.
hookserver, with its response cache on (the default, unlike bench.py's runs, which turn it
off to measure the hook), answers those from the cache without running the hook. This runs
`hookload --identical` flat out against a fresh hookserver serving hello-world and stores
the report, with the commands that reproduce it, under `"storm"` in `target/bench/http.json`.
The target is at least 50,000 req/s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (sibling module; the directory is not a package)

TARGET_RPS = 50_000
CONCURRENCY = 8


class CachedHookserver(bench.Backend):
    """bench.py's hookserver backend, with the response cache left at its default (on)."""

    def prepare(self, workdir: Path) -> None:
        super().prepare(workdir)
        at = self.argv.index("--response-cache-size")
        del self.argv[at:at + 2]
        self.display = self.display.replace(" --response-cache-size 0", "")


def storm_backend() -> CachedHookserver:
    ours = next(b for b in bench.backends() if b.name == "hookserver")
    return CachedHookserver(**{k: getattr(ours, k) for k in ours.__dataclass_fields__})


def storm_argv(base: str, hook_path: str, settings: bench.Settings) -> list[str]:
    return [
        str(bench.HOOKLOAD), "--json", "--url", base + hook_path, "--identical",
        "--concurrency", str(CONCURRENCY), "--duration", settings.duration, "--warmup", settings.warmup,
    ]


def measure(settings: bench.Settings, say) -> dict:
    backend = storm_backend()
    with bench.running(backend) as base:
        say(f"storm: {backend.display.split('  #')[0]}")
        argv = storm_argv(base, backend.hook_path, settings)
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0 or not done.stdout.strip():
            raise bench.BenchError(
                f"hookload failed (exit {done.returncode}): {bench.command_line(argv)}\n{done.stderr.strip()}"
            )
    run = {
        "target_rps": TARGET_RPS,
        "server_command": backend.display,
        "command": bench.command_line(argv).replace(base, "$URL"),
        "report": json.loads(done.stdout),
    }
    say(f"  identical  {bench.summary(run)}")
    return run


def store(results: Path, storm: dict) -> None:
    """Add the storm run to http.json, which bench.py must have written first."""
    if not results.exists():
        raise bench.BenchError(f"{results} does not exist: run `python3 conformance/bench/bench.py` first")
    http = json.loads(results.read_text())
    http["storm"] = storm
    results.write_text(json.dumps(http, indent=1) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s run: a smoke test, not a figure to publish")
    args = parser.parse_args(argv)
    say = lambda text: print(text, flush=True)  # noqa: E731
    try:
        bench.check_prerequisites([storm_backend()])
        if not bench.RESULTS.exists():
            raise bench.BenchError(f"{bench.RESULTS} does not exist: run `python3 conformance/bench/bench.py` first")
        storm = measure(bench.QUICK if args.quick else bench.FULL, say)
        store(bench.RESULTS, storm)
    except bench.BenchError as error:
        print(f"storm.py: {error}", file=sys.stderr)
        return 1
    say(f"added the storm run to {bench.RESULTS}")
    errors = storm["report"]["errors"]["total"]
    if errors:
        print(f"storm.py: {errors} failed requests\n    {storm['command']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
