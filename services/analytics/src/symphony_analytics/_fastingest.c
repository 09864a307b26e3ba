/* The ingest fast path: a serialized BatchIngestEventsRequest straight to the binary
 * parameters the ingest statements take (db/staging.py), for the usual batch in which every
 * event is valid.
 *
 * It only ever answers for such a batch. Anything else -- a malformed or unusual encoding, a
 * single invalid event, a duplicate id within the batch, a batch over the limits -- returns
 * None, and the service takes its Python path (protobuf parse, `EventValidator`), which
 * produces every rejection and error. So this file must never accept what the Python path
 * refuses, and must produce exactly the parameters `staging.stage` makes of what it would
 * store: tests/unit/analytics/
 * test_fastingest.py compares both on generated batches, and an atheris harness fuzzes it.
 *
 * encode(raw, plan, receive_us, schema_version)
 *   plan: (events, platforms, editor_version_ok, max_batch_events, max_batch_bytes,
 *          max_event_bytes, max_age_us, max_skew_us, known), where events maps an event name to
 *          (properties, required): properties maps a name to
 *          (kind, max_length, matcher, allowed, low, high, lower) -- see fast_ingest.py; known
 *          is an empty dict the plan keeps, where each check's accepted texts are remembered.
 *   -> (staged: a tuple of bytes, the fields of `staging.Staged`, count,
 *       installs: {install_id: events}, first_us, last_us) or None.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { K_STRING = 0, K_ENUM, K_INT, K_DOUBLE, K_BOOL, K_VERSION, K_EXTENSION_ID };
enum { V_NONE = 0, V_NUMBER, V_STRING, V_BOOL };

#define MAX_PROPERTIES 64
#define MIN_SECONDS (-62135596800LL)
#define MAX_SECONDS 253402300799LL
#define MAX_SAFE_INT 9007199254740992.0

typedef struct {
    const unsigned char *p;
    Py_ssize_t n;
} span;

typedef struct {
    span key;
    int kind;
    double number;
    span text;
    int flag;
} property;

typedef struct {
    span event_id, name, install_id, session_id, editor_version, platform;
    unsigned char id[16], install[16], session[16]; /* the UUIDs' bytes, once checked */
    int has_time;
    int64_t seconds;
    int32_t nanos;
    int nprops;
    property props[MAX_PROPERTIES];
} event;

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} out;

/* What an event adds to the rollup deltas (see `staging.stage`), grouped by all of it. */
typedef struct {
    long long hour; /* microseconds since PostgreSQL's epoch, on the hour */
    unsigned char install[16];
    span name, version, platform, extension, extension_version; /* as stored */
} delta_key;

/* --- wire format --------------------------------------------------------------------- */

