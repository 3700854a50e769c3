/*
 * shoplake.clickstream._canonical: the transform's canonical path, one native pass per batch.
 *
 * Most clickstream records arrive exactly as the shop's producer writes them: plain ASCII
 * JSON, already trimmed, lower-case and in UTC. For those, this module does in one pass
 * what transform.normalise does record by record: base64-decode, parse, check every rule
 * of the contract, derive the stored fields, write the stored JSON line and base64-encode
 * it, and drop exact duplicates. Whatever it is not certain about (an escape, a number
 * sent as text, an upper-case enumeration, a broken field, an unusual address) it leaves
 * to the general path, which applies the same rules and names the field that breaks one.
 * So this module never fails a record: it decides `Ok` or `Dropped`, or passes.
 *
 * It knows no field names and no rule values: transform.py configures it from the
 * contract (shoplake.clickstream.contract) once, at import. A property test holds its
 * answers to the general path's, record for record.
 *
 * Built against Python's stable ABI (abi3, 3.12+), with no dependency but the interpreter.
 */
#define Py_LIMITED_API 0x030C0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What a field of the incoming event is, for this module; transform.py maps the contract onto these. */
enum {
    K_TEXT = 0,       /* trimmed text, 1..limit characters */
    K_TEXT_LOWER,     /* the same, stored lower-case */
    K_EVENT_TYPE,     /* one of the enumeration's values */
    K_EVENT_TIME,     /* YYYY-MM-DDTHH:MM:SS.mmmZ, a real time within the window */
    K_PRICE,          /* a number of at least 0, stored as a double */
    K_QUANTITY,       /* a whole number from 1 to the int32 maximum */
    K_CLIENT_IP,      /* an address, stored as its network */
    K_COUNTRY,        /* two letters, stored upper-case */
    K_IGNORED,        /* read by the general path only in cases this module passes on */
    K_USER_AGENT,     /* trimmed text, from which the device class is derived */
};
/* Where a stored field comes from when it is not an incoming one. */
enum { D_NETWORK = -1, D_DEVICE = -2, D_BOT = -3, D_VERSION = -4 };

#define MAX_FIELDS 32
#define MAX_TYPES 32
#define MAX_REQUIREMENTS 16

typedef struct {
    char *name;
    Py_ssize_t len;
    int kind;
    Py_ssize_t limit; /* 0: none */
    int required;
} InField;

typedef struct {
    char *name; /* written as "name": */
    Py_ssize_t len;
    int source; /* an InField index, or D_* */
} OutField;

typedef struct {
    const char *p;
    Py_ssize_t n;
} Span;

/* The configuration, set once by configure(). */
static int configured = 0;
static InField in_fields[MAX_FIELDS];
static int n_in = 0;
static OutField out_fields[MAX_FIELDS];
static int n_out = 0;
static Span event_types[MAX_TYPES];
static int n_types = 0;
/* For an event of these types (bit per event_types index), these fields (bit per InField) are required. */
static struct {
    uint32_t types, fields;
} requirements[MAX_REQUIREMENTS];
static int n_requirements = 0;
static uint32_t always_required = 0; /* fields every event needs */
static int agent_field = -1, time_field = -1, type_field = -1, ip_field = -1;
static long long oldest_ms = 0, newest_ms = 0, max_quantity = 0, schema_version = 0;
static char ipv4_suffix[16]; /* what follows an IPv4 address's first three parts in its network */
static Py_ssize_t ipv4_suffix_len = 0;
static char version_text[24];
static Py_ssize_t version_len = 0;
static char *other_device = NULL;
static PyObject *device_of = NULL;      /* (user_agent, cache) -> (device_class, is_bot) */
static PyObject *contract_error = NULL; /* the exception class the general path raises */
static PyObject *str_ok = NULL, *str_dropped = NULL;
static PyObject *key_record_id = NULL, *key_data = NULL, *key_arrival = NULL, *key_result = NULL,
                *key_metadata = NULL;

/* ---------------------------------------------------------------- growable byte buffers */

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Buffer;

static int reserve(Buffer *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *grown = PyMem_Realloc(b->buf, (size_t)cap);
    if (!grown) {
        PyErr_NoMemory();
        return -1;
    }
    b->buf = grown;
    b->cap = cap;
    return 0;
}

static inline int put(Buffer *b, const char *p, Py_ssize_t n) {
    if (reserve(b, n) < 0) return -1;
    memcpy(b->buf + b->len, p, (size_t)n);
    b->len += n;
    return 0;
}

/* ---------------------------------------------------------------- base64, as pybase64.b64decode(validate=True) */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static signed char b64_value[256];

static void init_tables(void) {
    memset(b64_value, -1, sizeof b64_value);
    for (int i = 0; i < 64; i++) b64_value[(unsigned char)B64[i]] = (signed char)i;
}

/* Length decoded into out, or -1 when pybase64 would refuse it: a length that is not a
 * multiple of 4, a character outside the alphabet, or padding anywhere but at the end.
 * Like pybase64, the unused bits of the last character are not checked. */
