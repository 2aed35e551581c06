#!/usr/bin/env python3
"""A reference hook backend: metacontroller hooks served the usual way, as a webhook.

This is "your own webhook", written the way metacontroller's Python examples are
served (Python 3 standard library only: http.server and json), so that the
conformance suite can run the same cases against hookserver and against a backend
that owes nothing to it. It implements, with exactly the behaviour of the Rust
ports in examples/:

    hello-world            sync, finalize, customize
    namespace-list-v2      sync, customize
    configmappropagation   sync, customize

Routes: POST /NAME/HOOK, HOOK being sync, finalize or customize.

    200  the hook's answer, Content-Type: application/json
    400  the body is not JSON (one line of plain text says why)
    404  unknown NAME or HOOK
    405  any other method than POST on a /NAME/HOOK path
    413  a body over 32 MiB
    500  the hook refused the request (one line of plain text says why), where the
         Rust hook exits 1; this includes a hook the NAME does not implement

Run: python3 conformance/reference/webhook.py --port 0 [--host 127.0.0.1]
It prints one line, "reference webhook listening on http://HOST:PORT", and
serves until SIGTERM or SIGINT.
"""

import argparse
import json
import math
import re
import signal
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

HOOK_KINDS = ("sync", "finalize", "customize")

# hookserver's default `max-request`.
MAX_BODY = 32 * 1024 * 1024

# serde_json refuses to build values nested 128 deep (the top-level object is
# level 1): the Rust hooks fail on such a request field, and ignore the depth of
# fields they do not read.
MAX_LEVEL = 127


class BadRequest(Exception):
    """The body is not JSON: 400."""


class HookError(Exception):
    """The hook refuses the request, as the Rust hook would by exiting 1: 500."""


# ---------------------------------------------------------------------------
# Reading the body: JSON as serde_json reads it.
# ---------------------------------------------------------------------------


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _float(text):
    value = float(text)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


def _int(text):
    # serde_json keeps integers that fit u64 or i64 and reads the others (and -0)
    # as floats.
    if text == "-0":
        return -0.0
    value = int(text)
    if -(2**63) <= value < 2**64:
        return value
    return _float(text)


class Body:
    """A parsed request body.

    `doc` is the JSON value; for an object, `keys` lists its top-level keys in
    order, duplicates included, and `too_deep` the keys whose value nests deeper
    than serde_json builds.
    """

    def __init__(self, doc, keys=(), too_deep=()):
        self.doc = doc
        self.keys = list(keys)
        self.too_deep = set(too_deep)