static uint64_t little_endian(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int varint(const unsigned char **p, const unsigned char *end, uint64_t *value) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return 0;
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

/* One field: its number, wire type and, for LEN, its payload; other kinds are skipped. */
static int field(const unsigned char **p, const unsigned char *end, uint32_t *number, int *type,
                 uint64_t *value, span *payload) {
    uint64_t tag;
    if (!varint(p, end, &tag)) return 0;
    *number = (uint32_t)(tag >> 3);
    *type = (int)(tag & 7);
    if (*number == 0 || (tag >> 3) > 0x1fffffff) return 0;
    switch (*type) {
    case 0:
        return varint(p, end, value);
    case 1:
        if (end - *p < 8) return 0;
        *value = little_endian(*p, 8);
        *p += 8;
        return 1;
    case 2: {
        uint64_t n;
        if (!varint(p, end, &n) || n > (uint64_t)(end - *p)) return 0;
        payload->p = *p;
        payload->n = (Py_ssize_t)n;
        *p += n;
        return 1;
    }
    case 5:
        if (end - *p < 4) return 0;
        *value = little_endian(*p, 4);
        *p += 4;
        return 1;
    default: /* groups: never in these messages */
        return 0;
    }
}

/* A message's fields one by one: `while ((more = next_field(&r)) > 0)`, then `more < 0` means
 * the bytes were malformed. */
typedef struct {
    const unsigned char *p, *end;
    uint32_t number;
    int type;
    uint64_t v; /* varint and fixed values */
    span payload; /* LEN values */
} reader;

static reader reader_of(span s) {
    reader r = {0};
    r.p = s.p;
    r.end = s.p + s.n;
    return r;
}

/* 1: the next field is in `r`; 0: the message ended; -1: malformed. */
static int next_field(reader *r) {
    if (r->p >= r->end) return 0;
    r->v = 0;
    return field(&r->p, r->end, &r->number, &r->type, &r->v, &r->payload) ? 1 : -1;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF), as protobuf requires of
 * string fields; `chars` counts code points (Python's len). */
static int utf8(span s, Py_ssize_t *chars) {
    const unsigned char *p = s.p, *end = s.p + s.n;
    Py_ssize_t count = 0;
    while (p < end) {
        if (end - p >= 8) { /* eight ASCII bytes at a time */
            uint64_t word;
            memcpy(&word, p, 8);
            if (!(word & 0x8080808080808080ULL)) {
                p += 8;
                count += 8;
                continue;
            }
        }
        unsigned char c = *p;
        int more;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            count++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            more = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (end - p <= more) return 0;
        for (int i = 1; i <= more; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += more + 1;
        count++;
    }
    if (chars) *chars = count;
    return 1;
}

static int timestamp(span s, int64_t *seconds, int32_t *nanos) {
    reader r = reader_of(s);
    int64_t sec = 0;
    int64_t ns = 0;
    int more;
    while ((more = next_field(&r)) > 0) {
        if (r.number == 1 && r.type == 0) sec = (int64_t)r.v;
        else if (r.number == 2 && r.type == 0) ns = (int64_t)(int32_t)r.v;
        else return 0; /* unknown or mistyped: leave it to protobuf */
    }
    if (more < 0 || sec < MIN_SECONDS || sec > MAX_SECONDS || ns < 0 || ns >= 1000000000) return 0;
    *seconds = sec;
    *nanos = (int32_t)ns;
    return 1;
}

static int value(span s, property *prop) {
    reader r = reader_of(s);
    int more;
    prop->kind = V_NONE;
    while ((more = next_field(&r)) > 0) {
        if (prop->kind != V_NONE) return 0; /* one member of the oneof, once */
        if (r.number == 2 && r.type == 1) {
            memcpy(&prop->number, &r.v, 8);
            prop->kind = V_NUMBER;
        } else if (r.number == 3 && r.type == 2) {
            if (!utf8(r.payload, NULL)) return 0;
            prop->text = r.payload;
            prop->kind = V_STRING;
        } else if (r.number == 4 && r.type == 0) {
            prop->flag = r.v != 0;
            prop->kind = V_BOOL;
        } else {
            return 0; /* null, struct, list, unknown: refused or unusual */
        }
    }
    return more == 0 && prop->kind != V_NONE;
}

static int map_entry(span s, property *prop) {
    reader r = reader_of(s);
    int has_key = 0, has_value = 0, more;
    while ((more = next_field(&r)) > 0) {
        if (r.number == 1 && r.type == 2 && !has_key) {
            if (!utf8(r.payload, NULL)) return 0;
            prop->key = r.payload;
            has_key = 1;
        } else if (r.number == 2 && r.type == 2 && !has_value) {
            if (!value(r.payload, prop)) return 0;
            has_value = 1;
        } else {
            return 0;
        }
    }
    return more == 0 && has_key && has_value;
}

static int string_field(span payload, span *into, int *seen, int check_utf8) {
    if (*seen || (check_utf8 && !utf8(payload, NULL))) return 0; /* repeated: leave to protobuf */
    *into = payload;
    *seen = 1;
    return 1;
}

static int parse_event(span s, event *e) {
    reader r = reader_of(s);
    int seen[8] = {0}, more;
    memset(e, 0, sizeof(*e));
    while ((more = next_field(&r)) > 0) {
        span payload = r.payload;
        if (r.type != 2) return 0;
        switch (r.number) {
        /* The UUIDs' UTF-8 is not checked: `parse_uuid` takes nothing but ASCII hex. */
        case 1: if (!string_field(payload, &e->event_id, &seen[1], 0)) return 0; break;
        case 2: if (!string_field(payload, &e->name, &seen[2], 1)) return 0; break;
        case 3:
            if (e->has_time || !timestamp(payload, &e->seconds, &e->nanos)) return 0;
            e->has_time = 1;
            break;
        case 4: if (!string_field(payload, &e->install_id, &seen[4], 0)) return 0; break;
        case 5: if (!string_field(payload, &e->session_id, &seen[5], 0)) return 0; break;
        case 6: if (!string_field(payload, &e->editor_version, &seen[6], 1)) return 0; break;
        case 7: if (!string_field(payload, &e->platform, &seen[7], 1)) return 0; break;
        case 8:
            if (e->nprops == MAX_PROPERTIES || !map_entry(payload, &e->props[e->nprops])) return 0;
            e->nprops++;
            break;
        default: /* receive_time (output only) and unknown fields: leave to protobuf */
            return 0;
        }
    }
    return more == 0;
}

/* --- checks -------------------------------------------------------------------------- */

/* Each byte's value as a lowercase hex digit, 0xff when it is none (filled at import). */
static unsigned char hex_digit[256];

/* A canonical UUID (lowercase hex, dashes at 8, 13, 18, 23) into its 16 bytes: 1, else 0. */
static int parse_uuid(span s, unsigned char *b) {
    if (s.n != 36 || s.p[8] != '-' || s.p[13] != '-' || s.p[18] != '-' || s.p[23] != '-')
        return 0;
    static const unsigned char at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    unsigned char seen = 0;
    for (int i = 0; i < 16; i++) {
        unsigned char h = hex_digit[s.p[at[i]]], l = hex_digit[s.p[at[i] + 1]];
        seen |= h | l;
        b[i] = (unsigned char)(h << 4 | (l & 0x0f));
    }
    return seen < 16;
}

static int same(span a, span b) { return a.n == b.n && memcmp(a.p, b.p, (size_t)a.n) == 0; }

/* Byte order, a prefix first: Python's order of the bytes (and, for UTF-8, of the str). */
static int compare(span a, span b) {
    Py_ssize_t n = a.n < b.n ? a.n : b.n;
    int c = memcmp(a.p, b.p, (size_t)n);
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

static int by_key(const void *a, const void *b) {
    return compare(((const property *)a)->key, ((const property *)b)->key);
}

static int by_delta(const delta_key *x, const delta_key *y) {
    int c;
    if (x->hour != y->hour) return x->hour < y->hour ? -1 : 1;
    if ((c = compare(x->name, y->name)) || (c = memcmp(x->install, y->install, 16)) ||
        (c = compare(x->version, y->version)) || (c = compare(x->platform, y->platform)) ||
        (c = compare(x->extension, y->extension)))
        return c;
    return compare(x->extension_version, y->extension_version);
}

static int by_delta_at(const void *a, const void *b) {
    return by_delta(*(const delta_key *const *)a, *(const delta_key *const *)b);
}

/* An event's dedupe key (install id, event id: 16 bytes each) and its place in the request. */
typedef struct {
    unsigned char key[32];
    Py_ssize_t at;
} keyed;

static int by_event_key(const void *a, const void *b) {
    return memcmp(((const keyed *)a)->key, ((const keyed *)b)->key, 32);
}

static PyObject *text(span s) { return PyUnicode_DecodeUTF8((const char *)s.p, s.n, NULL); }

/* Calls `fn(arg)`: 1 when truthy, 0 when falsy, -1 on error. */
static int accepts(PyObject *fn, PyObject *arg) {
    PyObject *r = PyObject_CallOneArg(fn, arg);
    if (!r) return -1;
    int ok = PyObject_IsTrue(r);
    Py_DECREF(r);
    return ok;
}

/* --- output: JSON (the properties) and PostgreSQL's binary format ------------------- */

static int grow(out *o, Py_ssize_t more) {
    if (o->len + more <= o->cap) return 1;
    Py_ssize_t cap = o->cap ? o->cap : 65536;
    while (cap < o->len + more) cap *= 2;
    char *b = PyMem_Realloc(o->buf, (size_t)cap);
    if (!b) return 0;
    o->buf = b;
    o->cap = cap;
    return 1;
}

static int put(out *o, const char *s, Py_ssize_t n) {
    if (!grow(o, n)) return 0;
    memcpy(o->buf + o->len, s, (size_t)n);
    o->len += n;
    return 1;
}

static int putc_(out *o, char c) { return put(o, &c, 1); }

static int put_int(out *o, long long v) {
    char b[24], *w = b + sizeof b;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--w = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--w = '-';
    return put(o, w, b + sizeof b - w);
}

static unsigned char ascii_lower(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* A JSON string as json.dumps(ensure_ascii=False) writes it. `lower`: ASCII lowercase. */
static int put_string(out *o, span s, int lower) {
    if (!grow(o, s.n * 6 + 2)) return 0;
    char *w = o->buf + o->len;
    *w++ = '"';
    for (Py_ssize_t i = 0; i < s.n; i++) {
        unsigned char c = s.p[i];
        switch (c) {
        case '"': *w++ = '\\'; *w++ = '"'; break;
        case '\\': *w++ = '\\'; *w++ = '\\'; break;
        case '\n': *w++ = '\\'; *w++ = 'n'; break;
        case '\r': *w++ = '\\'; *w++ = 'r'; break;
        case '\t': *w++ = '\\'; *w++ = 't'; break;
        case '\b': *w++ = '\\'; *w++ = 'b'; break;
        case '\f': *w++ = '\\'; *w++ = 'f'; break;
        default:
            if (c < 0x20) {
                w += sprintf(w, "\\u%04x", c);
            } else {
                *w++ = (char)(lower ? ascii_lower(c) : c);
            }
        }
    }
    *w++ = '"';
    o->len = w - o->buf;
    return 1;
}

static int put_double(out *o, double d) {
    char *r = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!r) return 0;
    int ok = put(o, r, (Py_ssize_t)strlen(r));
    PyMem_Free(r);
    return ok;
}

static void big_endian(unsigned char *b, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--, v >>= 8) b[i] = (unsigned char)(v & 0xff);
}

static int put_be(out *o, uint64_t v, int n) {
    unsigned char b[8];
    big_endian(b, v, n);
    return put(o, (const char *)b, n);
}

/* Element OIDs (pg_type) of the arrays, as in staging.py. */
enum { OID_INT8 = 20, OID_INT2 = 21, OID_TEXT = 25, OID_TIMESTAMPTZ = 1184, OID_UUID = 2950,
       OID_JSONB = 3802 };
#define PG_EPOCH_US 946684800000000LL /* 2000-01-01 in microseconds since 1970 */
#define HOUR_US 3600000000LL

/* A one-dimensional array without nulls (`array_send`); its length goes in at the end. */
static int begin_array(out *o, uint32_t oid) {
    return put_be(o, 1, 4) && put_be(o, 0, 4) && put_be(o, oid, 4) && put_be(o, 0, 4) &&
           put_be(o, 1, 4);
}

static void end_array(out *o, Py_ssize_t n) {
    big_endian((unsigned char *)o->buf + 12, (uint64_t)n, 4);
}

static int put_element(out *o, const void *p, Py_ssize_t n) {
    return put_be(o, (uint64_t)n, 4) && put(o, p, n);
}

static int put_text(out *o, span s) { return put_element(o, s.p, s.n); }

static int put_int8(out *o, long long v) { return put_be(o, 8, 4) && put_be(o, (uint64_t)v, 8); }

static int put_uuid(out *o, const unsigned char *b) { return put_element(o, b, 16); }

/* --- memos: what a batch repeats (names, versions, values) is looked up once --------- */

#define MEMOS 512 /* direct-mapped: a clash forgets the older answer, which is looked up again */

typedef struct {
    const void *owner; /* the table or check the answer belongs to */
    span key;
    PyObject *answer; /* borrowed: lives as long as the plan */
} memo;

typedef struct {
    memo m[MEMOS];
} memos;

static uint64_t hash_more(uint64_t h, span s) { /* FNV-1a */
    for (Py_ssize_t i = 0; i < s.n; i++) h = (h ^ s.p[i]) * 1099511628211ULL;
    return h;
}

static memo *slot_of(memos *ms, const void *owner, span key) {
    uint64_t h = hash_more((uint64_t)(uintptr_t)owner * 0x9e3779b97f4a7c15ULL, key);
    return &ms->m[(h >> 40) & (MEMOS - 1)];
}

static PyObject *recall(memos *ms, const void *owner, span key) {
    memo *m = slot_of(ms, owner, key);
    return m->owner == owner && same(m->key, key) ? m->answer : NULL;
}

static void remember(memos *ms, const void *owner, span key, PyObject *answer) {
    memo *m = slot_of(ms, owner, key);
    m->owner = owner;
    m->key = key;
    m->answer = answer;
}

/* --- one event ----------------------------------------------------------------------- */

typedef struct {
    PyObject *events, *platforms, *editor_ok;
    PyObject *known; /* check -> set of the texts it accepted, across batches (the plan's) */
    long long max_event_bytes, max_age_us, max_skew_us;
    long long receive_us, skew_us;
    long long schema_version;
    memos lookups; /* name -> compiled event, (properties, key) -> spec */
    memos accepted; /* (check, text) -> Py_True for texts a check accepted */
} context;

/* `text` in `table` (a dict), memoized; NULL and no error when absent. */
static PyObject *lookup(context *c, PyObject *table, span key) {
    PyObject *found = recall(&c->lookups, table, key);
    if (found) return found;
    PyObject *k = text(key);
    if (!k) return NULL;
    found = PyDict_GetItemWithError(table, k); /* borrowed */
    Py_DECREF(k);
    if (found) remember(&c->lookups, table, key, found);
    return found;
}

#define KNOWN_PER_CHECK 4096 /* the checks are pure: what they accepted is remembered, this much */

/* Whether `check` (a callable, or a set to be in) accepts `s`, memoized when it does (for the
 * batch, and for a callable also across batches in `known`): 1, 0, or -1 on error. */

static int accepted(context *c, PyObject *check, span s) {
    if (recall(&c->accepted, check, s)) return 1;
    PyObject *t = text(s);
    if (!t) return -1;
    int ok;
    if (PyAnySet_Check(check)) {
        ok = PySet_Contains(check, t);
    } else {
        PyObject *known = PyDict_GetItemWithError(c->known, check); /* borrowed */
        if (!known && !PyErr_Occurred() && (known = PySet_New(NULL))) {
            int set = PyDict_SetItem(c->known, check, known);
            Py_DECREF(known); /* the dict holds it */
            if (set < 0) known = NULL;
        }
        ok = known ? PySet_Contains(known, t) : -1;
        if (ok == 0) {
            ok = accepts(check, t);
            if (ok == 1 && PySet_GET_SIZE(known) < KNOWN_PER_CHECK && PySet_Add(known, t) < 0)
                ok = -1;
        }
    }
    Py_DECREF(t);
    if (ok == 1) remember(&c->accepted, check, s, Py_True);
    return ok;
}

/* The event columns of `staging.Staged`, in its order. */
enum { E_EVENT_ID, E_NAME, E_EVENT_TIME, E_INSTALL_ID, E_SESSION_ID, E_EDITOR_VERSION, E_PLATFORM,
       E_PROPERTIES, E_COLUMNS };
static const uint32_t E_OIDS[E_COLUMNS] = {OID_UUID, OID_TEXT, OID_TIMESTAMPTZ, OID_UUID,
                                           OID_UUID, OID_TEXT, OID_TEXT,        OID_JSONB};
static const unsigned char NOTHING[1] = {0};

static int named(span s, const char *name) {
    size_t n = strlen(name);
    return (size_t)s.n == n && memcmp(s.p, name, n) == 0;
}

/* 1: valid, written to `cols` and its delta key to `d`; 0: not the fast path's (no error
 * set); -1: error set. `lowered` holds lowercased values (room for all: nothing moves). */
static int encode_event(context *c, event *e, out *cols, delta_key *d, out *lowered,
                        long long *event_us) {
    if (e->name.n == 0 || !e->has_time) return 0; /* the UUIDs: checked by the caller */
    PyObject *compiled = lookup(c, c->events, e->name);
    if (!compiled) return PyErr_Occurred() ? -1 : 0;
    PyObject *props = PyTuple_GET_ITEM(compiled, 0), *required = PyTuple_GET_ITEM(compiled, 1);

    long long client_us = e->seconds * 1000000LL + e->nanos / 1000;
    long long at = client_us + c->skew_us;
    if (at < c->receive_us - c->max_age_us || at > c->receive_us + c->max_skew_us) return 0;
    if (e->editor_version.n > 64) return 0;
    int ok = accepted(c, c->editor_ok, e->editor_version);
    if (ok <= 0) return ok;
    ok = accepted(c, c->platforms, e->platform);
    if (ok <= 0) return ok;

    property sorted[MAX_PROPERTIES];
    memcpy(sorted, e->props, sizeof(property) * (size_t)e->nprops);
    for (int i = 1; i < e->nprops; i++) /* a few: insertion sort */
        for (int j = i; j > 0 && by_key(&sorted[j - 1], &sorted[j]) > 0; j--) {
            property t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    for (int i = 1; i < e->nprops; i++)
        if (same(sorted[i - 1].key, sorted[i].key)) return 0; /* protobuf keeps the last */

    /* The properties: a jsonb element (its length, version 1, the JSON text). */
    out *o = &cols[E_PROPERTIES];
    Py_ssize_t start = o->len;
    if (!put_be(o, 0, 4) || !putc_(o, 1) || !putc_(o, '{')) return -1;
    span none = {NOTHING, 0};
    d->extension = d->extension_version = none;
    for (int i = 0; i < e->nprops; i++) {
        const property *prop = &sorted[i];
        PyObject *spec = lookup(c, props, prop->key);
        if (!spec) return PyErr_Occurred() ? -1 : 0;
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
        Py_ssize_t max_length = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 1));
        PyObject *matcher = PyTuple_GET_ITEM(spec, 2), *allowed = PyTuple_GET_ITEM(spec, 3);
        PyObject *low = PyTuple_GET_ITEM(spec, 4), *high = PyTuple_GET_ITEM(spec, 5);
        int lower = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 6));
        if (PyErr_Occurred()) return -1;
        if ((i && !putc_(o, ',')) || !put_string(o, prop->key, 0) || !putc_(o, ':')) return -1;
        if (kind == K_BOOL) {
            if (prop->kind != V_BOOL) return 0;
            if (!put(o, prop->flag ? "true" : "false", prop->flag ? 4 : 5)) return -1;
        } else if (kind == K_INT || kind == K_DOUBLE) {
            double n = prop->number;
            if (prop->kind != V_NUMBER || !isfinite(n)) return 0;
            if (kind == K_INT && (n != floor(n) || fabs(n) > MAX_SAFE_INT)) return 0;
            if ((low != Py_None && n < PyFloat_AsDouble(low)) ||
                (high != Py_None && n > PyFloat_AsDouble(high)))
                return 0;
            if (PyErr_Occurred()) return -1;
            if (!(kind == K_INT ? put_int(o, (long long)n) : put_double(o, n))) return -1;
        } else {
            Py_ssize_t chars = 0;
            if (prop->kind != V_STRING) return 0;
            utf8(prop->text, &chars);
            if (kind != K_ENUM && max_length && chars > max_length) return 0;
            ok = accepted(c, kind == K_ENUM ? allowed : matcher, prop->text);
            if (ok <= 0) return ok;
            if (!put_string(o, prop->text, lower)) return -1;
            span stored = prop->text;
            if (lower) {
                if (lowered->len + stored.n > lowered->cap) return 0;
                unsigned char *w = (unsigned char *)lowered->buf + lowered->len;
                for (Py_ssize_t k = 0; k < stored.n; k++) w[k] = ascii_lower(stored.p[k]);
                lowered->len += stored.n;
                stored.p = w;
            }
            if (named(prop->key, "extension")) d->extension = stored;
            else if (named(prop->key, "extension_version")) d->extension_version = stored;
        }
    }
    Py_ssize_t nreq = PyTuple_GET_SIZE(required);
    for (Py_ssize_t r = 0; r < nreq; r++) {
        Py_ssize_t n;
        const char *want = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(required, r), &n);
        if (!want) return -1;
        int found = 0;
        for (int i = 0; i < e->nprops && !found; i++)
            found = sorted[i].key.n == n && memcmp(sorted[i].key.p, want, (size_t)n) == 0;
        if (!found) return 0;
    }
    if (!putc_(o, '}')) return -1;
    big_endian((unsigned char *)o->buf + start, (uint64_t)(o->len - start - 4), 4);
    long long pg_us = at - PG_EPOCH_US;
    if (!put_uuid(&cols[E_EVENT_ID], e->id) || !put_text(&cols[E_NAME], e->name) ||
        !put_int8(&cols[E_EVENT_TIME], pg_us) || !put_uuid(&cols[E_INSTALL_ID], e->install) ||
        !put_uuid(&cols[E_SESSION_ID], e->session) ||
        !put_text(&cols[E_EDITOR_VERSION], e->editor_version) ||
        !put_text(&cols[E_PLATFORM], e->platform))
        return -1;
    d->hour = (pg_us / HOUR_US - (pg_us % HOUR_US < 0)) * HOUR_US; /* floor, as date_trunc */
    memcpy(d->install, e->install, 16);
    d->name = e->name;
    d->version = e->editor_version;
    d->platform = e->platform;
    *event_us = at;
    return 1;
}

