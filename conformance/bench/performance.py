#!/usr/bin/env python3
"""Generate docs/performance.md from every benchmark's results (run by `make bench`).

    python3 conformance/bench/performance.py [--bench-dir target/bench]
        [--criterion-dir target/criterion] [--notes conformance/bench/notes.md] [--docs-dir docs]

Reads, each optional (a missing one makes its section say which command to run):
- `http.json` (bench.py, with `"storm"` added by storm.py): HTTP side by side, resync storm;
- `memory.json` (`cargo bench --bench many_hooks`): RSS/PSS against hooks, restart, first call;
- `scripts.json` (`cargo bench --bench script_hooks`): adapters, script calls, their memory;
- criterion's `*/new/benchmark.json` and `estimates.json` (`cargo bench --bench runtime`),
  found by each benchmark's `full_id`, so the directory names criterion picks do not matter;
- `notes.md`: the hand-written analysis of missed targets, copied into its own section.

Writes `docs/performance.md`, and through report.py `target/bench/http.md` and the charts in
`docs/performance/`. Times are shown, never asserted: a missed target is a row in the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402  (sibling module; the directory is not a package)
from report import Verdict, fmt_ms, fmt_rate, table  # noqa: E402

HTTP_COMMAND = "python3 conformance/bench/bench.py"
STORM_COMMAND = "python3 conformance/bench/storm.py"
MEMORY_COMMAND = "cargo bench -p hookserver --bench many_hooks"
SCRIPTS_COMMAND = "cargo bench -p hookserver --bench script_hooks"
RUNTIME_COMMAND = "cargo bench -p hookserver --bench runtime"
NOTES = Path("conformance/bench/notes.md")
DOC = "performance.md"

CALL_TARGET_US = 30.0
RSS_START_TARGET_MIB = 32.0
RSS_CALLED_TARGET_MIB = 64.0
RSS_IDLE_TARGET_MIB = 32.0
FIRST_CALL_TARGET_MS = 2.0
RESTART_TARGET_MS = 1000.0
STORM_TARGET_RPS = 50_000.0
PAPER = ("the paper: 100 Wasm operators 86 MiB idle / 227 MiB active; "
         "as containers 1131 / 1405 MiB")


@dataclass
class Inputs:
    """Everything the document is made from; None (or empty) where not measured."""

    http: dict | None = None
    memory: dict | None = None
    scripts: dict | None = None
    criterion: dict[str, float] = field(default_factory=dict)
    """Criterion median per benchmark `full_id` (e.g. `call/hello-world/wasm`), in ns."""
    notes: str | None = None


def load(bench_dir: Path, criterion_dir: Path, notes: Path) -> Inputs:
    def optional(name: str) -> dict | None:
        path = bench_dir / name
        return report.load_json(path) if path.exists() else None

    memory = optional("memory.json")
    if memory is not None:
        report.check_memory(memory, bench_dir / "memory.json")
    return Inputs(
        http=optional("http.json"),
        memory=memory,
        scripts=optional("scripts.json"),
        criterion=criterion_medians(criterion_dir),
        notes=notes.read_text().strip() if notes.exists() else None,
    )


def criterion_medians(root: Path) -> dict[str, float]:
    """Median time in ns of every benchmark criterion has a `new` estimate for."""
    medians = {}
    for described in sorted(root.glob("**/new/benchmark.json")):
        estimates = described.parent / "estimates.json"
        if not estimates.exists():
            continue
        full_id = report.load_json(described).get("full_id")
        median = report.load_json(estimates).get("median", {}).get("point_estimate")
        if isinstance(full_id, str) and isinstance(median, (int, float)):
            medians[full_id] = float(median)
    return medians


# --- formatting -------------------------------------------------------------------------


def not_measured(command: str) -> str:
    return f"not measured: run `{command}`"


def fmt_ns(ns: float) -> str:
    if ns < 1000:
        return f"{ns:.0f} ns"
    if ns < 10_000:
        return f"{ns / 1000:.1f} µs"
    return fmt_ms(ns / 1e6)


def fmt_us(us: float) -> str:
    return fmt_ns(us * 1000)


def fmt_mib(mib: float) -> str:
    return f"{mib:,.1f} MiB"


def verdict(target: str, measured: str, met: bool, context: str = "") -> tuple[Verdict, str]:
    return Verdict(target, measured, met), context


def unmeasured(target: str, command: str, context: str = "") -> tuple[Verdict, str]:
    return Verdict(target, not_measured(command), None), context


# --- targets ----------------------------------------------------------------------------


def target_rows(inputs: Inputs) -> list[tuple[Verdict, str]]:
    """Every target of the issue, in order, each with a context column."""
    rows: list[tuple[Verdict, str]] = []
    http, memory, crit = inputs.http, inputs.memory, inputs.criterion

    for v in report.throughput_verdicts(http) if http else report.throughput_verdicts({"backends": []}):
        rows.append((v if v.met is not None else Verdict(v.target, not_measured(HTTP_COMMAND), None), ""))

    wording = f"in-process instantiate + run + drop of hello-world, p50 <= {CALL_TARGET_US:.0f} µs"
    call = crit.get("call/hello-world/wasm")
    if call is None:
        rows.append(unmeasured(wording, f"{RUNTIME_COMMAND} -- call/hello-world"))
    else:
        native = crit.get("call/hello-world/native")
        rows.append(verdict(wording, f"{fmt_ns(call)} (criterion median)", call / 1000 <= CALL_TARGET_US,
                            f"native: {fmt_ns(native)}" if native is not None else ""))

    for v in report.latency_verdicts(http) if http else report.latency_verdicts({"backends": []}):
        rows.append((v if v.met is not None else Verdict(v.target, not_measured(HTTP_COMMAND), None), ""))

    ours = memory.get("hookserver") if memory else None
    python = memory.get("python") if memory else None
    comparison = (f"Python, {python['processes']} processes: RSS {fmt_mib(python['rss_mib'])}, "
                  f"PSS {fmt_mib(python['pss_mib'])}" if python else "")
    hooks = ours["hooks"] if ours else 100
    for key, limit, wording, context in [
        ("rss_at_start_mib", RSS_START_TARGET_MIB, f"RSS right after start with {hooks} hooks", ""),
        ("rss_all_called_mib", RSS_CALLED_TARGET_MIB, f"RSS with all {hooks} hooks called", comparison),
        ("rss_after_idle_mib", RSS_IDLE_TARGET_MIB, "RSS once the hooks have idled", ""),
    ]:
        wording = f"{wording} <= {limit:.0f} MiB"
        if ours is None:
            rows.append(unmeasured(wording, MEMORY_COMMAND, context))
        else:
            rows.append(verdict(wording, fmt_mib(ours[key]), ours[key] <= limit, context))

    wording = f"first call of a module with a warm disk cache <= {FIRST_CALL_TARGET_MS:.0f} ms"
    readings = []
    if ours is not None:
        readings.append((ours["first_call_mean_ms"], f"{fmt_ms(ours['first_call_mean_ms'])} over HTTP "
                                                    f"(mean of {hooks} hooks)"))
    if "module_cache/disk" in crit:
        ms = crit["module_cache/disk"] / 1e6
        readings.append((ms, f"{fmt_ms(ms)} loading it (criterion `module_cache/disk`)"))
    if readings:
        rows.append(verdict(wording, "; ".join(text for _, text in readings),
                            all(ms <= FIRST_CALL_TARGET_MS for ms, _ in readings)))
    else:
        rows.append(unmeasured(wording, f"{MEMORY_COMMAND}` and `{RUNTIME_COMMAND}"))

    wording = f"restart to ready with {hooks} cached modules <= {RESTART_TARGET_MS / 1000:.0f} s"
    if ours is None:
        rows.append(unmeasured(wording, MEMORY_COMMAND))
    else:
        rows.append(verdict(wording, fmt_ms(ours["restart_to_ready_ms"]),
                            ours["restart_to_ready_ms"] <= RESTART_TARGET_MS))

    wording = f"resync storm (identical requests, response cache) >= {fmt_rate(STORM_TARGET_RPS)} req/s"
    storm = http.get("storm") if http else None
    if storm is None:
        rows.append(unmeasured(wording, STORM_COMMAND))
    else:
        r = storm["report"]
        rows.append(verdict(wording, f"{fmt_rate(r['ok_throughput'])} req/s, p50 {fmt_ms(r['latency_ms']['p50'])}",
                            r["ok_throughput"] >= STORM_TARGET_RPS))
    return rows


def targets_section(inputs: Inputs) -> str:
    rows = target_rows(inputs)
    body = table(["target", "measured", "verdict", "for comparison"],
                 [[v.target, v.measured, v.word, context] for v, context in rows])
    return ("## Targets against measurements\n\n"
            "Each row's figure comes from a section below, which gives the command that reproduces it.\n\n"
            + body + f"\n\nFor context, {PAPER}.")


# --- sections ---------------------------------------------------------------------------


def intro(inputs: Inputs, generated: str) -> str:
    http = inputs.http
    if http:
        m = http["machine"]
        machine = (f"{m['cpus']} cores, {m['cpu_model'] or 'CPU model unknown'} (from /proc/cpuinfo), "
                   f"{m['system']}; HTTP runs started {http['started']}, load average "
                   f"{m['load_average_at_start'][0]:.2f}")
    else:
        machine = (f"{os.cpu_count()} cores, {platform.system()} {platform.release()} (the machine that "
                   f"generated this page; no http.json recorded the one that measured)")
    text = [
        "# Performance",
        "<!-- Generated by conformance/bench/performance.py (`make bench`): do not edit by hand. "
        "The analysis of missed targets comes from conformance/bench/notes.md. -->",
        f"Machine: {machine}. Generated {generated}. Release builds.",
        "Every figure here is a measurement, not a test: no test asserts a time, so a slow or busy "
        "machine shows up as a missed target below, never as a failing build. Each section names the "
        "command that reproduces it; `make bench` runs them all and regenerates this page. Ratios "
        "hold better across machines than absolute values.",
    ]
    if http and http.get("quick"):
        text.append("**The HTTP figures are from a quick run (`--quick`): a smoke test of the tooling, "
                    "not figures to publish.**")
    return "\n\n".join(text)


def http_section(inputs: Inputs) -> str:
    if not inputs.http:
        return "## HTTP: hookserver side by side\n\n" + not_measured(HTTP_COMMAND) + "."
    return report.markdown(inputs.http, with_targets=False).rstrip() + "\n\n" + storm_section(inputs.http)


def storm_section(http: dict) -> str:
    heading = "### Resync storm: identical requests from the response cache"
    storm = http.get("storm")
    if not storm:
        return f"{heading}\n\n{not_measured(STORM_COMMAND)}."
    r = storm["report"]
    return "\n\n".join([
        heading,
        f"`{STORM_COMMAND}`",
        "metacontroller resends the same request for every unchanged object on resync; hookserver, "
        "with its response cache on (its default), answers those without running the hook.",
        table(["req/s", "p50", "p90", "p99", "errors"],
              [[fmt_rate(r["ok_throughput"]), *(fmt_ms(r["latency_ms"][k]) for k in ("p50", "p90", "p99")),
                str(r["errors"]["total"])]]),
        f"```sh\n{storm['server_command']}\n{storm['command']}\n```",
    ])


def memory_section(inputs: Inputs) -> str:
    heading = "## Memory: 100 distinct hooks"
    memory = inputs.memory
    if not memory:
        return f"{heading}\n\n{not_measured(MEMORY_COMMAND)}."
    series = memory["series"]
    hooks = sorted({p["hooks"] for s in series for p in s["points"]})
    by_series = [{p["hooks"]: p["rss_mib"] for p in s["points"]} for s in series]
    curve = table(["hooks called"] + [f"{s['name']}, MiB" for s in series],
                  [[str(h)] + [f"{v[h]:,.1f}" if h in v else "" for v in by_series] for h in hooks])
    parts = [heading, f"`{memory.get('command', MEMORY_COMMAND)}`"]
    ours, python = memory.get("hookserver"), memory.get("python")
    if ours:
        rows = [
            [f"hookserver, {ours['hooks']} hooks, right after start", fmt_mib(ours["rss_at_start_mib"]), ""],
            [f"hookserver, all {ours['hooks']} called once", fmt_mib(ours["rss_all_called_mib"]), ""],
            [f"hookserver, after {ours['idle_wait_s']} s idle", fmt_mib(ours["rss_after_idle_mib"]), ""],
        ]
        if python:
            rows.append([f"Python, {python['processes']} processes, each called once",
                         fmt_mib(python["rss_mib"]), fmt_mib(python["pss_mib"])])
        parts.append(table(["", "RSS", "PSS"], rows))
        parts.append(f"Restart to ready with {ours['hooks']} cached modules: {fmt_ms(ours['restart_to_ready_ms'])} "
                     f"(first start, compiling them all: {ours['first_start_s']:.1f} s). First call of each "
                     f"hook, loaded from the disk cache: {fmt_ms(ours['first_call_mean_ms'])} on average.")
    parts += [f"![RSS against hooks called]({report.MEMORY_CHART})", curve]
    parts.append(
        "Method: RSS is `VmRSS` from `/proc/PID/status`, summed over a series' processes; PSS is "
        "`Pss` from `/proc/PID/smaps_rollup`, which divides shared pages among the processes that "
        "map them, so 100 Python processes are not charged 100 times for one interpreter. "
        "A deployment that gives hookserver its own cgroup would read cgroup v2 `memory.current` "
        "and `memory.peak` instead (they count page cache too); those are **not measured here**: "
        "the benchmark's processes share the session's cgroup, so its figures would not be theirs.")
    return "\n\n".join(parts)


def runtime_section(inputs: Inputs) -> str:
    heading = "## Runtime (criterion)"
    crit = inputs.criterion
    if not crit:
        return f"{heading}\n\n{not_measured(RUNTIME_COMMAND)}."
    parts = [heading, f"`make hooks && {RUNTIME_COMMAND}` (medians; criterion's own reports are in "
                      "`target/criterion`)"]

    examples = sorted({key.split("/")[1] for key in crit if key.startswith("call/") and key.count("/") == 2})
    rows = []
    for name in examples:
        wasm, native = crit.get(f"call/{name}/wasm"), crit.get(f"call/{name}/native")
        lean = crit.get(f"call/{name}/wasm-lean")
        rows.append([name, fmt_ns(wasm) if wasm else "", fmt_ns(lean) if lean else "",
                     fmt_ns(native) if native else "",
                     report.fmt_ratio(wasm / native) if wasm and native else ""])
    parts.append("### One call: instantiate + run + drop, against the same hook compiled natively\n\n"
                 "Wasm with the default `--instance-reset fast`, and with `lean`.\n\n"
                 + (table(["example", "Wasm", "Wasm, lean reset", "native", "Wasm / native"], rows) if rows
                    else not_measured(f"{RUNTIME_COMMAND} -- call/") + "."))

    cache = [[label, fmt_ns(crit[key])] for key, label in [
        ("module_cache/hit", "compiled module found in memory (`module_cache/hit`)"),
        ("module_cache/disk", "loaded from the disk cache after leaving memory (`module_cache/disk`)"),
    ] if key in crit]
    parts.append("### Module cache\n\n" + (table(["path", "median"], cache) if cache
                                          else not_measured(f"{RUNTIME_COMMAND} -- module_cache") + "."))

    compiles = [[key.split("/", 1)[1], fmt_ns(ns)] for key, ns in sorted(crit.items()) if key.startswith("compile/")]
    parts.append("### Compile time of every example\n\nWhat a hook's first load costs without a disk cache.\n\n"
                 + (table(["example", "compile"], compiles) if compiles
                    else not_measured(f"{RUNTIME_COMMAND} -- compile") + "."))

    etag = [[f"call digest over the {key.split('/')[-1]} sync request", fmt_ns(ns)]
            for key, ns in sorted(crit.items()) if key.startswith("etag/digest/")]
    if "etag/response_cache_hit" in crit:
        etag.append(["response cache hit", fmt_ns(crit["etag/response_cache_hit"])])
    parts.append("### ETag and response cache\n\n" + (table(["operation", "median"], etag) if etag
                                                      else not_measured(f"{RUNTIME_COMMAND} -- etag") + "."))
    return "\n\n".join(parts)


def scripts_section(inputs: Inputs) -> str:
    heading = "## Script hooks"
    scripts = inputs.scripts
    if not scripts:
        return f"{heading}\n\n{not_measured(SCRIPTS_COMMAND)}."
    adapters = table(["adapter", "module", "compile"],
                     [[a["adapter"], f"{a['bytes']:,} bytes", fmt_ms(a["compile_ms"])] for a in scripts["adapters"]])
    calls = table(["hook", "p50", "p90", "p99"],
                  [[c["hook"], fmt_us(c["p50_us"]), fmt_us(c["p90_us"]), fmt_us(c["p99_us"])] for c in scripts["calls"]])
    memory = table(["language", "hooks", "ready (warm disk cache)", "RSS at start", "RSS after calling each"],
                   [[m["language"], str(m["hooks"]), fmt_ms(m["ready_ms"]), fmt_mib(m["rss_at_start_mib"]),
                     fmt_mib(m["rss_after_calls_mib"])] for m in scripts["memory"]])
    return "\n\n".join([
        heading,
        f"`make hooks adapters && {scripts.get('command', SCRIPTS_COMMAND)}`",
        "A script hook is run by its language's adapter: one Wasm module per language, compiled once "
        "and shared by every script hook of that language.",
        "### Adapter compile time\n\n" + adapters,
        f"### Cost of one call\n\nIn-process instantiate + run + drop, {scripts.get('calls_per_hook', 'N')} "
        "calls each, no response cache: the Rust module beside the script doing the same.\n\n" + calls,
        "### Memory of script hooks\n\n" + memory,
    ])


def missed_section(inputs: Inputs) -> str:
    missed = [v.target for v, _ in target_rows(inputs) if v.met is False]
    listed = ("Missed in this run: " + "; ".join(missed) + "." if missed
              else "No target was missed in this run.")
    notes = inputs.notes or ("_No analysis written yet: add it to `conformance/bench/notes.md`._")
    return "\n\n".join([
        "## Where targets are missed",
        listed,
        "<!-- The text below is copied from conformance/bench/notes.md (hand-maintained): edit it there. -->",
        notes,
        "<!-- End of conformance/bench/notes.md. -->",
    ])


def document(inputs: Inputs, generated: str) -> str:
    sections = [intro(inputs, generated), targets_section(inputs), http_section(inputs),
                memory_section(inputs), runtime_section(inputs), scripts_section(inputs),
                missed_section(inputs)]
    return "\n\n".join(s.rstrip() for s in sections) + "\n"


# --- entry point ------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench-dir", type=Path, default=Path("target/bench"))
    parser.add_argument("--criterion-dir", type=Path, default=Path("target/criterion"))
    parser.add_argument("--notes", type=Path, default=NOTES)
    parser.add_argument("--docs-dir", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    try:
        inputs = load(args.bench_dir, args.criterion_dir, args.notes)
        written = []
        if inputs.http or inputs.memory:
            written += report.render(args.bench_dir, args.docs_dir)
        generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
        written.append(report.write(args.docs_dir / DOC, document(inputs, generated)))
    except report.ReportError as error:
        print(f"performance.py: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
