"""Tests of report.py and performance.py on synthetic results: ratios, verdicts, well-formed
SVG, and docs/performance.md with every input, and with inputs missing.

    python3 -m unittest conformance/bench/test_report.py
"""

import contextlib
import io
import json
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import performance  # noqa: E402
import report  # noqa: E402


def run(throughput, p50, p99, errors=0, rate=None, children=1, request_bytes=5229):
    """A hookload report with only the fields report.py reads."""
    return {
        "command": f"target/release/hookload --json --url \"$URL/x/{{hook}}\" --children {children}",
        "report": {
            "throughput": throughput, "ok_throughput": throughput, "request_bytes": request_bytes,
            "latency_ms": {"p50": p50, "p90": (p50 + p99) / 2, "p99": p99},
            "errors": {"total": errors},
            "rate": {"requested": rate, "achieved": throughput, "unsent": 0} if rate else None,
        },
    }


def backend(name, top, p50_at_half, p99_at_half, sizes=False):
    load = [{"percent": p, **run(top * p / 100, p50_at_half, p99_at_half, rate=top * p / 100)}
            for p in (10, 25, 50, 75, 90)]
    swept = [{"children": c, **run(top / (1 + c / 100), 0.2 + c / 1000, 1.0, children=c,
                                   request_bytes=1000 + 4000 * c)} for c in (0, 10, 100, 1000)]
    return {"name": name, "label": f"{name} label", "command": f"start {name}",
            "max": run(top, 0.3, 1.2), "load": load, "sizes": swept if sizes else []}


def synthetic():
    # hookserver 20,000 req/s: 13.3x Python (met), 6.67x Node (met), 0.40x native (missed);
    # at half load p50 120 µs (met), p99 1.5 ms (missed).
    return {
        "quick": True, "started": "2026-01-01T00:00:00+00:00",
        "machine": {"cpus": 2, "cpu_model": "test", "system": "Linux", "load_average_at_start": [0.5, 0, 0]},
        "settings": {"duration": "2s", "warmup": "1s", "concurrency": 8, "rate_concurrency": 32},
        "backends": [
            backend("hookserver", 20000, 0.120, 1.5, sizes=True),
            backend("native", 50000, 0.080, 0.4, sizes=True),
            backend("node", 3000, 0.5, 3.0),
            backend("python", 1500, 0.9, 8.0),
        ],
    }


def row(markdown, starts):
    return next(line for line in markdown.splitlines() if line.startswith(starts))


class MarkdownTest(unittest.TestCase):
    def setUp(self):
        self.md = report.markdown(synthetic())

    def test_side_by_side_ratios_are_hookserver_over_backend(self):
        self.assertIn("| 1.00x |", row(self.md, "| hookserver label | 20,000 |"))
        self.assertIn("| 0.40x |", row(self.md, "| native label | 50,000 |"))
        self.assertIn("| 6.67x |", row(self.md, "| node label | 3,000 |"))
        self.assertIn("| 13.3x |", row(self.md, "| python label | 1,500 |"))

    def test_throughput_targets_met_and_missed(self):
        self.assertTrue(row(self.md, "| throughput >= 10x the Python").endswith("| met |"))
        self.assertTrue(row(self.md, "| throughput >= 5x the Node.js").endswith("| met |"))
        self.assertTrue(row(self.md, "| throughput within 2x of native").endswith("| **missed** |"))

    def test_latency_targets_read_at_half_load(self):
        p50 = row(self.md, "| HTTP p50 <= 150 µs at half")
        p99 = row(self.md, "| HTTP p99 <= 1.00 ms at half")
        self.assertIn("120 µs at 10,000 req/s", p50)
        self.assertTrue(p50.endswith("| met |"))
        self.assertIn("1.50 ms at 10,000 req/s", p99)
        self.assertTrue(p99.endswith("| **missed** |"))

    def test_missing_backend_is_not_measured_rather_than_met(self):
        http = synthetic()
        http["backends"] = [b for b in http["backends"] if b["name"] != "python"]
        self.assertTrue(row(report.markdown(http), "| throughput >= 10x the Python").endswith("| not measured |"))

    def test_size_sweep_compares_hookserver_with_native(self):
        self.assertIn("hookserver / native", self.md)
        self.assertIn("| 1000 | 3.82 MiB |", self.md)
        self.assertIn("| 0.40x |", row(self.md, "| 100 |"))

    def test_commands_and_quick_warning_are_shown(self):
        self.assertIn("start hookserver", self.md)
        self.assertIn('--url "$URL/x/{hook}" --children 1000', self.md)
        self.assertIn("Quick run", self.md)