/* --- the batch ----------------------------------------------------------------------- */

/* The deltas of the batch's events (`keys`), grouped and sorted: eight arrays into `d`. Equal
 * keys are counted in a hash table first, so only the groups (a few dozen in a batch of 500)
 * are sorted. */
enum { D_BUCKET, D_EVENT, D_INSTALL, D_EDITOR_VERSION, D_PLATFORM, D_EXTENSION,
       D_EXTENSION_VERSION, D_COUNT, D_COLUMNS };
static const uint32_t D_OIDS[D_COLUMNS] = {OID_TIMESTAMPTZ, OID_TEXT, OID_UUID, OID_TEXT,
                                           OID_TEXT,        OID_TEXT, OID_TEXT, OID_INT8};

static uint64_t delta_hash(const delta_key *k) {
    span install = {k->install, 16};
    uint64_t h = (uint64_t)k->hour * 0x9e3779b97f4a7c15ULL;
    h = hash_more(hash_more(hash_more(h, k->name), install), k->version);
    return hash_more(hash_more(hash_more(h, k->platform), k->extension), k->extension_version);
}

static int put_deltas(delta_key *keys, Py_ssize_t count, out *d) {
    size_t nslots = 16;
    while (nslots < (size_t)count * 2) nslots *= 2;
    const delta_key **slots = PyMem_Calloc(nslots, sizeof(*slots)); /* a group's first key */
    long long *counts = PyMem_Calloc(nslots, sizeof(*counts));
    const delta_key **order = PyMem_Malloc(sizeof(*order) * (size_t)count); /* the groups */
    int ok = slots && counts && order;
    Py_ssize_t groups = 0;
    for (Py_ssize_t i = 0; ok && i < count; i++) {
        size_t slot = (size_t)(delta_hash(&keys[i]) >> 20) & (nslots - 1);
        while (slots[slot] && by_delta(slots[slot], &keys[i]) != 0) slot = (slot + 1) & (nslots - 1);
        if (!slots[slot]) order[groups++] = slots[slot] = &keys[i];
        counts[slot]++;
    }
    if (ok) qsort(order, (size_t)groups, sizeof(*order), by_delta_at);
    for (int k = 0; k < D_COLUMNS; k++) ok = ok && begin_array(&d[k], D_OIDS[k]);
    for (Py_ssize_t i = 0; ok && i < groups; i++) {
        const delta_key *g = order[i];
        size_t slot = (size_t)(delta_hash(g) >> 20) & (nslots - 1);
        while (slots[slot] != g) slot = (slot + 1) & (nslots - 1);
        if (!put_int8(&d[D_BUCKET], g->hour) || !put_text(&d[D_EVENT], g->name) ||
            !put_element(&d[D_INSTALL], g->install, 16) ||
            !put_text(&d[D_EDITOR_VERSION], g->version) || !put_text(&d[D_PLATFORM], g->platform) ||
            !put_text(&d[D_EXTENSION], g->extension) ||
            !put_text(&d[D_EXTENSION_VERSION], g->extension_version) ||
            !put_int8(&d[D_COUNT], counts[slot]))
            ok = 0;
    }
    PyMem_Free(slots);
    PyMem_Free(counts);
    PyMem_Free(order);
    if (ok)
        for (int k = 0; k < D_COLUMNS; k++) end_array(&d[k], groups);
    return ok;
}