def parse_body(raw):
    """The body as JSON, or BadRequest."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadRequest(f"request body is not valid JSON: not UTF-8 ({err.reason} at byte {err.start})")
    if not text.strip(" \t\r\n"):
        raise BadRequest("request body is empty: send metacontroller's JSON request")
    top_keys = []

    def pairs_hook(pairs):
        # Objects are built inside out: the top-level one is the last.
        top_keys[:] = [key for key, _ in pairs]
        return dict(pairs)

    try:
        doc = json.loads(
            text,
            object_pairs_hook=pairs_hook,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_no_constant,
        )
    except RecursionError:
        return _parse_deep(text)
    except ValueError as err:
        raise BadRequest(f"request body is not valid JSON: {err}")
    try:
        _check_unicode(doc)
    except RecursionError:
        return _parse_deep(text)
    if not isinstance(doc, dict):
        return Body(doc)
    too_deep = [key for key, value in doc.items() if _level(value, 2) > MAX_LEVEL]
    return Body(doc, top_keys, too_deep)


def _check_unicode(doc):
    # Python decodes a lone surrogate escape ("\ud800"); serde_json does not.
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("request body is not valid JSON: a string holds a lone surrogate escape")


def _level(value, level):
    """The deepest container level in `value`, itself at `level` (0: no container)."""
    deepest = 0
    stack = [(value, level)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, at)
        stack.extend((child, at + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERAL = re.compile(r"true|false|null")


def _parse_deep(text):
    """For bodies nested too deep for the json module: validate the whole text
    without recursion, then decode only the top-level members shallow enough to
    read (a request field deeper than MAX_LEVEL is refused when read anyway)."""

    def fail(pos, what):
        raise BadRequest(f"request body is not valid JSON: {what} at char {pos}")

    def string_at(pos):
        match = _STRING.match(text, pos)
        if not match:
            fail(pos, "invalid string")
        value = json.loads(match.group())
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            fail(pos, "lone surrogate escape")
        return value, match.end()

    def ws(pos):
        return _WS.match(text, pos).end()

    stack = []  # "{" or "[" per open container
    members = []  # [key, start, end, deepest level] of the top-level object
    top_is_object = None
    pos = ws(0)
    expect = "value"
    while True:
        if expect == "value":
            if pos >= len(text):
                fail(pos, "EOF while parsing a value")
            char = text[pos]
            if char in "{[":
                stack.append(char)
                if top_is_object is None:
                    top_is_object = char == "{"
                if members and len(stack) > 1:
                    members[-1][3] = max(members[-1][3], len(stack))
                pos = ws(pos + 1)
                close = "}" if char == "{" else "]"
                if pos < len(text) and text[pos] == close:
                    stack.pop()
                    pos += 1
                    expect = "after"
                else:
                    expect = "key" if char == "{" else "value"
                continue
            if char == '"':
                _, pos = string_at(pos)
            elif match := _NUMBER.match(text, pos):
                try:
                    _int(match.group()) if match.group().lstrip("-").isdigit() else _float(match.group())
                except ValueError:
                    fail(pos, "number out of range")
                pos = match.end()
            elif match := _LITERAL.match(text, pos):
                pos = match.end()
            else:
                fail(pos, "expected value")
            if top_is_object is None:
                top_is_object = False
            expect = "after"
        elif expect == "key":
            if pos >= len(text) or text[pos] != '"':
                fail(pos, "key must be a string")
            key, pos = string_at(pos)
            pos = ws(pos)
            if pos >= len(text) or text[pos] != ":":
                fail(pos, "expected `:`")
            pos = ws(pos + 1)
            if len(stack) == 1:
                members.append([key, pos, None, 0])
            expect = "value"
        else:  # after a value
            pos = ws(pos)
            if len(stack) == 1 and members and members[-1][2] is None:
                members[-1][2] = pos
            if not stack:
                if pos != len(text):
                    fail(pos, "trailing characters")
                break
            if pos >= len(text):
                fail(pos, "EOF while parsing a list or an object")
            char = text[pos]
            if char == ",":
                pos = ws(pos + 1)
                expect = "key" if stack[-1] == "{" else "value"
            elif char == ("}" if stack[-1] == "{" else "]"):
                stack.pop()
                pos += 1
            else:
                fail(pos, "expected `,` or the end of a list or an object")
    if not top_is_object:
        return Body([])  # some valid JSON that is not an object
    doc, too_deep = {}, []
    for key, start, end, deepest in members:
        if deepest > MAX_LEVEL:
            too_deep.append(key)
            doc[key] = None
        else:
            doc[key] = json.loads(text[start:end], parse_int=_int, parse_float=_float)
            too_deep = [k for k in too_deep if k != key]
    return Body(doc, [member[0] for member in members], too_deep)


# ---------------------------------------------------------------------------
# The request types, decoded as the Rust SDK (metahook) decodes them.
# ---------------------------------------------------------------------------

MISSING = object()


def describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Request:
    """CompositeRequest or CustomizeRequest: `parent`, and for sync and finalize
    `children`, `related` (type key -> name key -> object) and `finalizing`."""

    def __init__(self, parent, children=None, related=None, finalizing=False):
        self.parent = parent
        self.children = children or {}
        self.related = related or {}
        self.finalizing = finalizing


COMPOSITE_FIELDS = ("controller", "parent", "children", "related", "finalizing")
CUSTOMIZE_FIELDS = ("controller", "parent")


def read_request(hook, body):
    fields = CUSTOMIZE_FIELDS if hook == "customize" else COMPOSITE_FIELDS
    doc = body.doc

    def refuse(problem):
        return HookError(f"cannot read the {hook} request: {problem}")

    if not isinstance(doc, dict):
        raise refuse(f"invalid type: {describe(doc)}, expected a request object")
    for field in fields:
        if body.keys.count(field) > 1:
            raise refuse(f"duplicate field `{field}`")
        if field in doc and field in body.too_deep:
            raise refuse(f"`{field}` is nested too deeply (recursion limit exceeded)")
    if "parent" not in doc:
        raise refuse("missing field `parent`")
    parent = doc["parent"]
    if not isinstance(parent, dict):
        raise refuse(f"invalid type: {describe(parent)} for `parent`, expected an object")
    if hook == "customize":
        return Request(parent)
    finalizing = doc.get("finalizing", False)
    if not isinstance(finalizing, bool):
        raise refuse(f"invalid type: {describe(finalizing)} for `finalizing`, expected a boolean")
    return Request(
        parent,
        read_object_map(doc.get("children"), "children", refuse),
        read_object_map(doc.get("related"), "related", refuse),
        finalizing,
    )


def read_object_map(value, field, refuse):
    """`children` or `related`: null or {type key: null or {name key: object}}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise refuse(f"invalid type: {describe(value)} for `{field}`, expected an object")
    groups = {}
    for type_key, group in value.items():
        if group is None:
            group = {}
        if not isinstance(group, dict):
            raise refuse(f"invalid type: {describe(group)} for `{field}.{type_key}`, expected an object")
        for name_key, item in group.items():
            if not isinstance(item, dict):
                raise refuse(
                    f"invalid type: {describe(item)} for `{field}.{type_key}.{name_key}`, expected an object"
                )
        groups[type_key] = group
    return groups


