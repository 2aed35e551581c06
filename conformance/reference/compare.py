#!/usr/bin/env python3
"""Compare the reference webhook with the Rust hooks, request by request.

    python3 conformance/reference/compare.py NAME HOOK FILE...
    python3 conformance/reference/compare.py --all

Each FILE is sent to both backends:

- the Rust hook, through `hookserver run target/hooks/NAME.wasm HOOK FILE` (the
  server's checks, the module and the output guard, without HTTP);
- the reference webhook (conformance/reference/webhook.py), started once on a
  free port, through `POST /NAME/HOOK`.

Answers match when both succeed with the same JSON (compared as values: key order
is irrelevant, but 1 and 1.0, or 0 and false, differ), or both fail the same way:
400 for a body that is not JSON, 500 for a request the hook refuses.

hookserver also refuses some JSON requests before any hook runs (400: not an
object, `children` not an object, no `parent` for sync/finalize) and checks what
hooks answer (500 from its output guard). The reference webhook, like any
webhook, only has the hook's own behaviour. And it refuses as not JSON (400) a
body with invalid UTF-8 or a lone surrogate escape (such as "\ud800") in any
string, where hookserver answers 400, 500 or 200 depending on which part of the
body holds it. These are reported as "known" differences; they fail the
comparison only with --strict.

--all compares every request in examples/{hello-world,namespace-list-v2,
configmappropagation}/requests/ and conformance/reference/requests/NAME/, the hook
being the start of the file name (sync*.json, finalize*.json, customize*.json).

Exit status: 0 when every answer matches (known differences aside), 1 otherwise.
"""

import argparse
import http.client
import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NAMES = ("hello-world", "namespace-list-v2", "configmappropagation")
HOOK_KINDS = ("sync", "finalize", "customize")


def rel(path):
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------
# The two backends; each answer is (status, JSON value or None, text).
# ---------------------------------------------------------------------------


def run_hookserver(hookserver, modules, name, hook, path):
    """What hookserver would answer over HTTP, from `hookserver run`."""
    module = Path(modules) / f"{name}.wasm"
    done = subprocess.run(
        [str(hookserver), "run", str(module), hook, str(path)],
        capture_output=True,
        timeout=120,
        env={**os.environ, "RUST_LOG": "error"},
    )
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode == 0:
        return 200, json.loads(stdout), stdout.strip()
    last = stderr.splitlines()[-1] if stderr else ""
    if last.startswith("error: bad request:"):
        return 400, None, last[len("error: ") :]
    if re.match(r'error: hook ".*" (sync|finalize|customize) ', last):
        return 500, None, " | ".join(stderr.splitlines()[-2:])
    raise SystemExit(f"compare: hookserver run failed on {rel(path)}: {stderr or 'no message'}")