static int count_install(PyObject *installs, span install, long n) {
    PyObject *key = text(install);
    if (!key) return -1;
    PyObject *seen = PyDict_GetItemWithError(installs, key);
    if (!seen && PyErr_Occurred()) {
        Py_DECREF(key);
        return -1;
    }
    PyObject *total = PyLong_FromLong((seen ? PyLong_AsLong(seen) : 0) + n);
    int set = total ? PyDict_SetItem(installs, key, total) : -1;
    Py_DECREF(key);
    Py_XDECREF(total);
    return set;
}

/* `staging.Staged`: the two scalars, the event columns, the deltas. */
#define STAGED_FIELDS (2 + E_COLUMNS + D_COLUMNS)

static PyObject *staged_tuple(long long receive_us, long long schema_version, out *cols,
                              out *deltas) {
    unsigned char receive[8], version[2];
    big_endian(receive, (uint64_t)(receive_us - PG_EPOCH_US), 8);
    big_endian(version, (uint64_t)schema_version, 2);
    PyObject *t = PyTuple_New(STAGED_FIELDS);
    if (!t) return NULL;
    Py_ssize_t i = 0;
#define FIELD(p, n)                                                                               \
    do {                                                                                          \
        PyObject *b = PyBytes_FromStringAndSize((const char *)(p), (n));                          \
        if (!b) goto fail;                                                                        \
        PyTuple_SET_ITEM(t, i++, b);                                                              \
    } while (0)
    FIELD(receive, 8);
    FIELD(version, 2);
    for (int k = 0; k < E_COLUMNS; k++) FIELD(cols[k].buf, cols[k].len);
    for (int k = 0; k < D_COLUMNS; k++) FIELD(deltas[k].buf, deltas[k].len);
#undef FIELD
    return t;
fail:
    Py_DECREF(t);
    return NULL;
}