# Object accessors (metahook's Object and ObjectMap).


def get(obj, path):
    """The value at a dotted path, or MISSING when a step is absent or not an object."""
    value = obj
    for step in path.split("."):
        if not isinstance(value, dict) or step not in value:
            return MISSING
        value = value[step]
    return value


def get_str(obj, path):
    value = get(obj, path)
    return value if isinstance(value, str) else None


def name_of(obj):
    return get_str(obj, "metadata.name") or ""


def of_type(groups, type_key):
    """Objects of one exact type key, in name-key order."""
    group = groups.get(type_key, {})
    return [group[key] for key in sorted(group)]


def of_kind(groups, kind):
    """Objects of `kind` in any version (type key `Kind.version`), in key order."""
    found = []
    for type_key in sorted(groups):
        if "." in type_key and type_key.split(".", 1)[0] == kind:
            group = groups[type_key]
            found.extend(group[key] for key in sorted(group))
    return found


def find(groups, kind, name):
    """The first object of `kind` named `name`, a plain name or `namespace/name`."""
    namespace = None
    if "/" in name:
        namespace, name = name.split("/", 1)
    for obj in of_kind(groups, kind):
        if name_of(obj) == name and (namespace is None or get_str(obj, "metadata.namespace") == namespace):
            return obj
    return None


# Rust's char::is_whitespace (Unicode White_Space), which str.trim() strips.
RUST_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))
)


def is_blank(text):
    return all(char in RUST_WHITESPACE for char in text)


# ---------------------------------------------------------------------------
# hello-world (examples/hello-world/src/lib.rs)
# ---------------------------------------------------------------------------


def hello_sync(request):
    if request.finalizing:
        return hello_finalize(request)
    pod = hello_pod(request.parent)
    return {"status": hello_status(request), "children": [pod]}


def hello_finalize(request):
    no_pods_left = not of_type(request.children, "Pod.v1")
    return {"status": hello_status(request), "children": [], "finalized": no_pods_left}


def hello_customize(request):
    return {"relatedResources": []}


def hello_status(request):
    pods = of_type(request.children, "Pod.v1")
    succeeded = [pod for pod in pods if get_str(pod, "status.phase") == "Succeeded"]
    return {"pods": len(pods), "succeeded": len(succeeded)}


def hello_pod(parent):
    name = get_str(parent, "metadata.name")
    if not name:
        raise HookError(
            "`parent.metadata.name` is missing or not a string; the parent must be a "
            "HelloWorld object as stored by the API server"
        )
    greeting = f"Hello, {hello_who(parent)}!"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "OnFailure",
            "containers": [{"name": "hello", "image": "busybox", "command": ["echo", greeting]}],
        },
    }


def hello_who(parent):
    spec = parent.get("spec")
    if spec is None:
        return "World"
    if not isinstance(spec, dict):
        raise HookError('`parent.spec` is not an object; a HelloWorld spec looks like {"who": "Your Name"}')
    who = spec.get("who")
    if who is None:
        return "World"
    if not isinstance(who, str):
        raise HookError('`parent.spec.who` is not a string; set it to the name to greet, e.g. "Your Name"')
    return "World" if is_blank(who) else who


# ---------------------------------------------------------------------------
# namespace-list-v2 (examples/namespace-list-v2/src/lib.rs)
# ---------------------------------------------------------------------------


def nslist_customize(request):
    selector = nslist_selector(request.parent)
    return {"relatedResources": [{"apiVersion": "v1", "resource": "namespaces", "labelSelector": selector}]}


