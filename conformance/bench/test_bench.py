"""Tests of bench.py's pieces that need no server: prerequisites, command lines, failures.

    python3 -m unittest conformance/bench/test_bench.py
"""

import os
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def result(name, errors):
    run = {"command": "hookload ...", "report": {"errors": {"total": errors, "timeout": errors, "connect": 0}}}
    return {"name": name, "max": run, "load": [{"percent": 50, **run}], "sizes": []}


class BenchTest(unittest.TestCase):
    def test_missing_builds_name_the_command_that_builds_them(self):
        cwd = os.getcwd()
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                Path("Cargo.toml").touch()
                Path("conformance/bench").mkdir(parents=True)
                with self.assertRaises(bench.BenchError) as caught:
                    bench.check_prerequisites([bench.backends()[0]])
            finally:
                os.chdir(cwd)
        message = str(caught.exception)
        self.assertIn("target/hooks/hello-world.wasm: build it with `make hooks`", message)
        self.assertIn("target/release/hookload: build it with `cargo build --release", message)

    def test_url_templates_stay_quoted_for_the_shell(self):
        line = bench.command_line(["hookload", "--url", "$URL/hello-world/{hook}", "--rate", "100"])
        self.assertEqual(line, 'hookload --url "$URL/hello-world/{hook}" --rate 100')

    def test_every_run_with_failed_requests_is_reported(self):
        problems = bench.failed_runs([result("node", 3), result("native", 0)])
        self.assertEqual(len(problems), 2)
        self.assertTrue(problems[0].startswith("node max: 3 failed {'timeout': 3}"))
        self.assertTrue(problems[1].startswith("node load 50%: 3 failed"))

    def test_unknown_backend_is_refused(self):
        with self.assertRaises(SystemExit):
            bench.parse_args(["--only", "hookserver,ruby"])
        self.assertEqual(bench.parse_args(["--only", "native, node"]).only, ["native", "node"])


    def test_a_backend_that_exits_at_start_fails_with_its_stderr(self):
        broken = fake_backend("import sys; print('no such hook', file=sys.stderr); sys.exit(3)")
        with self.assertRaises(bench.BenchError) as caught:
            with bench.running(broken):
                pass
        self.assertIn("backend fake did not start: exited with status 3", str(caught.exception))
        self.assertIn("no such hook", str(caught.exception))

    def test_a_backend_is_reached_by_its_banner_and_stopped_after(self):
        sleeper = fake_backend("import time; print('fake listening on http://127.0.0.1:1/', flush=True); time.sleep(60)")
        with bench.running(sleeper) as url:
            self.assertEqual(url, "http://127.0.0.1:1")


def fake_backend(code):
    return bench.Backend(name="fake", label="fake", needs={}, banner="fake listening on ",
                         hook_path="/{hook}", argv=[sys.executable, "-c", code])


if __name__ == "__main__":
    unittest.main()
