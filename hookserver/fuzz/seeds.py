#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into OUT/<target>/, from the repository's
sample requests (examples/*/requests/**/*.json) and conformance cases (their `request`,
`rawBody` and `generate` blocks), plus a few hand-written hook answers.

Generated at `make fuzz` time, not committed: the samples stay the single source.
Usage: seeds.py OUT_DIR
"""

import hashlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
KINDS = ("sync", "finalize", "customize")

# Answers a hook may give, for the output guard: valid ones of each kind, and the mistakes
# the guard exists for.
ANSWERS = [
    '{"status": {"replicas": 1}, "children": [{"apiVersion": "v1", "kind": "Pod", '
    '"metadata": {"name": "a"}}], "resyncAfterSeconds": 2.5}',
    '{"children": [], "finalized": true}',
    '{"labels": {"a": "b", "c": null}, "annotations": {"x": "y"}, "attachments": []}',
    '{"attachments": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}], '
    '"status": null}',
    '{"relatedResources": [{"apiVersion": "v1", "resource": "configmaps", '
    '"labelSelector": {"matchLabels": {"app": "x"}}, "namespace": "default", '
    '"names": ["a"]}]}',
    '{"relatedResources": [{"apiVersion": "v1", "resources": "secrets"}]}',
    '{"children": [], "chidlren": []}',
    '{"children": [], "status": {}, "status": {}}',
    '{"children": {}}',
    '{"children": null}',
    '{}',
    '[]',
    'null',
    '',
    ' \n',
    '{"children": [{"a": "\\u00e9\\ud83d\\ude00"}]}',
]


def requests():
    """(hook kind, body bytes) of every sample request."""
    for path in sorted(ROOT.glob("examples/*/requests/**/*.json")):
        kind = next((k for k in KINDS if path.name.startswith(k)), "sync")
        yield kind, path.read_bytes()
    for path in sorted(ROOT.glob("conformance/cases/**/*.json")):
        yield from case_requests(json.loads(path.read_text()), "sync")


def case_requests(case, kind):
    kind = case.get("kind", kind)
    if "request" in case:
        yield kind, json.dumps(case["request"]).encode()
    if "rawBody" in case:
        yield kind, case["rawBody"].encode()
    generate = case.get("generate")
    if isinstance(generate, dict) and "parent" in generate:
        yield kind, json.dumps(generated(kind, generate)).encode()
    for step in case.get("then", []):
        yield from case_requests(step, kind)


def generated(kind, spec):
    """A request like the conformance runner builds from a `generate` block."""
    if kind == "customize":
        return {"controller": {}, "parent": spec["parent"]}
    objects = lambda types: {t: {} for t in types}  # noqa: E731
    return {
        "controller": {},
        "parent": spec["parent"],
        "children": objects(spec.get("childTypes", [])),
        "related": objects(spec.get("relatedTypes", [])),
        "finalizing": kind == "finalize",
    }


def http(method, path, body, headers=("content-type: application/json",)):
    head = "\n".join([f"{method} {path}", *headers, "content-length: 0"])
    return head.encode() + b"\n\n" + body


def write(directory, data):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    out = pathlib.Path(sys.argv[1])
    samples = list(requests())
    for kind, body in samples:
        write(out / "route", http("POST", f"/hooks/echo/{kind}", body))
        write(out / "validate", body)
        # A case may name a kind that does not exist (a 404 case): it still routes.
        selector = KINDS.index(kind) if kind in KINDS else 0
        write(out / "etag", bytes([selector]) + b'"0", W/"1"\n' + body)
    small = [(kind, body) for kind, body in samples if len(body) <= 2048]
    for kind, body in small[:20]:
        write(out / "route", http("POST", f"/hooks/echo-strict/{kind}", body))
    for answer in ANSWERS:
        write(out / "validate", answer.encode())
        write(out / "route", http("POST", "/hooks/echo/sync", answer.encode()))
    for request in [
        http("POST", "/hooks/echo/sync", b'{"parent": {}}'),
        http("POST", "/hooks/echo/customize", b'{"parent": {}}'),
        http("POST", "/hooks/echo-strict/sync", b'{"children": null, "parent": {}}'),
        http("POST", "/hooks/echo/sync", b'{"parent": {}}',
             ("content-type: application/merge-patch+json; charset=utf-8",
              'if-none-match: W/"abc", "def"')),
        http("POST", "/hooks/echo/sync", b"{}", ("content-type: text/plain",)),
        http("POST", "/hooks/echo/reconcile", b"{}"),
        http("POST", "/hooks/missing/sync", b"{}"),
        http("POST", "/hooks/e%63ho/sync", b'{"parent": {}}'),
        http("POST", "/hooks/%ff/sync", b"{}"),
        http("GET", "/hooks/echo/sync", b""),
        http("GET", "/hooks", b""),
        http("GET", "/healthz", b""),
        http("GET", "/readyz", b""),
        http("GET", "/metrics", b""),
        http("DELETE", "/nowhere?x=1", b""),
    ]:
        write(out / "route", request)
    for target in ("route", "validate", "etag"):
        count = len(list((out / target).iterdir()))
        print(f"  seeds for {target}: {count} inputs in {out / target}")


if __name__ == "__main__":
    main()