static Py_ssize_t b64_decode(const unsigned char *s, Py_ssize_t n, unsigned char *out) {
    if (n % 4) return -1;
    if (n == 0) return 0;
    int pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    Py_ssize_t whole = pad ? n - 4 : n, o = 0;
    for (Py_ssize_t i = 0; i < whole; i += 4) {
        int a = b64_value[s[i]], b = b64_value[s[i + 1]], c = b64_value[s[i + 2]], d = b64_value[s[i + 3]];
        if ((a | b | c | d) < 0) return -1;
        uint32_t v = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6) | (uint32_t)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    if (pad) {
        const unsigned char *q = s + whole;
        int a = b64_value[q[0]], b = b64_value[q[1]];
        if ((a | b) < 0) return -1;
        out[o++] = (unsigned char)((a << 2) | (b >> 4));
        if (pad == 1) {
            int c = b64_value[q[2]];
            if (c < 0) return -1;
            out[o++] = (unsigned char)(((b & 15) << 4) | (c >> 2));
        }
    }
    return o;
}

static Py_ssize_t b64_encode(const unsigned char *s, Py_ssize_t n, char *out) {
    Py_ssize_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
        out[o++] = B64[v >> 18];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];
        out[o++] = B64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        out[o++] = B64[v >> 18];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8);
        out[o++] = B64[v >> 18];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

/* ---------------------------------------------------------------- exact duplicates within a batch */

typedef struct {
    uint64_t hash;
    Py_ssize_t offset, len; /* into the arena of accepted payloads */
    int used;
} Slot;

typedef struct {
    Slot *slots;
    size_t mask;
} Seen;

static uint64_t hash_bytes(const unsigned char *p, Py_ssize_t n) {
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)n;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    h ^= h >> 32;
    return h;
}

/* The slot holding this payload, or the empty slot where it would go. */
static Slot *seen_find(Seen *seen, const char *arena, const unsigned char *p, Py_ssize_t n, uint64_t h) {
    size_t i = (size_t)h & seen->mask;
    for (;;) {
        Slot *slot = &seen->slots[i];
        if (!slot->used) return slot;
        if (slot->hash == h && slot->len == n && memcmp(arena + slot->offset, p, (size_t)n) == 0) return slot;
        i = (i + 1) & seen->mask;
    }
}

/* ---------------------------------------------------------------- the canonical event */

typedef struct {
    Span text[MAX_FIELDS];
    uint32_t present; /* bit per InField with a stored value */
    uint32_t given;   /* bit per InField named in the event, for duplicate keys */
    int event_type;
    double price;
    long long quantity;
    long long moment_ms;
    char country[2];
} Event;

static unsigned char special[256]; /* ends a plain string: '"', a backslash, a control character or non-ASCII */

static void init_special(void) {
    for (int c = 0; c < 256; c++) special[c] = (c < 0x20 || c >= 0x80 || c == '"' || c == '\\');
}

static inline const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A JSON string with no escapes, in plain ASCII; p is at the opening quote. NULL: not canonical.
 * The payload is followed by a NUL (special), so the scan stops at the end. */
static inline const char *plain_string(const char *p, const char *end, Span *out) {
    const char *s = ++p;
    while (!special[(unsigned char)*p]) p++;
    if (p >= end || *p != '"') return NULL;
    out->p = s;
    out->n = p - s;
    return p + 1;
}

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A JSON number as orjson reads it. NULL: not JSON. *digits counts the integer part's digits. */
static const char *json_number(const char *p, const char *end, int *integral, int *negative, int *digits) {
    *negative = p < end && *p == '-';
    if (*negative) p++;
    if (p >= end || !is_digit(*p)) return NULL;
    const char *start = p;
    if (*p == '0')
        p++;
    else
        while (p < end && is_digit(*p)) p++;
    *digits = (int)(p - start);
    *integral = 1;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
        *integral = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
        *integral = 0;
    }
    return p;
}

