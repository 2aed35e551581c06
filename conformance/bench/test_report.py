"""Tests of report.py on synthetic results: ratios, verdicts, and well-formed SVG.

    python3 -m unittest conformance/bench/test_report.py
"""

import json
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
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


if __name__ == "__main__":
    unittest.main()