class Reference:
    """The reference webhook, running on a free port for as long as the comparison."""

    def __init__(self, webhook):
        self.process = subprocess.Popen(
            [sys.executable, str(webhook), "--port", "0", "--quiet"],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        match = re.fullmatch(r"reference webhook listening on http://([^ ]+):(\d+)", line)
        if not match:
            self.process.kill()
            raise SystemExit(f"compare: unexpected first line from the reference webhook: {line!r}")
        self.host, self.port = match.group(1), int(match.group(2))
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def post(self, name, hook, body):
        self.connection.request(
            "POST", f"/{name}/{hook}", body=body, headers={"Content-Type": "application/json"}
        )
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        if response.status == 200:
            if response.getheader("Content-Type") != "application/json":
                raise SystemExit(f"compare: 200 without Content-Type application/json for {name} {hook}")
            return 200, json.loads(text), text.strip()
        if "\n" in text.rstrip("\n"):
            raise SystemExit(f"compare: a {response.status} body of several lines for {name} {hook}: {text!r}")
        return response.status, None, text.strip()

    def stop(self):
        self.connection.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise SystemExit("compare: the reference webhook did not stop on SIGTERM")
        if code != 0:
            raise SystemExit(f"compare: the reference webhook exited with {code} on SIGTERM")


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------


def difference(want, got, path="$"):
    """Where two JSON values first differ (None when equal), types included."""
    if isinstance(want, bool) or isinstance(got, bool) or type(want) is not type(got):
        if type(want) is type(got) and want == got:
            return None
        return f"{path}: {json.dumps(want)} vs {json.dumps(got)}"
    if isinstance(want, dict):
        for key in sorted(set(want) | set(got)):
            if key not in got:
                return f"{path}.{key}: only in hookserver's answer"
            if key not in want:
                return f"{path}.{key}: only in the reference's answer"
            found = difference(want[key], got[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(want, list):
        if len(want) != len(got):
            return f"{path}: {len(want)} items vs {len(got)}"
        for index, (a, b) in enumerate(zip(want, got)):
            found = difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(want, float) and (want != got or math.copysign(1, want) != math.copysign(1, got)):
        return f"{path}: {want!r} vs {got!r}"
    if want != got:
        return f"{path}: {json.dumps(want)} vs {json.dumps(got)}"
    return None


def compare(rust, ref):
    """("same" | "known" | "DIFF", explanation)."""
    (rust_status, rust_json, rust_text), (ref_status, ref_json, ref_text) = rust, ref
    if rust_status == 200 and ref_status == 200:
        found = difference(rust_json, ref_json)
        return ("DIFF", found) if found else ("same", "200, same JSON")
    if rust_status == ref_status:
        return "same", f"{rust_status} from both"
    if rust_status == 400 and not rust_text.startswith("bad request: request body is not valid JSON"):
        return "known", f"hookserver refuses it before the hook runs (400: {rust_text}); reference {ref_status}"
    if rust_status == 500 and "returned an invalid response" in rust_text and ref_status == 200:
        return "known", f"hookserver's output guard refuses the hook's answer (500: {rust_text}); reference 200"
    if ref_status == 400 and ("not UTF-8" in ref_text or "lone surrogate" in ref_text):
        return "known", (
            f"malformed text in a string: the reference refuses the body as not JSON (400); "
            f"hookserver {rust_status}, as its request check or the hook reads the string or skips it"
        )
    return "DIFF", f"hookserver {rust_status} ({rust_text}); reference {ref_status} ({ref_text})"


def hook_of(path):
    stem = Path(path).name
    for hook in HOOK_KINDS:
        if stem.startswith(hook):
            return hook
    return None


def all_requests():
    for name in NAMES:
        for folder in (ROOT / "examples" / name / "requests", HERE / "requests" / name):
            for path in sorted(folder.glob("*.json")):
                hook = hook_of(path)
                if hook:
                    yield name, hook, path


def main():
    parser = argparse.ArgumentParser(
        description="Compare the reference webhook with the Rust hooks run by hookserver.",
        usage="%(prog)s [options] NAME HOOK FILE...\n       %(prog)s [options] --all",
    )
    parser.add_argument("args", nargs="*", metavar="NAME HOOK FILE...")
    parser.add_argument("--all", action="store_true", help="every sample and crafted request")
    parser.add_argument("--hookserver", default=str(ROOT / "target/debug/hookserver"),
                        help="the hookserver binary (default target/debug/hookserver)")
    parser.add_argument("--modules", default=str(ROOT / "target/hooks"),
                        help="directory of the hook modules (default target/hooks)")
    parser.add_argument("--webhook", default=str(HERE / "webhook.py"), help=argparse.SUPPRESS)
    parser.add_argument("--strict", action="store_true", help="known differences fail too")
    parser.add_argument("--verbose", "-v", action="store_true", help="show both answers")
    options = parser.parse_args()

    if options.all:
        if options.args:
            parser.error("--all takes no NAME HOOK FILE")
        requests = list(all_requests())
    else:
        if len(options.args) < 3:
            parser.error("give NAME HOOK FILE... (or --all)")
        name, hook, *files = options.args
        if hook not in HOOK_KINDS:
            parser.error(f"HOOK must be one of {', '.join(HOOK_KINDS)}")
        requests = [(name, hook, Path(file)) for file in files]
    if not Path(options.hookserver).is_file():
        parser.error(f"no hookserver binary at {options.hookserver}: cargo build -p hookserver")

    reference = Reference(options.webhook)
    counts = {"same": 0, "known": 0, "DIFF": 0}
    try:
        for name, hook, path in requests:
            rust = run_hookserver(options.hookserver, options.modules, name, hook, path)
            ref = reference.post(name, hook, Path(path).read_bytes())
            verdict, why = compare(rust, ref)
            counts[verdict] += 1
            print(f"{verdict:<5} {name} {hook} {rel(path)}: {why}")
            if options.verbose or verdict == "DIFF":
                print(f"      hookserver: {rust[2][:2000]}")
                print(f"      reference:  {ref[2][:2000]}")
    finally:
        reference.stop()
    print(
        f"{len(requests)} requests: {counts['same']} same, {counts['known']} known differences, "
        f"{counts['DIFF']} different"
    )
    failed = counts["DIFF"] or (options.strict and counts["known"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