/* The number's value as a double, as orjson and float() read it; 0 when out of range. */
static int number_value(const char *p, Py_ssize_t n, double *value) {
    char copy[64];
    if (n >= (Py_ssize_t)sizeof copy) return 0;
    memcpy(copy, p, (size_t)n);
    copy[n] = 0;
    double v = PyOS_string_to_double(copy, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (isinf(v) || isnan(v)) return 0;
    *value = v;
    return 1;
}

/* A value this module does not store: any scalar orjson reads the same way. NULL: pass the record on. */
static const char *skip_scalar(const char *p, const char *end) {
    Span ignored;
    if (*p == '"') return plain_string(p, end, &ignored);
    if (*p == '-' || is_digit(*p)) {
        int integral, negative, digits;
        const char *q = json_number(p, end, &integral, &negative, &digits);
        double v;
        if (!q || digits > 18 || !number_value(p, q - p, &v)) return NULL;
        return q;
    }
    if (end - p >= 4 && (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0)) return p + 4;
    if (end - p >= 5 && memcmp(p, "false", 5) == 0) return p + 5;
    return NULL; /* objects and arrays: the general path */
}

/* Senders write their fields in the same order every time: the field found at this position
 * in the last record is tried first. */
static signed char field_at[64];

static int find_field(const char *p, Py_ssize_t n, int position) {
    if (position < 64) {
        int guess = field_at[position];
        if (guess >= 0 && in_fields[guess].len == n && memcmp(in_fields[guess].name, p, (size_t)n) == 0) return guess;
    }
    for (int i = 0; i < n_in; i++)
        if (in_fields[i].len == n && memcmp(in_fields[i].name, p, (size_t)n) == 0) {
            if (position < 64) field_at[position] = (signed char)i;
            return i;
        }
    return -1;
}

/* One value of a known field into ev. Returns the position after it, or NULL: pass the record on. */
static const char *read_value(const char *p, const char *end, int field, Event *ev) {
    const InField *f = &in_fields[field];
    uint32_t bit = 1u << field;
    if (end - p >= 4 && memcmp(p, "null", 4) == 0) { /* absent, as the general path reads null */
        if (f->kind == K_EVENT_TYPE || f->kind == K_EVENT_TIME) return NULL;
        return p + 4;
    }
    if (f->kind == K_IGNORED) return skip_scalar(p, end);
    if (f->kind == K_PRICE || f->kind == K_QUANTITY) {
        int integral, negative, digits;
        const char *q = json_number(p, end, &integral, &negative, &digits);
        if (!q || negative) return NULL;
        if (f->kind == K_PRICE) {
            if (digits > 18 || !number_value(p, q - p, &ev->price)) return NULL;
        } else {
            if (!integral || digits > 18) return NULL; /* fits a long long */
            long long v = 0;
            for (const char *d = p; d < q; d++) v = v * 10 + (*d - '0');
            if (v < 1 || v > max_quantity) return NULL;
            ev->quantity = v;
        }
        ev->present |= bit;
        return q;
    }
    if (*p != '"') return NULL; /* text sent as a number or a boolean: the general path decides */
    Span s;
    const char *q = plain_string(p, end, &s);
    if (!q) return NULL;
    switch (f->kind) {
    case K_TEXT:
    case K_TEXT_LOWER:
    case K_USER_AGENT:
        if (s.n == 0) { /* empty: absent, unless required */
            if (f->required) return NULL;
            return q;
        }
        if (s.p[0] == ' ' || s.p[s.n - 1] == ' ') return NULL; /* to be trimmed: the general path */
        if (f->limit && s.n > f->limit) return NULL;
        break;
    case K_EVENT_TYPE: {
        int found = -1;
        for (int i = 0; i < n_types; i++)
            if (event_types[i].n == s.n && memcmp(event_types[i].p, s.p, (size_t)s.n) == 0) found = i;
        if (found < 0) return NULL;
        ev->event_type = found;
        break;
    }
    case K_EVENT_TIME:
        if (s.n != 24) return NULL;
        break;
    case K_CLIENT_IP:
        if (s.n == 0) return q; /* no address: no network */
        break;
    case K_COUNTRY: {
        if (s.n != 2) return NULL;
        for (int i = 0; i < 2; i++) {
            char c = s.p[i];
            if (c >= 'a' && c <= 'z') c = (char)(c - 32);
            if (c < 'A' || c > 'Z') return NULL;
            ev->country[i] = c;
        }
        break;
    }
    default:
        return NULL;
    }
    ev->text[field] = s;
    ev->present |= bit;
    return q;
}

/* The whole payload as one canonical JSON object. 0: pass the record on. */
static int parse_event(const char *p, const char *end, Event *ev) {
    ev->present = ev->given = 0;
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return 0;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return 0; /* nothing in it: the general path names what is missing */
    for (int position = 0;; position++) {
        Span key;
        if (p >= end || *p != '"' || !(p = plain_string(p, end, &key))) return 0;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return 0;
        p = skip_ws(p + 1, end);
        if (p >= end) return 0;
        int field = find_field(key.p, key.n, position);
        if (field < 0) {
            p = skip_scalar(p, end); /* not part of the contract: not stored */
        } else {
            if (ev->given & (1u << field)) return 0; /* named twice */
            ev->given |= 1u << field;
            p = read_value(p, end, field, ev);
        }
        if (!p) return 0;
        p = skip_ws(p, end);
        if (p >= end) return 0;
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (*p != '}') return 0;
        p = skip_ws(p + 1, end);
        return p == end;
    }
}

static int two(const char *p) { return is_digit(p[0]) && is_digit(p[1]) ? (p[0] - '0') * 10 + (p[1] - '0') : -1; }

/* Epoch milliseconds of YYYY-MM-DDTHH:MM:SS.mmmZ exactly as int(datetime.fromisoformat(t).timestamp() * 1000);
 * 0 when datetime would refuse it. The text is stored as sent, so it must be business.stored_time of its own
 * instant: ASCII digits in every numeric place and these separators only (an ISO week date such as
 * 2026-W48-2T05:29:58.123Z, which datetime reads too, is the general path's to store in the one form). */
static int event_time_ms(const char *t, long long *ms) {
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' || t[23] != 'Z')
        return 0;
    int century = two(t), yy = two(t + 2), month = two(t + 5), day = two(t + 8);
    int hour = two(t + 11), minute = two(t + 14), second = two(t + 17), milli_hi = two(t + 20);
    if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 59 || milli_hi < 0 || !is_digit(t[22]))
        return 0;
    int year = century * 100 + yy;
    if (year < 1) return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > month_days[month - 1] + (month == 2 && leap)) return 0;
    /* days from 1970-01-01 (Howard Hinnant's days_from_civil) */
    long long y = year - (month <= 2);
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    long long micros = ((days * 86400 + hour * 3600 + minute * 60 + second) * 1000 + milli_hi * 10 + (t[22] - '0')) * 1000;
    if (micros >= (1LL << 53) || micros <= -(1LL << 53)) return 0; /* past 2255: not exactly a double, as below */
    /* timedelta.total_seconds() divides microseconds by 10**6 (correctly rounded); then * 1000, truncated */
    double seconds = (double)micros / 1e6;
    *ms = (long long)(seconds * 1000.0);
    return 1;
}