def nslist_sync(request):
    parent = request.parent
    name = name_of(parent)
    if not name:
        raise HookError(
            "the parent has no metadata.name; it must be a NamespaceList as stored by the API server"
        )
    namespace = get_str(parent, "metadata.namespace")
    if not namespace:
        raise HookError(
            f"NamespaceList {compact(name)} has no metadata.namespace; NamespaceList is a namespaced "
            "resource and its list is written into the parent's namespace"
        )
    listed = sorted({name_of(ns) for ns in of_kind(request.related, "Namespace")} - {""})
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-list", "namespace": namespace},
        "data": {"namespaces": "\n".join(listed)},
    }
    return {"status": {"count": len(listed)}, "children": [child]}


def nslist_selector(parent):
    spec = get(parent, "spec")
    if spec is MISSING or spec is None:
        return {}
    if not isinstance(spec, dict):
        raise nslist_spec_error(parent, f"spec is {compact(spec)}, not an object")
    selector = spec.get("labelSelector")
    if selector is None:
        return {}
    if not isinstance(selector, dict):
        raise nslist_spec_error(parent, f"spec.labelSelector is {compact(selector)}, not a label selector")
    return selector


def nslist_spec_error(parent, problem):
    return HookError(
        f"NamespaceList {compact(name_of(parent))}: {problem}; a spec looks like "
        '{"labelSelector": {"matchLabels": {"example-controller": "namespace-list"}}} '
        "(labelSelector is optional)"
    )


# ---------------------------------------------------------------------------
# configmappropagation (examples/configmappropagation/src/lib.rs)
# ---------------------------------------------------------------------------


def cmp_customize(request):
    namespace, name = cmp_source(request.parent)
    return {
        "relatedResources": [
            {"apiVersion": "v1", "resource": "configmaps", "namespace": namespace, "names": [name]}
        ]
    }


def cmp_sync(request):
    parent = request.parent
    namespace, name = cmp_source(parent)
    targets = cmp_targets(parent, namespace)
    status = {"expected_copies": len(targets), "actual_copies": len(of_kind(request.children, "ConfigMap"))}
    source = find(request.related, "ConfigMap", f"{namespace}/{name}")
    children = []
    if source is not None:
        data = cmp_data(source)
        children = [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": target}, "data": data}
            for target in targets
        ]
    # No source (deleted, or not visible yet): no children, so every copy is deleted.
    return {"status": status, "children": children}


def cmp_source(parent):
    return cmp_required(parent, "sourceNamespace"), cmp_required(parent, "sourceName")


def cmp_required(parent, field):
    value = get_str(parent, f"spec.{field}")
    if not value:
        raise cmp_spec_error(parent, f"spec.{field} is missing, empty or not a string")
    return value


def cmp_targets(parent, source_namespace):
    listed = get(parent, "spec.targetNamespaces")
    if listed is MISSING or listed is None:
        raise cmp_spec_error(
            parent,
            "spec.targetNamespaces is missing; list the namespaces to copy the ConfigMap into, "
            'e.g. ["one", "two"]',
        )
    if not isinstance(listed, list):
        raise cmp_spec_error(
            parent,
            "spec.targetNamespaces is not a list; list the namespaces to copy the ConfigMap into, "
            'e.g. ["one", "two"]',
        )
    targets = []
    for index, entry in enumerate(listed):
        if not isinstance(entry, str) or not entry:
            raise cmp_spec_error(
                parent, f"spec.targetNamespaces[{index}] is {compact(entry)}; every entry must be a namespace name"
            )
        if entry != source_namespace and entry not in targets:
            targets.append(entry)
    return targets


def cmp_data(configmap):
    data = configmap.get("data")
    if data is None:
        return {}
    if not isinstance(data, dict):
        where = f"{get_str(configmap, 'metadata.namespace') or ''}/{name_of(configmap)}"
        raise HookError(f"the source ConfigMap {where} has a `data` field that is not an object ({compact(data)})")
    return data


def cmp_spec_error(parent, problem):
    return HookError(
        f"ConfigMapPropagation {compact(name_of(parent))}: {problem}; a spec looks like "
        '{"sourceName": "settings", "sourceNamespace": "original", "targetNamespaces": ["one"]}'
    )


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------

HOOKS = {
    "hello-world": {"sync": hello_sync, "finalize": hello_finalize, "customize": hello_customize},
    "namespace-list-v2": {"sync": nslist_sync, "customize": nslist_customize},
    "configmappropagation": {"sync": cmp_sync, "customize": cmp_customize},
}


