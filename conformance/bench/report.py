#!/usr/bin/env python3
"""Render benchmark results (target/bench/*.json) as Markdown and hand-written SVG charts.

    python3 conformance/bench/report.py [--bench-dir target/bench] [--docs-dir docs]

Reads:
- `http.json`, written by `bench.py`: per backend, the raw `hookload` report of the
  flat-out run (`max`), of each open-loop run (`load`, with `percent` of that maximum) and of
  each request size (`sizes`, with `children`), each beside the exact `command` that ran it.
- `memory.json`, optional, written by a memory benchmark, in this shape:

      {
        "title": "RSS against hooks served",          (optional)
        "command": "how to reproduce it",             (optional)
        "series": [
          {"name": "hookserver", "points": [{"hooks": 1, "rss_mib": 15.8},
                                            {"hooks": 100, "rss_mib": 17.7}]},
          {"name": "Python, one process per hook", "points": [...]}
        ]
      }

  `hooks` is the number of distinct hooks served (a positive integer), `rss_mib` the
  resident memory in MiB (of all the series' processes together) with that many hooks.

Writes:
- `target/bench/http.md`: the side-by-side table, the targets with met/missed, latency
  against load, the request size sweep and the commands that reproduce them; a fragment for
  docs/performance.md, whose chart links are relative to docs/.
- `docs/performance/latency-vs-load.svg`: p50 and p99 latency against throughput, both
  on log axes, one colour per backend.
- `docs/performance/memory-vs-hooks.svg`: only when `memory.json` exists.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

LATENCY_CHART = "performance/latency-vs-load.svg"
MEMORY_CHART = "performance/memory-vs-hooks.svg"
COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
HOOKSERVER = "hookserver"
HALF = 50
"""The load, in % of maximum throughput, at which the latency targets apply."""
P50_TARGET_MS = 0.150
P99_TARGET_MS = 1.0
THROUGHPUT_TARGETS = [
    # (backend, least hookserver/backend ratio, wording)
    ("python", 10.0, "throughput >= 10x the Python webhook"),
    ("node", 5.0, "throughput >= 5x the Node.js server"),
    ("native", 0.5, "throughput within 2x of native (>= 0.5x)"),
]


class ReportError(Exception):
    """Results that cannot be rendered; the message names the file and what is wrong."""


# --- reading ----------------------------------------------------------------------------


def load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ReportError(f"{path}: not valid JSON ({error})") from None


def check_memory(memory: dict, path: Path) -> None:
    series = memory.get("series")
    if not isinstance(series, list) or not series:
        raise ReportError(f"{path}: expected a non-empty list under \"series\" (see report.py's docstring)")
    for one in series:
        points = one.get("points") if isinstance(one, dict) else None
        if not isinstance(one.get("name"), str) or not isinstance(points, list) or not points:
            raise ReportError(f"{path}: every series needs a \"name\" and a non-empty \"points\" list")
        for point in points:
            if not (isinstance(point.get("hooks"), int) and point["hooks"] > 0
                    and isinstance(point.get("rss_mib"), (int, float))):
                raise ReportError(f"{path}: series {one['name']!r}: bad point {point!r}; "
                                  "expected {\"hooks\": positive int, \"rss_mib\": number}")


def backend(http: dict, name: str) -> dict | None:
    return next((b for b in http["backends"] if b["name"] == name), None)


def at_load(entry: dict, percent: int) -> dict | None:
    return next((run for run in entry["load"] if run["percent"] == percent), None)


# --- formatting -------------------------------------------------------------------------


def fmt_ms(ms: float) -> str:
    """A latency in milliseconds, shown in µs below 1 ms."""
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.0f} ms"


def fmt_rate(per_second: float) -> str:
    return f"{per_second:,.0f}"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def fmt_bytes(count: float) -> str:
    if count < 1024:
        return f"{count:.0f} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.2f} MiB"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- targets ----------------------------------------------------------------------------


@dataclass
class Verdict:
    target: str
    measured: str
    met: bool | None
    """None: not measured."""

    @property
    def word(self) -> str:
        return {True: "met", False: "**missed**", None: "not measured"}[self.met]


def throughput_verdicts(http: dict) -> list[Verdict]:
    ours = backend(http, HOOKSERVER)
    verdicts = []
    for name, least, wording in THROUGHPUT_TARGETS:
        other = backend(http, name)
        if ours is None or other is None:
            verdicts.append(Verdict(wording, "", None))
            continue
        mine, theirs = ours["max"]["report"]["ok_throughput"], other["max"]["report"]["ok_throughput"]
        ratio = mine / theirs if theirs else math.inf
        verdicts.append(Verdict(
            wording, f"{fmt_ratio(ratio)} ({fmt_rate(mine)} vs {fmt_rate(theirs)} req/s)", ratio >= least
        ))
    return verdicts


def latency_verdicts(http: dict) -> list[Verdict]:
    ours = backend(http, HOOKSERVER)
    run = at_load(ours, HALF) if ours else None
    wordings = [
        ("p50", P50_TARGET_MS, f"HTTP p50 <= {fmt_ms(P50_TARGET_MS)} at half max throughput"),
        ("p99", P99_TARGET_MS, f"HTTP p99 <= {fmt_ms(P99_TARGET_MS)} at half max throughput"),
    ]
    if run is None:
        return [Verdict(wording, "", None) for _, _, wording in wordings]
    report = run["report"]
    rate = report["rate"]["achieved"] if report.get("rate") else report["throughput"]
    return [
        Verdict(wording, f"{fmt_ms(report['latency_ms'][key])} at {fmt_rate(rate)} req/s",
                report["latency_ms"][key] <= limit)
        for key, limit, wording in wordings
    ]


# --- Markdown ---------------------------------------------------------------------------


def side_by_side(http: dict) -> str:
    ours = backend(http, HOOKSERVER)
    rows = []
    for entry in http["backends"]:
        r = entry["max"]["report"]
        ratio = (fmt_ratio(ours["max"]["report"]["ok_throughput"] / r["ok_throughput"])
                 if ours and r["ok_throughput"] else "")
        rows.append([entry["label"], fmt_rate(r["ok_throughput"]), fmt_ms(r["latency_ms"]["p50"]),
                     fmt_ms(r["latency_ms"]["p99"]), str(r["errors"]["total"]), ratio])
    return table(["backend", "max req/s", "p50", "p99", "errors", "hookserver / backend"], rows)


def targets(http: dict) -> str:
    verdicts = throughput_verdicts(http) + latency_verdicts(http)
    return table(["target", "measured", "verdict"], [[v.target, v.measured, v.word] for v in verdicts])


def fell_behind(report: dict) -> bool:
    """An open-loop run that sent under 95% of the rate asked: the backend could not keep up
    (requests waited for a free connection), so its latency is not at the load named."""
    rate = report.get("rate")
    return bool(rate) and rate["achieved"] < 0.95 * rate["requested"]


def latency_vs_load(http: dict) -> str:
    rows = []
    for entry in http["backends"]:
        for run in entry["load"]:
            r = run["report"]
            asked = r["rate"]["requested"] if r.get("rate") else 0.0
            sent = fmt_rate(r["rate"]["achieved"] if r.get("rate") else r["throughput"])
            rows.append([entry["label"], f"{run['percent']}%", fmt_rate(asked),
                         sent + (" (fell behind)" if fell_behind(r) else ""),
                         *(fmt_ms(r["latency_ms"][k]) for k in ("p50", "p90", "p99")),
                         str(r["errors"]["total"])])
    return table(["backend", "load", "asked req/s", "sent req/s", "p50", "p90", "p99", "errors"], rows)


def size_sweep(http: dict) -> str:
    swept = [entry for entry in http["backends"] if entry["sizes"]]
    if not swept:
        return "Not measured."
    children = sorted({run["children"] for entry in swept for run in entry["sizes"]})
    header = ["observed Pods", "request body"]
    for entry in swept:
        header += [f"{entry['name']} req/s", f"{entry['name']} p50"]
    ours, native = backend(http, HOOKSERVER), backend(http, "native")
    if ours and native and ours["sizes"] and native["sizes"]:
        header.append("hookserver / native")
    rows = []
    for count in children:
        runs = {e["name"]: next((r["report"] for r in e["sizes"] if r["children"] == count), None) for e in swept}
        sizes = [r["request_bytes"] for r in runs.values() if r]
        row = [str(count), fmt_bytes(sizes[0]) if sizes else ""]
        for entry in swept:
            r = runs[entry["name"]]
            row += [fmt_rate(r["ok_throughput"]), fmt_ms(r["latency_ms"]["p50"])] if r else ["", ""]
        if len(header) > len(row):
            mine, theirs = runs.get(HOOKSERVER), runs.get("native")
            row.append(fmt_ratio(mine["ok_throughput"] / theirs["ok_throughput"])
                       if mine and theirs and theirs["ok_throughput"] else "")
        rows.append(row)
    return table(header, rows)


def commands(http: dict) -> str:
    lines = []
    for entry in http["backends"]:
        lines.append(f"# {entry['label']}: start it, then set URL to the address it prints")
        lines.append(entry["command"])
        runs = [entry["max"], *entry["load"], *entry["sizes"]]
        lines += [run["command"] for run in runs]
        lines.append("")
    return "```sh\n" + "\n".join(lines).rstrip() + "\n```"


def method_line(http: dict) -> str:
    s = http["settings"]
    m = http["machine"]
    text = (f"hello-world `sync`, every request distinct, one observed Pod per request unless said; "
            f"flat out on {s['concurrency']} connections, open loop with up to {s['rate_concurrency']} "
            f"in flight; {s['duration']} measured after {s['warmup']} warm-up per run; each backend "
            f"started fresh and measured alone. Machine: {m['cpus']} CPUs ({m['cpu_model'] or 'model unknown'}), "
            f"{m['system']}, load average {m['load_average_at_start'][0]:.2f} at the start; {http['started']}.")
    if http.get("quick"):
        text = ("**Quick run (`--quick`, short windows): a smoke test of the tooling, not figures to "
                "publish.**\n\n" + text)
    return text


def markdown(http: dict, with_targets: bool = True) -> str:
    """The HTTP fragment; `with_targets=False` leaves out its targets table, for a document
    (performance.py's) that has a table of every target already."""
    sections = [
        "## HTTP: hookserver side by side",
        "`make bench` (runs `python3 conformance/bench/bench.py`)",
        method_line(http),
        "### Maximum throughput\n\n" + side_by_side(http),
        *(["### Targets\n\n" + targets(http)] if with_targets else []),
        "### Latency against load\n\n"
        "Open loop at a share of each backend's own maximum; latency counts from when each "
        "request was due, so queueing shows.\n\n"
        f"![p50 and p99 latency against throughput]({LATENCY_CHART})\n\n" + latency_vs_load(http),
        "### Request size\n\nFlat out, with more observed Pods in each request.\n\n" + size_sweep(http),
        "### Reproduce\n\n" + commands(http),
    ]
    return "\n\n".join(sections) + "\n"


# --- SVG --------------------------------------------------------------------------------


@dataclass
class Axis:
    """Maps values onto pixels, linearly or logarithmically."""

    low: float
    high: float
    start: float
    end: float
    log: bool

    @classmethod
    def fit(cls, values: list[float], start: float, end: float, log: bool) -> "Axis":
        if log:
            positive = [v for v in values if v > 0] or [1.0]
            low = 10 ** math.floor(math.log10(min(positive)))
            high = 10 ** math.ceil(math.log10(max(positive)))
            return cls(low, high if high > low else low * 10, start, end, True)
        return cls(0.0, nice_ceiling(max(values + [0.0])), start, end, False)

    def at(self, value: float) -> float:
        if self.log:
            value = max(value, self.low)
            share = math.log10(value / self.low) / math.log10(self.high / self.low)
        else:
            share = (value - self.low) / (self.high - self.low)
        return self.start + share * (self.end - self.start)

    def ticks(self) -> list[float]:
        if not self.log:
            return [self.low + (self.high - self.low) * i / 5 for i in range(6)]
        decades = round(math.log10(self.high / self.low))
        steps = (1, 2, 5) if decades <= 3 else (1,)
        ticks = [self.low * 10**d * s for d in range(decades + 1) for s in steps]
        return [t for t in ticks if t <= self.high * 1.0001]


def nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


@dataclass
class Line:
    label: str
    color: str
    points: list[tuple[float, float]]
    dashed: bool = False


@dataclass
class Chart:
    title: str
    x_label: str
    y_label: str
    x_log: bool
    y_log: bool
    x_format: object
    y_format: object
    lines: list[Line]
    guides: list[tuple[float, str]]
    """Horizontal reference lines: (y value, label)."""
    legend: list[tuple[str, str, bool]]
    """(label, color, dashed)."""
    width: int = 760
    height: int = 460


def render_svg(chart: Chart) -> str:
    left, right, top, bottom = 80, 230, 40, 60
    xs = [x for line in chart.lines for x, _ in line.points]
    ys = [y for line in chart.lines for _, y in line.points] + [y for y, _ in chart.guides]
    x = Axis.fit(xs, left, chart.width - right, chart.x_log)
    y = Axis.fit(ys, chart.height - bottom, top, chart.y_log)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{chart.width}" height="{chart.height}" '
        f'viewBox="0 0 {chart.width} {chart.height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{chart.width}" height="{chart.height}" fill="white"/>',
        text(chart.width / 2 - right / 2 + left / 2, 22, chart.title, size=15, anchor="middle", bold=True),
    ]
    parts += grid(x, y, chart)
    for value, label in chart.guides:
        at = y.at(value)
        parts.append(f'<line x1="{x.start:.1f}" y1="{at:.1f}" x2="{x.end:.1f}" y2="{at:.1f}" '
                     'stroke="#888" stroke-dasharray="2,3"/>')
        parts.append(text(x.end - 4, at - 4, label, anchor="end", color="#555"))
    for line in chart.lines:
        parts.append(polyline(line, x, y))
    parts += legend(chart.legend, chart.width - right + 20, top + 10)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def grid(x: Axis, y: Axis, chart: Chart) -> list[str]:
    parts = [f'<rect x="{x.start}" y="{y.end}" width="{x.end - x.start}" height="{y.start - y.end}" '
             'fill="none" stroke="#333"/>']
    for tick in x.ticks():
        at = x.at(tick)
        parts.append(f'<line x1="{at:.1f}" y1="{y.end}" x2="{at:.1f}" y2="{y.start}" stroke="#e5e5e5"/>')
        parts.append(text(at, y.start + 16, chart.x_format(tick), anchor="middle"))
    for tick in y.ticks():
        at = y.at(tick)
        parts.append(f'<line x1="{x.start}" y1="{at:.1f}" x2="{x.end}" y2="{at:.1f}" stroke="#e5e5e5"/>')
        parts.append(text(x.start - 6, at + 4, chart.y_format(tick), anchor="end"))
    parts.append(text((x.start + x.end) / 2, y.start + 40, chart.x_label, anchor="middle"))
    middle = (y.start + y.end) / 2
    parts.append(f'<text x="20" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 20 {middle:.1f})">'
                 f'{escape(chart.y_label)}</text>')
    return parts