class SvgTest(unittest.TestCase):
    def test_latency_chart_is_well_formed_with_a_line_per_backend_and_percentile(self):
        root = ET.fromstring(report.render_svg(report.latency_chart(synthetic())))
        self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")
        self.assertEqual(len(root.findall(".//{http://www.w3.org/2000/svg}polyline")), 8)

    def test_render_writes_memory_chart_only_when_memory_json_exists(self):
        with tempfile.TemporaryDirectory() as tmp:
            bench, docs = Path(tmp, "bench"), Path(tmp, "docs")
            bench.mkdir()
            (bench / "http.json").write_text(json.dumps(synthetic()))
            report.render(bench, docs)
            self.assertFalse((docs / report.MEMORY_CHART).exists())
            memory = {"series": [
                {"name": "hookserver", "points": [{"hooks": 1, "rss_mib": 15.8}, {"hooks": 100, "rss_mib": 17.7}]},
                {"name": "python", "points": [{"hooks": 1, "rss_mib": 20}, {"hooks": 100, "rss_mib": 2000}]},
            ]}
            (bench / "memory.json").write_text(json.dumps(memory))
            written = report.render(bench, docs)
            self.assertIn(docs / report.MEMORY_CHART, written)
            ET.parse(docs / report.MEMORY_CHART)
            ET.parse(docs / report.LATENCY_CHART)
            self.assertTrue((bench / "http.md").read_text().startswith("## HTTP"))

    def test_bad_memory_json_names_the_file_and_the_point(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "memory.json")
            path.write_text(json.dumps({"series": [{"name": "x", "points": [{"hooks": 0, "rss_mib": 1}]}]}))
            with self.assertRaisesRegex(report.ReportError, "memory.json: series 'x': bad point"):
                report.render(Path(tmp), Path(tmp, "docs"))


class AxisTest(unittest.TestCase):
    def test_log_axis_spans_whole_decades(self):
        axis = report.Axis.fit([0.08, 3.0], 0, 100, log=True)
        self.assertEqual((axis.low, axis.high), (0.01, 10))
        self.assertAlmostEqual(axis.at(0.1), 100 / 3)

    def test_linear_axis_starts_at_zero_with_a_round_top(self):
        axis = report.Axis.fit([17.7, 2000], 0, 100, log=False)
        self.assertEqual((axis.low, axis.high), (0, 2000))


# --- performance.py ---------------------------------------------------------------------


def memory_json(at_start=20.0, all_called=70.0, after_idle=25.0, first_call_ms=1.5, restart_ms=400.0):
    """many_hooks' output; by default RSS with all called (70 > 64 MiB) is the one target missed."""
    return {
        "command": "cargo bench -p hookserver --bench many_hooks",
        "series": [
            {"name": "hookserver (RSS)", "points": [{"hooks": 1, "rss_mib": 18.0}, {"hooks": 100, "rss_mib": all_called}]},
            {"name": "Python (PSS)", "points": [{"hooks": 1, "rss_mib": 12.0}, {"hooks": 100, "rss_mib": 900.0}]},
        ],
        "hookserver": {"hooks": 100, "first_start_s": 30.0, "restart_to_ready_ms": restart_ms,
                       "first_call_mean_ms": first_call_ms, "rss_at_start_mib": at_start,
                       "rss_all_called_mib": all_called, "rss_after_idle_mib": after_idle, "idle_wait_s": 12},
        "python": {"processes": 100, "rss_mib": 1234.5, "pss_mib": 987.6},
    }