/* A dotted-decimal IPv4 address in the one form this module is certain of: four parts of 1 to 3
 * ASCII digits, 0 to 255 with no leading zero, three dots between them and nothing else (no dot
 * before or after, no space, port, zone or prefix length), written as its network. 0 for anything
 * else, which the general path decides (client_ip.client_network, through memo.network), so that
 * both paths give one answer for every address. */
static int ipv4_network(Span ip, char *out, Py_ssize_t *n) {
    const char *p = ip.p, *end = ip.p + ip.n, *parts[4];
    Py_ssize_t lens[4];
    for (int k = 0; k < 4; k++) {
        if (k > 0) {
            if (p == end || *p != '.') return 0;
            p++;
        }
        const char *s = p;
        int value = 0;
        while (p < end && p - s < 3 && is_digit(*p)) value = value * 10 + (*p++ - '0');
        lens[k] = p - s;
        if (lens[k] == 0 || value > 255) return 0;
        if (*s == '0' && lens[k] > 1) return 0; /* "010": octal to some readers; the general path refuses it */
        parts[k] = s;
    }
    if (p != end) return 0; /* "203.0.113.77.", "1.2.3.4:80", "1.2.3.4567": not certain, the general path */
    Py_ssize_t o = 0;
    for (int i = 0; i < 3; i++) {
        if (i) out[o++] = '.';
        memcpy(out + o, parts[i], (size_t)lens[i]);
        o += lens[i];
    }
    memcpy(out + o, ipv4_suffix, (size_t)ipv4_suffix_len);
    *n = o + ipv4_suffix_len;
    return 1;
}

/* ---------------------------------------------------------------- the pass */

/* The devices of the user agents seen in this pass, found by the agent's bytes without making a str. */
#define AGENT_SLOTS 1024
typedef struct {
    uint64_t hash;
    PyObject *agent;  /* the agent, as a str (owned) */
    PyObject *device; /* (device_class, is_bot), borrowed from the agents dict */
} AgentSlot;

typedef struct {
    PyObject *agents;   /* dict: user agent -> (device_class, is_bot), shared with the general path */
    PyObject *network;  /* memo.network: address -> network or None */
    PyObject *metadata; /* memo.metadata: stored event time -> the result's metadata */
    PyObject *hour_metadata;
    char hour[13];
    Buffer line, encoded;
    AgentSlot *agent_slots; /* AGENT_SLOTS of them */
    int agents_cached;
} Pass;

/* The (device_class, is_bot) of a user agent, borrowed; NULL with an exception set on error. */
static PyObject *device_for(Pass *pass, const Span *agent) {
    uint64_t h = hash_bytes((const unsigned char *)agent->p, agent->n);
    size_t i = (size_t)h & (AGENT_SLOTS - 1);
    for (;;) {
        AgentSlot *slot = &pass->agent_slots[i];
        if (!slot->agent) break;
        if (slot->hash == h) {
            Py_ssize_t n;
            const char *known = PyUnicode_AsUTF8AndSize(slot->agent, &n);
            if (!known) return NULL;
            if (n == agent->n && memcmp(known, agent->p, (size_t)n) == 0) return slot->device;
        }
        i = (i + 1) & (AGENT_SLOTS - 1);
    }
    PyObject *ua = PyUnicode_FromStringAndSize(agent->p, agent->n);
    if (!ua) return NULL;
    PyObject *device = PyDict_GetItemWithError(pass->agents, ua); /* borrowed */
    if (!device) {
        if (PyErr_Occurred()) {
            Py_DECREF(ua);
            return NULL;
        }
        device = PyObject_CallFunctionObjArgs(device_of, ua, pass->agents, NULL);
        if (!device) {
            Py_DECREF(ua);
            return NULL;
        }
        Py_DECREF(device); /* the agents dict holds it */
    }
    if (!PyTuple_Check(device) || PyTuple_Size(device) != 2) {
        Py_DECREF(ua);
        PyErr_SetString(PyExc_TypeError, "a device is a (device_class, is_bot) tuple");
        return NULL;
    }
    if (pass->agents_cached < AGENT_SLOTS / 2) { /* keep the table sparse; past that, the dict path */
        AgentSlot *slot = &pass->agent_slots[i];
        slot->hash = h;
        slot->agent = ua;
        slot->device = device;
        pass->agents_cached++;
    } else {
        Py_DECREF(ua);
    }
    return device;
}

