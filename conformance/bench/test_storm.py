"""Tests of storm.py's pieces that need no server.

    python3 -m unittest conformance/bench/test_storm.py
"""

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
import storm  # noqa: E402


class StormTest(unittest.TestCase):
    def test_hookserver_keeps_its_response_cache_on(self):
        backend = storm.storm_backend()
        with tempfile.TemporaryDirectory() as tmp:
            backend.prepare(Path(tmp))
        self.assertNotIn("--response-cache-size", backend.argv)
        self.assertNotIn("--response-cache-size", backend.display)
        self.assertEqual(backend.argv[:2], ["target/release/hookserver", "serve"])

    def test_hookload_sends_identical_requests(self):
        argv = storm.storm_argv("http://127.0.0.1:1", "/hooks/hello-world/{hook}", bench.FULL)
        self.assertIn("--identical", argv)
        self.assertEqual(argv[argv.index("--concurrency") + 1], "8")
        self.assertEqual(argv[argv.index("--duration") + 1], "10s")

    def test_the_run_is_added_to_http_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp, "http.json")
            with self.assertRaisesRegex(bench.BenchError, "run `python3 conformance/bench/bench.py` first"):
                storm.store(results, {})
            results.write_text(json.dumps({"backends": []}))
            storm.store(results, {"report": {"ok_throughput": 1}})
            self.assertEqual(json.loads(results.read_text()),
                             {"backends": [], "storm": {"report": {"ok_throughput": 1}}})


if __name__ == "__main__":
    unittest.main()
