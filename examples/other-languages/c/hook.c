/*
 * A metacontroller hook in C, built with clang and wasi-libc as a WASI preview1
 * command (hook ABI v1).
 *
 * argv[1] is the hook: sync, finalize or customize. The request is on stdin; the
 * response goes to stdout. For a CompositeController sync, the hook answers with one
 * ConfigMap child named after the parent, holding the parent's spec.message.
 *
 * The JSON reader below is deliberately small. It walks the request by structure (it
 * never searches for a key as text, so "name" inside managedFields or an annotation does
 * not confuse it), decodes strings with every JSON escape, and writes strings back with
 * the escapes JSON needs. It relies on the server having checked that the request is one
 * valid JSON object, which hookserver does before a hook runs. For anything bigger, use a
 * real JSON library such as cJSON (one .c file that builds with wasi-libc).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *name = "hook"; /* argv[0]: the hook's name, used in messages */

/* Reads stdin to EOF into a NUL-terminated buffer. Returns NULL on error. */
static char *read_all(size_t *len) {
    size_t cap = 16384, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, stdin);
        if (n < cap) break; /* EOF or error */
        char *bigger = realloc(buf, (cap *= 2) + 1);
        if (!bigger) free(buf);
        buf = bigger;
    }
    if (!buf || ferror(stdin)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* p is at the opening quote. Returns the position after the closing quote. */
static const char *skip_string(const char *p) {
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1]) p++;
    return *p ? p + 1 : p;
}

/* Skips one JSON value. Brackets are counted, strings are skipped whole, so brackets
   inside strings do not count. No recursion, so deep nesting cannot overflow the stack. */
static const char *skip_value(const char *p) {
    int depth = 0;
    p = skip_ws(p);
    do {
        if (*p == '"') {
            p = skip_string(p);
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        else if (*p == '}' || *p == ']') depth--;
        else if (depth == 0) { /* a number, true, false or null */
            while (*p && !strchr(",}] \t\r\n", *p)) p++;
            return p;
        }
        if (*p) p++;
    } while (*p && depth > 0);
    return p;
}

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static unsigned read_u16(const char *p) { /* four hex digits; 0x110000 if invalid */
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex(p[i]);
        if (d < 0) return 0x110000;
        v = v << 4 | (unsigned)d;
    }
    return v;
}

static char *put_utf8(char *out, unsigned c) {
    if (c < 0x80) *out++ = (char)c;
    else if (c < 0x800) {
        *out++ = (char)(0xC0 | c >> 6);
        *out++ = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *out++ = (char)(0xE0 | c >> 12);
        *out++ = (char)(0x80 | (c >> 6 & 0x3F));
        *out++ = (char)(0x80 | (c & 0x3F));
    } else {
        *out++ = (char)(0xF0 | c >> 18);
        *out++ = (char)(0x80 | (c >> 12 & 0x3F));
        *out++ = (char)(0x80 | (c >> 6 & 0x3F));
        *out++ = (char)(0x80 | (c & 0x3F));
    }
    return out;
}

/* Decodes the JSON string at p (at its opening quote) into a new NUL-terminated UTF-8
   string. Returns NULL if p is not a string. The caller frees the result. */
static char *decode_string(const char *p) {
    if (*p != '"') return NULL;
    const char *end = skip_string(p);
    char *s = malloc((size_t)(end - p) + 1), *out = s; /* decoding never grows a string */
    if (!s) return NULL;
    for (p++; p < end - 1; p++) {
        if (*p != '\\') {
            *out++ = *p;
            continue;
        }
        switch (*++p) {
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u': {
            unsigned c = read_u16(p + 1);
            if (c > 0xFFFF) { free(s); return NULL; }
            p += 4;
            if (c >= 0xD800 && c < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                unsigned low = read_u16(p + 3);
                if (low >= 0xDC00 && low < 0xE000) {
                    c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
            }
            if (c >= 0xD800 && c < 0xE000) c = 0xFFFD; /* a lone surrogate */
            out = put_utf8(out, c);
            break;
        }
        default: *out++ = *p; /* \" \\ \/ */
        }
    }
    *out = '\0';
    return s;
}

/* In the object at p, the value of member `key`, or NULL. */
static const char *member(const char *p, const char *key) {
    p = skip_ws(p);
    if (*p != '{') return NULL;
    p = skip_ws(p + 1);
    const char *found = NULL;
    while (*p == '"') {
        char *k = decode_string(p);
        p = skip_ws(skip_string(p));
        if (*p != ':') { free(k); return NULL; }
        p = skip_ws(p + 1);
        if (k && strcmp(k, key) == 0) found = p; /* keep going: the last one counts */
        free(k);
        p = skip_ws(skip_value(p));
        if (*p == ',') p = skip_ws(p + 1);
    }
    return found;
}

/* The string at a.b.c in the request, such as parent.metadata.name, or NULL. */
static char *get_string(const char *request, const char *a, const char *b, const char *c) {
    const char *v = member(request, a);
    if (v) v = member(v, b);
    if (v) v = member(v, c);
    return v ? decode_string(skip_ws(v)) : NULL;
}

/* Writes s as a JSON string. */
static void put_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static int sync(const char *request) {
    char *parent = get_string(request, "parent", "metadata", "name");
    if (!parent || !*parent) {
        fprintf(stderr, "%s: the request has no parent.metadata.name string; "
                        "is this a CompositeController sync request?\n", name);
        return 1;
    }
    char *message = get_string(request, "parent", "spec", "message");
    printf("{\"children\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":");
    put_json_string(parent);
    printf("},\"data\":{\"message\":");
    put_json_string(message ? message : "Hello!");
    printf("}}]}\n");
    free(parent);
    free(message);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 0) name = argv[0];
    const char *hook = argc > 1 ? argv[1] : "";
    size_t len;
    char *request = read_all(&len);
    if (!request) {
        fprintf(stderr, "%s: cannot read the request from stdin\n", name);
        return 1;
    }
    int status = 0;
    if (strcmp(hook, "sync") == 0) {
        status = sync(request);
    } else if (strcmp(hook, "finalize") == 0) {
        /* Delete the ConfigMap and let the parent go. */
        printf("{\"children\":[],\"finalized\":true}\n");
    } else if (strcmp(hook, "customize") == 0) {
        printf("{\"relatedResources\":[]}\n");
    } else {
        fprintf(stderr, "%s: unknown hook \"%s\" in argv[1]: expected sync, finalize "
                        "or customize\n", name, hook);
        status = 1;
    }
    free(request);
    if (status == 0 && fflush(stdout) != 0) {
        fprintf(stderr, "%s: cannot write the response to stdout\n", name);
        status = 1;
    }
    return status;
}
