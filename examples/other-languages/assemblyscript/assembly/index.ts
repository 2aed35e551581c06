// A metacontroller hook in AssemblyScript, built with @assemblyscript/wasi-shim as a WASI
// preview1 command (hook ABI v1). The top-level code below is the command's `_start`.
//
// argv[1] is the hook: sync, finalize or customize. The request is on stdin; the response
// goes to stdout. For a CompositeController sync, the hook answers with one ConfigMap child
// named after the parent, holding the parent's spec.message.
//
// AssemblyScript has no JSON in its standard library, so the reader below is small and
// hand-written. It walks the request by structure (it never searches for a key as text),
// decodes every JSON escape, and relies on the server having checked that the request is
// one valid JSON object, which hookserver does before a hook runs.

const name = process.argv.length > 0 ? process.argv[0] : "hook";
const hook = process.argv.length > 1 ? process.argv[1] : "";

function fail(message: string): void {
  // The tail of stderr reaches metacontroller's SyncError event: say what is wrong.
  process.stderr.write(name + ": " + message + "\n");
  process.exit(1);
}

// Reads stdin to EOF and decodes it as UTF-8.
function readStdin(): string {
  let buffer = new ArrayBuffer(16384);
  let length = 0;
  while (true) {
    if (length == buffer.byteLength) {
      const bigger = new ArrayBuffer(buffer.byteLength * 2);
      memory.copy(changetype<usize>(bigger), changetype<usize>(buffer), length);
      buffer = bigger;
    }
    const n = process.stdin.read(buffer, length);
    if (n <= 0) break;
    length += n;
  }
  return String.UTF8.decodeUnsafe(changetype<usize>(buffer), length);
}

// ---- A small JSON reader over the request text. Positions are indexes into `json`.

let json = "";

function at(i: i32): i32 {
  return i < json.length ? json.charCodeAt(i) : 0;
}

function skipWs(i: i32): i32 {
  while (true) {
    const c = at(i);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return i;
    i++;
  }
}

// i is at the opening quote. Returns the position after the closing quote.
function skipString(i: i32): i32 {
  for (i++; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c == 0x5c) i++; // a backslash: skip the escaped character
    else if (c == 0x22) return i + 1;
  }
  return json.length;
}

// Skips one value. Brackets are counted and strings skipped whole, without recursion.
function skipValue(i: i32): i32 {
  i = skipWs(i);
  let depth = 0;
  do {
    const c = at(i);
    if (c == 0) return i;
    if (c == 0x22) {
      i = skipString(i);
      continue;
    }
    if (c == 0x7b || c == 0x5b) depth++; // { [
    else if (c == 0x7d || c == 0x5d) depth--; // } ]
    else if (depth == 0) {
      // a number, true, false or null
      while (i < json.length && ",}] \t\r\n".indexOf(json.charAt(i)) < 0) i++;
      return i;
    }
    i++;
  } while (depth > 0);
  return i;
}

function hex4(i: i32): i32 {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = at(i + k);
    let d = -1;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

// The string value at i, decoded, or null if the value at i is not a string.
function decodeString(i: i32): string | null {
  if (at(i) != 0x22) return null;
  const end = skipString(i) - 1; // the closing quote
  let out = "";
  let start = i + 1; // start of the current run of plain characters
  for (i = start; i < end; i++) {
    if (json.charCodeAt(i) != 0x5c) continue;
    out += json.substring(start, i);
    const c = at(++i);
    if (c == 0x75) { // \uXXXX: a UTF-16 code unit, as AssemblyScript strings are
      const unit = hex4(i + 1);
      if (unit < 0) return null;
      out += String.fromCharCode(unit);
      i += 4;
    } else if (c == 0x62) out += "\b";
    else if (c == 0x66) out += "\f";
    else if (c == 0x6e) out += "\n";
    else if (c == 0x72) out += "\r";
    else if (c == 0x74) out += "\t";
    else out += String.fromCharCode(c); // \" \\ \/
    start = i + 1;
  }
  return out + json.substring(start, end);
}

// In the object at i, the position of member `key`'s value, or -1. The last one counts.
function member(i: i32, key: string): i32 {
  i = skipWs(i);
  if (i < 0 || at(i) != 0x7b) return -1;
  i = skipWs(i + 1);
  let found = -1;
  while (at(i) == 0x22) {
    const k = decodeString(i);
    i = skipWs(skipString(i));
    if (at(i) != 0x3a) return -1; // :
    i = skipWs(i + 1);
    if (k != null && k == key) found = i;
    i = skipWs(skipValue(i));
    if (at(i) == 0x2c) i = skipWs(i + 1); // ,
  }
  return found;
}

// The string at a.b.c in the request, such as parent.metadata.name, or null.
function getString(a: string, b: string, c: string): string | null {
  let i = member(0, a);
  if (i >= 0) i = member(i, b);
  if (i >= 0) i = member(i, c);
  return i >= 0 ? decodeString(i) : null;
}

// ---- Writing JSON.

function quote(s: string): string {
  let out = "\"";
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    out += s.substring(start, i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    start = i + 1;
  }
  return out + s.substring(start) + "\"";
}

// ---- The hooks.

function sync(): string {
  const parent = getString("parent", "metadata", "name");
  if (parent == null || parent.length == 0) {
    fail("the request has no parent.metadata.name string; is this a CompositeController sync request?");
    return "";
  }
  const found = getString("parent", "spec", "message");
  const message = found != null ? found : "Hello!";
  return "{\"children\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":" +
    quote(parent) + "},\"data\":{\"message\":" + quote(message) + "}}]}\n";
}

json = readStdin();
if (hook == "sync") {
  process.stdout.write(sync());
} else if (hook == "finalize") {
  // Delete the ConfigMap and let the parent go.
  process.stdout.write("{\"children\":[],\"finalized\":true}\n");
} else if (hook == "customize") {
  process.stdout.write("{\"relatedResources\":[]}\n");
} else {
  fail("unknown hook \"" + hook + "\" in argv[1]: expected sync, finalize or customize");
}