def polyline(line: Line, x: Axis, y: Axis) -> str:
    points = " ".join(f"{x.at(px):.1f},{y.at(py):.1f}" for px, py in line.points)
    dash = ' stroke-dasharray="6,4"' if line.dashed else ""
    marks = "".join(f'<circle cx="{x.at(px):.1f}" cy="{y.at(py):.1f}" r="3" fill="{line.color}"/>'
                    for px, py in line.points)
    return (f'<g><title>{escape(line.label)}</title><polyline points="{points}" fill="none" '
            f'stroke="{line.color}" stroke-width="2"{dash}/>{marks}</g>')


def legend(entries: list[tuple[str, str, bool]], left: float, top: float) -> list[str]:
    parts = []
    for index, (label, color, dashed) in enumerate(entries):
        at = top + index * 20
        dash = ' stroke-dasharray="6,4"' if dashed else ""
        parts.append(f'<line x1="{left}" y1="{at}" x2="{left + 24}" y2="{at}" stroke="{color}" '
                     f'stroke-width="2"{dash}/>')
        parts.append(text(left + 30, at + 4, label))
    return parts


def text(x: float, y: float, content: str, size: int = 12, anchor: str = "start",
         color: str = "#222", bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}"{weight}>'
            f"{escape(content)}</text>")