static PyObject *encode(PyObject *self, PyObject *args) {
    Py_buffer raw;
    PyObject *plan;
    long long receive_us, schema_version;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O!LL", &raw, &PyTuple_Type, &plan, &receive_us,
                          &schema_version))
        return NULL;
    PyObject *result = NULL, *installs = NULL, *staged = NULL;
    event *events = NULL;
    span *spans = NULL;
    delta_key *deltas = NULL;
    keyed *order = NULL;
    const unsigned char **ids = NULL; /* open addressing over the event ids */
    size_t nslots = 16;
    out cols[E_COLUMNS] = {{0}}, dcols[D_COLUMNS] = {{0}}, lowered = {0};
    context c;
    long long max_events, max_bytes;
    if (PyTuple_GET_SIZE(plan) != 9) {
        PyErr_SetString(PyExc_ValueError, "plan: 9 items expected");
        goto done;
    }
    c.events = PyTuple_GET_ITEM(plan, 0);
    c.platforms = PyTuple_GET_ITEM(plan, 1);
    c.editor_ok = PyTuple_GET_ITEM(plan, 2);
    max_events = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, 3));
    max_bytes = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, 4));
    c.max_event_bytes = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, 5));
    c.max_age_us = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, 6));
    c.max_skew_us = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, 7));
    if (PyErr_Occurred()) goto done;
    c.known = PyTuple_GET_ITEM(plan, 8);
    if (!PyDict_Check(c.events) || !PyAnySet_Check(c.platforms) || !PyDict_Check(c.known)) {
        PyErr_SetString(PyExc_TypeError, "plan: events dict, platforms set, known dict expected");
        goto done;
    }
    c.receive_us = receive_us;
    c.schema_version = schema_version;
    c.skew_us = 0;
    if (raw.len > max_bytes) goto fallback;

    /* The request: events (1) and sent_time (2), each event's span first. */
    span whole = {raw.buf, raw.len};
    reader r = reader_of(whole);
    Py_ssize_t count = 0;
    int has_sent = 0, more;
    spans = PyMem_Malloc(sizeof(span) * (size_t)(max_events > 0 ? max_events : 1));
    if (!spans) {
        PyErr_NoMemory();
        goto done;
    }
    while ((more = next_field(&r)) > 0) {
        if (r.type != 2) goto fallback;
        if (r.number == 1) {
            if (count == max_events || r.payload.n > c.max_event_bytes) goto fallback;
            spans[count++] = r.payload;
        } else if (r.number == 2 && !has_sent) {
            int64_t seconds;
            int32_t nanos;
            if (!timestamp(r.payload, &seconds, &nanos)) goto fallback;
            c.skew_us = receive_us - (seconds * 1000000LL + nanos / 1000);
            has_sent = 1;
        } else {
            goto fallback;
        }
    }
    if (more < 0 || count == 0) goto fallback;
    events = PyMem_Malloc(sizeof(event) * (size_t)count);
    deltas = PyMem_Malloc(sizeof(delta_key) * (size_t)count);
    order = PyMem_Malloc(sizeof(keyed) * (size_t)count);
    while (nslots < (size_t)count * 2) nslots *= 2;
    ids = PyMem_Calloc(nslots, sizeof(*ids));
    installs = PyDict_New();
    if (!events || !deltas || !order || !ids || !installs) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    /* Room up front: the properties are at most the request's size, the rest per event. */
    if (!grow(&cols[E_PROPERTIES], raw.len * 2 + 64) || !grow(&lowered, raw.len)) goto nomem;
    for (int k = 0; k < E_COLUMNS; k++)
        if (!grow(&cols[k], count * 48 + 64) || !begin_array(&cols[k], E_OIDS[k])) goto nomem;
    memset(&c.lookups, 0, sizeof c.lookups);
    memset(&c.accepted, 0, sizeof c.accepted);
    for (Py_ssize_t i = 0; i < count; i++) {
        event *e = &events[i];
        if (!parse_event(spans[i], e)) goto fallback;
        if (!parse_uuid(e->event_id, e->id)) goto fallback;
        /* A batch's events share an install and a few sessions: the previous event's bytes. */
        if (i && same(e->install_id, e[-1].install_id)) memcpy(e->install, e[-1].install, 16);
        else if (!parse_uuid(e->install_id, e->install)) goto fallback;
        if (i && same(e->session_id, e[-1].session_id)) memcpy(e->session, e[-1].session, 16);
        else if (!parse_uuid(e->session_id, e->session)) goto fallback;
        /* An id twice in the batch is a duplicate the Python path counts. */
        uint64_t h, low;
        memcpy(&h, e->id, 8);
        memcpy(&low, e->id + 8, 8);
        h = (h ^ (low * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
        for (size_t slot = (h >> 32) & (nslots - 1);; slot = (slot + 1) & (nslots - 1)) {
            if (!ids[slot]) {
                ids[slot] = e->id;
                break;
            }
            if (memcmp(ids[slot], e->id, 16) == 0) goto fallback;
        }
        memcpy(order[i].key, e->install, 16);
        memcpy(order[i].key + 16, e->id, 16);
        order[i].at = i;
    }
    /* The events go out in the dedupe index's order: PostgreSQL inserts the keys in order (two
     * batches sharing ids wait on each other in one direction only), and needs no key arrays. */
    qsort(order, (size_t)count, sizeof(keyed), by_event_key);
    long long first = 0, last = 0;
    span run = {NULL, 0}; /* the install of the events counted in `run_n`: a batch has few */
    long run_n = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        event *e = &events[order[i].at];
        long long at = 0;
        int ok = encode_event(&c, e, cols, &deltas[i], &lowered, &at);
        if (ok < 0) goto done;
        if (ok == 0) goto fallback;
        first = i ? (at < first ? at : first) : at;
        last = i ? (at > last ? at : last) : at;
        if (run_n && !same(run, e->install_id)) {
            if (count_install(installs, run, run_n) < 0) goto done;
            run_n = 0;
        }
        run = e->install_id;
        run_n++;
    }
    if (count_install(installs, run, run_n) < 0) goto done;
    for (int k = 0; k < E_COLUMNS; k++) end_array(&cols[k], count);
    if (!put_deltas(deltas, count, dcols)) goto nomem;
    staged = staged_tuple(receive_us, schema_version, cols, dcols);
    if (staged) result = Py_BuildValue("(OnOLL)", staged, count, installs, first, last);
    goto done;
nomem:
    PyErr_NoMemory();
    goto done;
fallback:
    if (!PyErr_Occurred()) result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&raw);
    Py_XDECREF(installs);
    Py_XDECREF(staged);
    PyMem_Free(events);
    PyMem_Free(deltas);
    PyMem_Free(order);
    PyMem_Free(ids);
    PyMem_Free(spans);
    for (int k = 0; k < E_COLUMNS; k++) PyMem_Free(cols[k].buf);
    for (int k = 0; k < D_COLUMNS; k++) PyMem_Free(dcols[k].buf);
    PyMem_Free(lowered.buf);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_VARARGS,
     "encode(raw, plan, receive_us, schema_version) -> (staged, count, installs, first_us, "
     "last_us) or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastingest",
                                    "The ingest fast path (see fast_ingest.py).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastingest(void) {
    memset(hex_digit, 0xff, sizeof hex_digit);
    for (int i = 0; i < 10; i++) hex_digit['0' + i] = (unsigned char)i;
    for (int i = 0; i < 6; i++) hex_digit['a' + i] = (unsigned char)(10 + i);
    return PyModule_Create(&module);
}