/* Derives the stored fields and writes the line. 1: written; 0: pass the record on; -1: error. */
static int write_line(Pass *pass, Event *ev) {
    PyObject *device = device_for(pass, &ev->text[agent_field]);
    if (!device) return -1;
    PyObject *device_name = PyTuple_GetItem(device, 0), *bot = PyTuple_GetItem(device, 1);
    if (!device_name || !bot) return -1;
    Py_ssize_t device_len;
    const char *device_text = PyUnicode_AsUTF8AndSize(device_name, &device_len);
    if (!device_text) return -1;
    if (strcmp(device_text, other_device) == 0) return 0; /* the sender's device_class may count */
    int is_bot = PyObject_IsTrue(bot);
    if (is_bot < 0) return -1;

    char network_buf[32]; /* three parts of at most 3 digits, two dots, a suffix under 16 */
    const char *network = NULL;
    Py_ssize_t network_len = 0;
    PyObject *network_obj = NULL;
    if (ip_field >= 0 && (ev->present & (1u << ip_field))) {
        Span ip = ev->text[ip_field];
        if (ipv4_network(ip, network_buf, &network_len)) {
            network = network_buf;
        } else {
            PyObject *address = PyUnicode_FromStringAndSize(ip.p, ip.n);
            if (!address) return -1;
            network_obj = PyObject_CallFunctionObjArgs(pass->network, address, NULL);
            Py_DECREF(address);
            if (!network_obj) {
                if (PyErr_ExceptionMatches(contract_error)) {
                    PyErr_Clear();
                    return 0; /* the general path reports the address */
                }
                return -1;
            }
            if (network_obj != Py_None) {
                network = PyUnicode_AsUTF8AndSize(network_obj, &network_len);
                if (!network) {
                    Py_DECREF(network_obj);
                    return -1;
                }
            }
        }
    }

    Buffer *b = &pass->line;
    b->len = 0;
    int first = 1, rc = -1;
    if (put(b, "{", 1) < 0) goto done;
    for (int i = 0; i < n_out; i++) {
        const OutField *o = &out_fields[i];
        char number[32];
        const char *value = NULL;
        Py_ssize_t value_len = 0;
        int quoted = 1, lower = 0;
        char *repr = NULL;
        if (o->source >= 0) {
            const InField *f = &in_fields[o->source];
            if (!(ev->present & (1u << o->source))) continue;
            switch (f->kind) {
            case K_PRICE:
                repr = PyOS_double_to_string(ev->price, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
                if (!repr) goto done;
                value = repr;
                value_len = (Py_ssize_t)strlen(repr);
                quoted = 0;
                break;
            case K_QUANTITY:
                value_len = snprintf(number, sizeof number, "%lld", ev->quantity);
                value = number;
                quoted = 0;
                break;
            case K_COUNTRY:
                value = ev->country;
                value_len = 2;
                break;
            case K_CLIENT_IP:
                continue; /* stored only as its network */
            default:
                value = ev->text[o->source].p;
                value_len = ev->text[o->source].n;
                lower = f->kind == K_TEXT_LOWER;
            }
        } else if (o->source == D_NETWORK) {
            if (!network) continue;
            value = network;
            value_len = network_len;
        } else if (o->source == D_DEVICE) {
            value = device_text;
            value_len = device_len;
        } else if (o->source == D_BOT) {
            value = is_bot ? "true" : "false";
            value_len = is_bot ? 4 : 5;
            quoted = 0;
        } else { /* D_VERSION */
            value = version_text;
            value_len = version_len;
            quoted = 0;
        }
        int failed = reserve(b, o->len + value_len + 6) < 0;
        if (!failed) {
            char *w = b->buf + b->len;
            if (!first) *w++ = ',';
            first = 0;
            *w++ = '"';
            memcpy(w, o->name, (size_t)o->len);
            w += o->len;
            *w++ = '"';
            *w++ = ':';
            if (quoted) *w++ = '"';
            memcpy(w, value, (size_t)value_len);
            if (lower)
                for (Py_ssize_t k = 0; k < value_len; k++)
                    if (w[k] >= 'A' && w[k] <= 'Z') w[k] = (char)(w[k] + 32);
            w += value_len;
            if (quoted) *w++ = '"';
            b->len = w - b->buf;
        }
        if (repr) PyMem_Free(repr);
        if (failed) goto done;
    }
    rc = put(b, "}\n", 2) < 0 ? -1 : 1;
done:
    Py_XDECREF(network_obj);
    return rc;
}

static PyObject *ok_result(Pass *pass, PyObject *record_id, const Span *time) {
    Buffer *e = &pass->encoded;
    e->len = 0;
    if (reserve(e, (pass->line.len + 2) / 3 * 4) < 0) return NULL;
    e->len = b64_encode((const unsigned char *)pass->line.buf, pass->line.len, e->buf);
    if (!pass->hour_metadata || memcmp(pass->hour, time->p, 13) != 0) {
        PyObject *stored_time = PyUnicode_FromStringAndSize(time->p, time->n);
        if (!stored_time) return NULL;
        PyObject *metadata = PyObject_CallFunctionObjArgs(pass->metadata, stored_time, NULL);
        Py_DECREF(stored_time);
        if (!metadata) return NULL;
        Py_XDECREF(pass->hour_metadata);
        pass->hour_metadata = metadata;
        memcpy(pass->hour, time->p, 13);
    }
    PyObject *data = PyUnicode_FromStringAndSize(e->buf, e->len);
    PyObject *result = PyDict_New();
    if (!data || !result || PyDict_SetItem(result, key_record_id, record_id) < 0 ||
        PyDict_SetItem(result, key_result, str_ok) < 0 || PyDict_SetItem(result, key_data, data) < 0 ||
        PyDict_SetItem(result, key_metadata, pass->hour_metadata) < 0) {
        Py_XDECREF(data);
        Py_XDECREF(result);
        return NULL;
    }
    Py_DECREF(data);
    return result;
}

static PyObject *dropped_result(PyObject *record_id, PyObject *raw) {
    PyObject *result = PyDict_New();
    if (!result || PyDict_SetItem(result, key_record_id, record_id) < 0 ||
        PyDict_SetItem(result, key_result, str_dropped) < 0 || PyDict_SetItem(result, key_data, raw) < 0) {
        Py_XDECREF(result);
        return NULL;
    }
    return result;
}

/* str(item.get("recordId", "")), as a new reference. */
static PyObject *record_id_of(PyObject *item) {
    PyObject *given = PyDict_GetItemWithError(item, key_record_id);
    if (!given) return PyErr_Occurred() ? NULL : PyUnicode_FromStringAndSize("", 0);
    if (PyUnicode_CheckExact(given)) {
        Py_INCREF(given);
        return given;
    }
    return PyObject_Str(given);
}

/* One record: 1 decided (*result set), 0 passed on, -1 error. */
static int one_record(Pass *pass, PyObject *item, long long fallback_ms, Buffer *arena, Seen *seen,
                      PyObject **result, Py_ssize_t *dropped) {
    if (!PyDict_CheckExact(item)) return 0;
    PyObject *raw = PyDict_GetItemWithError(item, key_data);
    if (!raw) return PyErr_Occurred() ? -1 : 0;
    const char *text;
    Py_ssize_t raw_len;
    if (PyUnicode_CheckExact(raw)) {
        text = PyUnicode_AsUTF8AndSize(raw, &raw_len);
        if (!text) { /* not even UTF-8 (a lone surrogate): not base64 either, as the general path says */
            PyErr_Clear();
            return 0;
        }
    } else if (PyBytes_CheckExact(raw)) {
        char *bytes;
        if (PyBytes_AsStringAndSize(raw, &bytes, &raw_len) < 0) return -1;
        text = bytes;
    } else {
        return 0;
    }
    if (raw_len == 0) return 0;
    PyObject *arrival = PyDict_GetItemWithError(item, key_arrival);
    if (!arrival && PyErr_Occurred()) return -1;
    long long arrived_ms = fallback_ms;
    if (arrival && PyLong_CheckExact(arrival)) {
        int overflow;
        arrived_ms = PyLong_AsLongLongAndOverflow(arrival, &overflow);
        if (overflow || (arrived_ms == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
        if (arrived_ms > (1LL << 53) || arrived_ms < -(1LL << 53)) return 0; /* no window arithmetic can overflow */
    }
    /* decode at the arena's end; kept there only if accepted */
    if (reserve(arena, raw_len / 4 * 3 + 1) < 0) return -1;
    unsigned char *payload = (unsigned char *)arena->buf + arena->len;
    Py_ssize_t n = b64_decode((const unsigned char *)text, raw_len, payload);
    if (n <= 0) return 0;
    uint64_t h = hash_bytes(payload, n);
    Slot *slot = seen_find(seen, arena->buf, payload, n, h);
    if (slot->used) {
        PyObject *record_id = record_id_of(item);
        *result = record_id ? dropped_result(record_id, raw) : NULL;
        Py_XDECREF(record_id);
        ++*dropped;
        return *result ? 1 : -1;
    }
    payload[n] = 0; /* the sentinel that ends every string scan */
    Event ev;
    if (!parse_event((const char *)payload, (const char *)payload + n, &ev)) return 0;
    if ((ev.present & always_required) != always_required) return 0;
    const Span *time = &ev.text[time_field];
    if (!event_time_ms(time->p, &ev.moment_ms)) return 0;
    if (!(arrived_ms - oldest_ms <= ev.moment_ms && ev.moment_ms <= arrived_ms + newest_ms)) return 0;
    for (int i = 0; i < n_requirements; i++)
        if ((requirements[i].types & (1u << ev.event_type)) &&
            (ev.present & requirements[i].fields) != requirements[i].fields)
            return 0;
    int written = write_line(pass, &ev);
    if (written <= 0) return written;
    PyObject *record_id = record_id_of(item);
    *result = record_id ? ok_result(pass, record_id, time) : NULL;
    Py_XDECREF(record_id);
    if (!*result) return -1;
    slot->used = 1;
    slot->hash = h;
    slot->offset = arena->len;
    slot->len = n;
    arena->len += n + 1;
    return 1;
}

/* run(records, fallback_ms, agents, network, metadata) -> (results, passed_on, dropped)
 *
 * results has one entry per record: its result dict, or None where the general path must
 * decide; passed_on lists those indices, in order; dropped counts the duplicates dropped. */
static PyObject *run(PyObject *module, PyObject *args) {
    PyObject *records, *agents, *network, *metadata;
    long long fallback_ms;
    if (!PyArg_ParseTuple(args, "O!LO!OO:run", &PyList_Type, &records, &fallback_ms, &PyDict_Type, &agents, &network,
                          &metadata))
        return NULL;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "configure() first");
        return NULL;
    }
    Py_ssize_t count = PyList_Size(records), dropped = 0;
    PyObject *results = PyList_New(count), *passed_on = PyList_New(0), *answer = NULL;
    Pass pass = {agents, network, metadata, NULL, {0}, {NULL, 0, 0}, {NULL, 0, 0}, NULL, 0};
    pass.agent_slots = PyMem_Calloc(AGENT_SLOTS, sizeof(AgentSlot));
    Buffer arena = {NULL, 0, 0};
    Seen seen = {NULL, 0};
    size_t size = 16;
    while (size < (size_t)count * 2 + 16) size *= 2;
    seen.slots = PyMem_Calloc(size, sizeof(Slot));
    seen.mask = size - 1;
    if (!results || !passed_on || !seen.slots || !pass.agent_slots) {
        if (!seen.slots || !pass.agent_slots) PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *result = NULL;
        int decided = one_record(&pass, PyList_GetItem(records, i), fallback_ms, &arena, &seen, &result, &dropped);
        if (decided < 0) goto done;
        if (decided == 0) {
            Py_INCREF(Py_None);
            result = Py_None;
            PyObject *index = PyLong_FromSsize_t(i);
            if (!index || PyList_Append(passed_on, index) < 0) {
                Py_XDECREF(index);
                Py_DECREF(result);
                goto done;
            }
            Py_DECREF(index);
        }
        PyList_SetItem(results, i, result); /* steals */
    }
    PyObject *dropped_count = PyLong_FromSsize_t(dropped);
    if (dropped_count) {
        answer = PyTuple_Pack(3, results, passed_on, dropped_count);
        Py_DECREF(dropped_count);
    }
done:
    Py_XDECREF(results);
    Py_XDECREF(passed_on);
    Py_XDECREF(pass.hour_metadata);
    if (pass.agent_slots)
        for (int i = 0; i < AGENT_SLOTS; i++) Py_XDECREF(pass.agent_slots[i].agent);
    PyMem_Free(pass.agent_slots);
    PyMem_Free(pass.line.buf);
    PyMem_Free(pass.encoded.buf);
    PyMem_Free(arena.buf);
    PyMem_Free(seen.slots);
    return answer;
}

/* ---------------------------------------------------------------- configuration from the contract */

static char *copy_text(PyObject *text, Py_ssize_t *len) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (!s) return NULL;
    char *copy = PyMem_Malloc((size_t)n + 1);
    if (!copy) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, s, (size_t)n + 1);
    if (len) *len = n;
    return copy;
}