def tick_rate(value: float) -> str:
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


def tick_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value * 1000:g} µs" if value < 1 else f"{value:g} ms"


def latency_chart(http: dict) -> Chart:
    lines, legend_entries = [], []
    for entry, color in zip(http["backends"], COLORS):
        reports = [run["report"] for run in entry["load"]]
        sent = [r["rate"]["achieved"] if r.get("rate") else r["throughput"] for r in reports]
        for key, dashed in (("p50", False), ("p99", True)):
            points = [(s, r["latency_ms"][key]) for s, r in zip(sent, reports)]
            lines.append(Line(f"{entry['label']} {key}", color, points, dashed))
        legend_entries.append((entry["label"], color, False))
    legend_entries += [("p50 (solid)", "#444", False), ("p99 (dashed)", "#444", True)]
    guides = [(P50_TARGET_MS, "p50 target"), (P99_TARGET_MS, "p99 target")]
    return Chart("Latency against load (open loop)", "throughput sent (req/s, log)", "latency (log)",
                 True, True, tick_rate, tick_ms, lines, guides, legend_entries)


def memory_chart(memory: dict) -> Chart:
    lines, legend_entries = [], []
    for series, color in zip(memory["series"], COLORS):
        points = sorted((p["hooks"], p["rss_mib"]) for p in series["points"])
        lines.append(Line(series["name"], color, points))
        legend_entries.append((series["name"], color, False))
    hooks = [x for line in lines for x, _ in line.points]
    x_log = max(hooks) >= 10 * min(hooks)
    return Chart(memory.get("title", "Memory against hooks served"),
                 "distinct hooks served" + (" (log)" if x_log else ""), "RSS (MiB)",
                 x_log, False, lambda v: f"{v:g}", lambda v: f"{v:g}", lines, [], legend_entries)


# --- entry points -----------------------------------------------------------------------


def render(bench_dir: Path, docs_dir: Path) -> list[Path]:
    """Write every output whose input exists; return the paths written."""
    http_path, memory_path = bench_dir / "http.json", bench_dir / "memory.json"
    written = []
    if http_path.exists():
        http = load_json(http_path)
        written.append(write(bench_dir / "http.md", markdown(http)))
        written.append(write(docs_dir / LATENCY_CHART, render_svg(latency_chart(http))))
    if memory_path.exists():
        memory = load_json(memory_path)
        check_memory(memory, memory_path)
        written.append(write(docs_dir / MEMORY_CHART, render_svg(memory_chart(memory))))
    if not written:
        raise ReportError(f"nothing to render: neither {http_path} nor {memory_path} exists; run `make bench`")
    return written


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench-dir", type=Path, default=Path("target/bench"))
    parser.add_argument("--docs-dir", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    try:
        for path in render(args.bench_dir, args.docs_dir):
            print(f"wrote {path}")
    except ReportError as error:
        print(f"report.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