def scripts_json():
    return {
        "command": "cargo bench -p hookserver --bench script_hooks", "calls_per_hook": 1000,
        "adapters": [{"adapter": "jsonnet.wasm", "bytes": 1587850, "compile_ms": 955.0}],
        "calls": [{"hook": "hello-world (Rust module)", "p50_us": 56.0, "p90_us": 66.0, "p99_us": 95.0},
                  {"hook": "hello-world (jsonnet script)", "p50_us": 526.0, "p90_us": 573.0, "p99_us": 628.0}],
        "memory": [{"language": "jsonnet", "hooks": 100, "ready_ms": 42.0,
                    "rss_at_start_mib": 30.0, "rss_after_calls_mib": 60.0}],
    }


def write_criterion(root, full_id, median_ns):
    """Criterion's layout: a directory per benchmark (its name is criterion's choice) holding
    new/benchmark.json, which names the benchmark, and new/estimates.json."""
    new = root / full_id.replace("/", "_") / "new"
    new.mkdir(parents=True)
    (new / "benchmark.json").write_text(json.dumps({"full_id": full_id}))
    (new / "estimates.json").write_text(json.dumps({"median": {"point_estimate": median_ns}}))


CRITERION = {
    "call/hello-world/wasm": 25_000.0, "call/hello-world/wasm-lean": 52_000.0, "call/hello-world/native": 5_000.0,
    "call/catset/wasm": 300_000.0,
    "module_cache/hit": 350.0, "module_cache/disk": 1_500_000.0,
    "compile/hello-world": 250_000_000.0, "compile/catset": 400_000_000.0,
    "etag/digest/hello-world": 3_900.0, "etag/response_cache_hit": 198.0,
}


class PerformanceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self.bench, self.criterion = self.root / "bench", self.root / "criterion"
        self.notes, self.docs = self.root / "notes.md", self.root / "docs"
        self.bench.mkdir()

    def tearDown(self):
        self.tmp.cleanup()

    def write_all(self, storm_rps=60_000.0):
        http = synthetic()
        http["storm"] = {"target_rps": 50000, "server_command": "start cached hookserver",
                         "command": 'hookload --url "$URL/x/{hook}" --identical',
                         **{"report": run(storm_rps, 0.1, 0.5)["report"]}}
        (self.bench / "http.json").write_text(json.dumps(http))
        (self.bench / "memory.json").write_text(json.dumps(memory_json()))
        (self.bench / "scripts.json").write_text(json.dumps(scripts_json()))
        for full_id, ns in CRITERION.items():
            write_criterion(self.criterion, full_id, ns)
        self.notes.write_text("The p99 misses because of the test notes.")

    def generate(self):
        with contextlib.redirect_stdout(io.StringIO()):
            status = performance.main(["--bench-dir", str(self.bench), "--criterion-dir", str(self.criterion),
                                       "--notes", str(self.notes), "--docs-dir", str(self.docs)])
        self.assertEqual(status, 0)
        return (self.docs / "performance.md").read_text()

    def test_every_target_has_its_verdict(self):
        self.write_all()
        md = self.generate()
        verdicts = {
            "| throughput >= 10x the Python": "met",
            "| throughput >= 5x the Node.js": "met",
            "| throughput within 2x of native": "**missed**",
            "| in-process instantiate + run + drop of hello-world, p50 <= 30 µs | 25 µs": "met",
            "| HTTP p50 <= 150 µs at half": "met",
            "| HTTP p99 <= 1.00 ms at half": "**missed**",
            "| RSS right after start with 100 hooks <= 32 MiB | 20.0 MiB": "met",
            "| RSS with all 100 hooks called <= 64 MiB | 70.0 MiB": "**missed**",
            "| RSS once the hooks have idled <= 32 MiB | 25.0 MiB": "met",
            "| first call of a module with a warm disk cache <= 2 ms | 1.50 ms over HTTP": "met",
            "| restart to ready with 100 cached modules <= 1 s | 400 ms": "met",
            "| resync storm (identical requests, response cache) >= 50,000 req/s | 60,000 req/s": "met",
        }
        for starts, word in verdicts.items():
            self.assertEqual(row(md, starts).split(" | ")[2], word, starts)
        self.assertIn("Python, 100 processes: RSS 1,234.5 MiB, PSS 987.6 MiB", row(md, "| RSS with all 100"))
        self.assertIn("86 MiB idle / 227 MiB active", md)
        self.assertNotIn("not measured: run", md)

    def test_a_slow_disk_load_misses_the_first_call_target_even_when_http_meets_it(self):
        self.write_all()
        (self.criterion / "module_cache_disk/new/estimates.json").write_text(
            json.dumps({"median": {"point_estimate": 2_500_000.0}}))
        md = self.generate()
        self.assertEqual(row(md, "| first call of a module").split(" | ")[2], "**missed**")

    def test_storm_below_target_is_missed_and_listed_where_targets_are_missed(self):
        self.write_all(storm_rps=20_000.0)
        md = self.generate()
        self.assertEqual(row(md, "| resync storm").split(" | ")[2], "**missed**")
        missed = md.split("## Where targets are missed", 1)[1]
        self.assertIn("resync storm (identical requests, response cache) >= 50,000 req/s", missed)

    def test_sections_are_filled_from_each_input(self):
        self.write_all()
        md = self.generate()
        self.assertIn("| hello-world | 25 µs | 52 µs | 5.0 µs | 5.00x |", md)
        self.assertIn("| catset | 400 ms |", md)
        self.assertIn("| response cache hit | 198 ns |", md)
        self.assertIn("| hello-world (jsonnet script) | 526 µs | 573 µs | 628 µs |", md)
        self.assertIn("| jsonnet.wasm | 1,587,850 bytes | 955 ms |", md)
        self.assertIn("| 100 | 70.0 | 900.0 |", md)
        self.assertIn(report.MEMORY_CHART, md)
        self.assertIn(report.LATENCY_CHART, md)
        self.assertIn("**not measured here**", md)
        self.assertIn("| 60,000 | 100 µs |", md)
        self.assertTrue((self.docs / report.MEMORY_CHART).exists())

    def test_notes_file_text_is_copied_into_its_section(self):
        self.write_all()
        md = self.generate()
        section = md.split("## Where targets are missed", 1)[1]
        self.assertIn("The p99 misses because of the test notes.", section)
        self.assertIn("conformance/bench/notes.md", section)

    def test_missing_inputs_say_which_command_to_run(self):
        md = self.generate()
        for command in ("python3 conformance/bench/bench.py", "cargo bench -p hookserver --bench many_hooks",
                        "cargo bench -p hookserver --bench script_hooks", "cargo bench -p hookserver --bench runtime",
                        "python3 conformance/bench/storm.py"):
            self.assertIn(f"not measured: run `{command}", md)
        for heading in ("## Targets", "## HTTP", "## Memory", "## Runtime", "## Script hooks",
                        "## Where targets are missed"):
            self.assertIn(heading, md)
        self.assertNotIn("| met |", md)
        self.assertNotIn("**missed**", md)
        self.assertIn("No target was missed", md)
        self.assertIn("No analysis written yet", md)

    def test_http_without_storm_leaves_only_the_storm_unmeasured(self):
        (self.bench / "http.json").write_text(json.dumps(synthetic()))
        md = self.generate()
        self.assertIn("not measured: run `python3 conformance/bench/storm.py`", row(md, "| resync storm"))
        self.assertEqual(row(md, "| throughput >= 10x the Python").split(" | ")[2], "met")

    def test_shipped_notes_file_exists(self):
        self.assertTrue((Path(__file__).resolve().parent / "notes.md").is_file())


if __name__ == "__main__":
    unittest.main()