static int mask_of(PyObject *names, int types, uint32_t *mask) {
    if (!PyTuple_Check(names)) {
        PyErr_SetString(PyExc_TypeError, "a requirement names its event types and fields in tuples");
        return -1;
    }
    *mask = 0;
    for (Py_ssize_t i = 0; i < PyTuple_Size(names); i++) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(PyTuple_GetItem(names, i), &len);
        if (!s) return -1;
        int found = -1;
        if (types) {
            for (int t = 0; t < n_types; t++)
                if (event_types[t].n == len && memcmp(event_types[t].p, s, (size_t)len) == 0) found = t;
        } else {
            for (int f = 0; f < n_in; f++)
                if (in_fields[f].len == len && memcmp(in_fields[f].name, s, (size_t)len) == 0) found = f;
        }
        if (found < 0) {
            PyErr_Format(PyExc_ValueError, "a requirement names %s, which is not configured", s);
            return -1;
        }
        *mask |= 1u << found;
    }
    return 0;
}

/* The one input of this kind, or -1 with ValueError. */
static int only_field(int kind, const char *what) {
    int found = -1;
    for (int i = 0; i < n_in; i++)
        if (in_fields[i].kind == kind) {
            if (found >= 0) found = -2;
            else if (found == -1) found = i;
        }
    if (found < 0) PyErr_Format(PyExc_ValueError, "the inputs must include exactly one %s", what);
    return found;
}