def answer(name, hook, raw):
    """(status, content type, body bytes) for POST /name/hook with body `raw`."""
    body = parse_body(raw)
    handlers = HOOKS[name]
    if hook not in handlers:
        raise HookError(
            f"this hook does not implement `{hook}` (it implements {', '.join(handlers)}); point the "
            f"controller's {hook} hook at a module that does, or remove it from the controller"
        )
    response = handlers[hook](read_request(hook, body))
    return json.dumps(response, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # http.server writes the headers and the body as two small packets; with Nagle's
    # algorithm on, the body waits for the client's delayed ACK (about 40 ms on Linux) on
    # every keep-alive request. Off, this is a fair baseline for throughput comparisons.
    disable_nagle_algorithm = True
    server_version = "reference-webhook"
    quiet = False

    def do_POST(self):
        route = self.route()
        if route is None:
            return self.discard_and_send(
                404, f"no route for POST {self.path}: hooks are served at POST /NAME/{{sync,finalize,customize}}"
            )
        name, hook = route
        if hook not in HOOK_KINDS:
            return self.discard_and_send(
                404, f"unknown hook {compact(hook)}: the path must end in /sync, /finalize or /customize"
            )
        if name not in HOOKS:
            return self.discard_and_send(404, f"no hook named {compact(name)} (this backend serves {', '.join(HOOKS)})")
        try:
            raw = self.read_body()
        except BadRequest as err:
            self.close_connection = True
            return self.send_text(400, str(err))
        except OverflowError:
            self.close_connection = True
            return self.send_text(413, f"request body exceeds the limit of {MAX_BODY // (1024 * 1024)} MiB")
        try:
            payload = answer(name, hook, raw)
        except BadRequest as err:
            return self.send_text(400, f"bad request: {err}")
        except HookError as err:
            return self.send_text(500, f"hook {compact(name)} {hook} failed: {err}")
        except Exception as err:  # a bug here: still one line, the traceback goes to stderr
            traceback.print_exc(file=sys.stderr)
            return self.send_text(500, f"internal error in {name} {hook}: {type(err).__name__}: {err}")
        self.send(200, "application/json", payload)

    def not_post(self):
        if self.route() is None:
            self.discard_and_send(404, f"no route for {self.command} {self.path}")
        else:
            self.discard_and_send(405, f"method {self.command} not allowed: hooks take POST", allow=True)

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = not_post

    def __getattr__(self, attr):
        # Any other method name (do_FOO) answers like the known ones.
        if attr.startswith("do_"):
            return self.not_post
        raise AttributeError(attr)

    def route(self):
        parts = urlsplit(self.path).path.split("/")
        if len(parts) != 3 or parts[0] or not parts[1] or not parts[2]:
            return None
        return unquote(parts[1]), unquote(parts[2])

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    length = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BadRequest("bad request: malformed chunked body")
                if length == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY:
                    raise OverflowError
                chunks.append(self.rfile.read(length))
                self.rfile.readline(1024)
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        try:
            length = int(declared)
        except ValueError:
            raise BadRequest(f"bad request: invalid Content-Length {declared!r}")
        if length < 0:
            raise BadRequest(f"bad request: invalid Content-Length {declared!r}")
        if length > MAX_BODY:
            raise OverflowError
        return self.rfile.read(length)

    def discard_and_send(self, status, text, allow=False):
        # Unread bodies would be taken for the next request on the connection.
        has_body = self.headers.get("Content-Length", "0").strip() not in ("", "0")
        if has_body or self.headers.get("Transfer-Encoding"):
            self.close_connection = True
        self.send_text(status, text, allow=allow)

    def send_text(self, status, text, allow=False):
        line = " ".join(text.splitlines()).strip() + "\n"
        self.send(status, "text/plain; charset=utf-8", line.encode("utf-8"), allow=allow)

    def send(self, status, content_type, payload, allow=False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if allow:
            self.send_header("Allow", "POST")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="port to listen on; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    args = parser.parse_args(argv)

    Handler.quiet = args.quiet
    server_class = ThreadingHTTPServer
    if ":" in args.host:
        import socket

        server_class = type("ThreadingHTTPServer6", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    try:
        server = server_class((args.host, args.port), Handler)
    except OSError as err:
        print(f"webhook.py: cannot listen on {args.host}:{args.port}: {err.strerror or err}", file=sys.stderr)
        return 1
    server.daemon_threads = True

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, so not from this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    # Before the line: whoever reads it may stop the server at once.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"reference webhook listening on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