/* configure(inputs, outputs, event_types, requirements, oldest_ms, newest_ms, max_quantity, schema_version,
 *           ipv4_suffix, other_device, device_of, contract_error, ok, dropped)
 *
 * inputs: ((name, kind, limit, required), ...), every field of the event the general path reads;
 * outputs: ((name, source), ...), the stored record's fields in order;
 * requirements: (((event type, ...), (field, ...)), ...): for those types, those fields must be given. */
static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *inputs, *outputs, *types, *needs, *suffix, *other, *device_fn, *error, *ok, *dropped;
    if (!PyArg_ParseTuple(args, "O!O!O!O!LLLLUUOOUU:configure", &PyTuple_Type, &inputs, &PyTuple_Type, &outputs,
                          &PyTuple_Type, &types, &PyTuple_Type, &needs, &oldest_ms, &newest_ms, &max_quantity,
                          &schema_version, &suffix, &other, &device_fn, &error, &ok, &dropped))
        return NULL;
    if (configured) {
        PyErr_SetString(PyExc_RuntimeError, "already configured");
        return NULL;
    }
    if (PyTuple_Size(inputs) > MAX_FIELDS || PyTuple_Size(outputs) > MAX_FIELDS || PyTuple_Size(types) > MAX_TYPES ||
        PyTuple_Size(needs) > MAX_REQUIREMENTS) {
        PyErr_SetString(PyExc_ValueError, "too many fields, event types or requirements");
        return NULL;
    }
    n_in = n_out = n_types = n_requirements = 0;
    always_required = 0;
    for (Py_ssize_t i = 0; i < PyTuple_Size(inputs); i++) {
        PyObject *name;
        int kind, required;
        Py_ssize_t limit;
        if (!PyArg_ParseTuple(PyTuple_GetItem(inputs, i), "Uinp", &name, &kind, &limit, &required)) return NULL;
        if (kind < K_TEXT || kind > K_USER_AGENT) {
            PyErr_SetString(PyExc_ValueError, "an input's kind is out of range");
            return NULL;
        }
        InField *f = &in_fields[n_in];
        if (!(f->name = copy_text(name, &f->len))) return NULL;
        f->kind = kind;
        f->limit = limit;
        f->required = required;
        if (required) always_required |= 1u << n_in;
        n_in++;
    }
    for (Py_ssize_t i = 0; i < PyTuple_Size(outputs); i++) {
        PyObject *name;
        int source;
        if (!PyArg_ParseTuple(PyTuple_GetItem(outputs, i), "Ui", &name, &source)) return NULL;
        if (source >= n_in || source < D_VERSION) {
            PyErr_SetString(PyExc_ValueError, "an output's source is out of range");
            return NULL;
        }
        OutField *o = &out_fields[n_out];
        if (!(o->name = copy_text(name, &o->len))) return NULL;
        o->source = source;
        n_out++;
    }
    for (Py_ssize_t i = 0; i < PyTuple_Size(types); i++) {
        char *copy = copy_text(PyTuple_GetItem(types, i), &event_types[n_types].n);
        if (!copy) return NULL;
        event_types[n_types].p = copy;
        n_types++;
    }
    for (Py_ssize_t i = 0; i < PyTuple_Size(needs); i++) {
        PyObject *for_types, *fields;
        if (!PyArg_ParseTuple(PyTuple_GetItem(needs, i), "OO", &for_types, &fields) ||
            mask_of(for_types, 1, &requirements[i].types) < 0 || mask_of(fields, 0, &requirements[i].fields) < 0)
            return NULL;
        n_requirements++;
    }
    /* The canonical path derives the device from the user agent, and reads the time and type of every event. */
    if ((agent_field = only_field(K_USER_AGENT, "user agent")) < 0 ||
        (time_field = only_field(K_EVENT_TIME, "event time")) < 0 ||
        (type_field = only_field(K_EVENT_TYPE, "event type")) < 0 || only_field(K_PRICE, "price") < 0 ||
        only_field(K_QUANTITY, "quantity") < 0 || (ip_field = only_field(K_CLIENT_IP, "client address")) < 0)
        return NULL;
    always_required |= (1u << agent_field) | (1u << time_field) | (1u << type_field);
    version_len = snprintf(version_text, sizeof version_text, "%lld", schema_version);
    memset(field_at, -1, sizeof field_at);
    const char *suffix_text = PyUnicode_AsUTF8AndSize(suffix, &ipv4_suffix_len);
    if (!suffix_text) return NULL;
    if (ipv4_suffix_len >= (Py_ssize_t)sizeof ipv4_suffix) {
        PyErr_SetString(PyExc_ValueError, "the IPv4 network suffix is too long");
        return NULL;
    }
    memcpy(ipv4_suffix, suffix_text, (size_t)ipv4_suffix_len);
    if (!(other_device = copy_text(other, NULL))) return NULL;
    Py_INCREF(device_fn);
    device_of = device_fn;
    Py_INCREF(error);
    contract_error = error;
    Py_INCREF(ok);
    str_ok = ok;
    Py_INCREF(dropped);
    str_dropped = dropped;
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Configure the canonical path from the contract (once)."},
    {"run", run, METH_VARARGS,
     "run(records, fallback_ms, agents, network, metadata) -> (results, passed_on, dropped)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_canonical",
    .m_doc = "The clickstream transform's canonical path, one native pass per batch.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__canonical(void) {
    init_tables();
    init_special();
    key_record_id = PyUnicode_InternFromString("recordId");
    key_data = PyUnicode_InternFromString("data");
    key_arrival = PyUnicode_InternFromString("approximateArrivalTimestamp");
    key_result = PyUnicode_InternFromString("result");
    key_metadata = PyUnicode_InternFromString("metadata");
    if (!key_record_id || !key_data || !key_arrival || !key_result || !key_metadata) return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (!module) return NULL;
    PyModule_AddIntConstant(module, "TEXT", K_TEXT);
    PyModule_AddIntConstant(module, "TEXT_LOWER", K_TEXT_LOWER);
    PyModule_AddIntConstant(module, "EVENT_TYPE", K_EVENT_TYPE);
    PyModule_AddIntConstant(module, "EVENT_TIME", K_EVENT_TIME);
    PyModule_AddIntConstant(module, "PRICE", K_PRICE);
    PyModule_AddIntConstant(module, "QUANTITY", K_QUANTITY);
    PyModule_AddIntConstant(module, "CLIENT_IP", K_CLIENT_IP);
    PyModule_AddIntConstant(module, "COUNTRY", K_COUNTRY);
    PyModule_AddIntConstant(module, "IGNORED", K_IGNORED);
    PyModule_AddIntConstant(module, "USER_AGENT", K_USER_AGENT);
    PyModule_AddIntConstant(module, "NETWORK", D_NETWORK);
    PyModule_AddIntConstant(module, "DEVICE", D_DEVICE);
    PyModule_AddIntConstant(module, "BOT", D_BOT);
    PyModule_AddIntConstant(module, "VERSION", D_VERSION);
    return module;
}
