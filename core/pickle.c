/* core/pickle.c - the pickle VM subset of core/pickle.h (read the header first).
 *
 * Layout: an arena owns every node, string and item array of one parse, so freeing is one
 * walk over the arena blocks and a consumer can hold node pointers as long as the gb_pickle
 * lives. The VM keeps Python's stack discipline: MARK sets a fence, and popping below the
 * fence is an error ("stack underflow"), exactly as CPython's _pickle.c does.
 * Tested by tests/test_pickle.c.
 */
#include "core/pickle.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------------ */

typedef struct pk_block {
    struct pk_block *next;
    size_t used, size;
    _Alignas(max_align_t) unsigned char data[];
} pk_block;

struct gb_pickle {
    pk_block *blocks;
    size_t allocated, max_alloc;
    size_t nodes, max_nodes;
    gb_pk_node *root;
    char origin[512];
};

#define PK_BLOCK_SIZE ((size_t)64 * 1024)

/* NULL when the tree would exceed max_alloc or memory runs out. */
static void *pk_alloc(gb_pickle *pk, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    if (size > pk->max_alloc || pk->allocated > pk->max_alloc - size) return NULL;
    pk_block *b = pk->blocks;
    if (!b || b->size - b->used < size) {
        size_t cap = size > PK_BLOCK_SIZE ? size : PK_BLOCK_SIZE;
        b = malloc(sizeof(pk_block) + cap);
        if (!b) return NULL;
        b->next = pk->blocks;
        b->used = 0;
        b->size = cap;
        pk->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    pk->allocated += size;
    return p;
}

void gb_pickle_free(gb_pickle *pk) {
    if (!pk) return;
    pk_block *b = pk->blocks;
    while (b) {
        pk_block *next = b->next;
        free(b);
        b = next;
    }
    free(pk);
}

/* ---- the machine -------------------------------------------------------------- */

typedef struct {
    gb_pickle *pk;
    const uint8_t *d;
    size_t n, pos;
    size_t base;        /* opts->base_offset */
    size_t op_off;      /* offset of the opcode being executed */
    uint8_t op;
    size_t max_depth;
    const char *const *allow;
    gb_pk_node **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    uint32_t *mkeys;    /* memo: open addressing, mslots a power of two */
    gb_pk_node **mvals;
    size_t mslots, mcount;
} pk_vm;

static const char *op_name(uint8_t op) {
    switch (op) {
    case '(': return "MARK";          case '.': return "STOP";          case '0': return "POP";
    case '1': return "POP_MARK";      case '2': return "DUP";           case 'F': return "FLOAT";
    case 'I': return "INT";           case 'J': return "BININT";        case 'K': return "BININT1";
    case 'L': return "LONG";          case 'M': return "BININT2";       case 'N': return "NONE";
    case 'P': return "PERSID";        case 'Q': return "BINPERSID";     case 'R': return "REDUCE";
    case 'S': return "STRING";        case 'T': return "BINSTRING";     case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";       case 'X': return "BINUNICODE";    case 'a': return "APPEND";
    case 'b': return "BUILD";         case 'c': return "GLOBAL";        case 'd': return "DICT";
    case '}': return "EMPTY_DICT";    case 'e': return "APPENDS";       case 'g': return "GET";
    case 'h': return "BINGET";        case 'i': return "INST";          case 'j': return "LONG_BINGET";
    case 'l': return "LIST";          case ']': return "EMPTY_LIST";    case 'o': return "OBJ";
    case 'p': return "PUT";           case 'q': return "BINPUT";        case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";       case 't': return "TUPLE";         case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";      case 'G': return "BINFLOAT";      case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";       case 0x82: return "EXT1";         case 0x83: return "EXT2";
    case 0x84: return "EXT4";         case 0x85: return "TUPLE1";       case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";       case 0x88: return "NEWTRUE";      case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";        case 0x8b: return "LONG4";        case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES"; case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";    case 0x8f: return "EMPTY_SET";    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";    case 0x92: return "NEWOBJ_EX";    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";      case 0x95: return "FRAME";        case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";  case 0x98: return "READONLY_BUFFER";
    default: return "unknown opcode";
    }
}

__attribute__((format(printf, 2, 3))) static gb_status vm_fail(pk_vm *v, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return gb_fail(GB_INPUT,
                   "%s: pickle byte %zu (opcode 0x%02x %s): %s; the file is corrupt, truncated or not a pickle "
                   "this reader supports (protocols 0-4 without sets/extensions): re-create or re-download it",
                   v->pk->origin, v->base + v->op_off, v->op, op_name(v->op), why);
}

static gb_status vm_oom(pk_vm *v) {
    return vm_fail(v, "the pickle needs more than the allowed %zu bytes of memory or %zu nodes", v->pk->max_alloc,
                   v->pk->max_nodes);
}

static gb_pk_node *new_node(pk_vm *v, gb_pk_kind kind) {
    if (v->pk->nodes >= v->pk->max_nodes) return NULL;
    gb_pk_node *x = pk_alloc(v->pk, sizeof *x);
    if (!x) return NULL;
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->offset = v->base + v->op_off;
    v->pk->nodes++;
    return x;
}

/* Bytes [p, p+len) copied into the arena with a NUL after them. */
static const uint8_t *copy_bytes(pk_vm *v, const uint8_t *p, size_t len) {
    if (len == SIZE_MAX) return NULL;
    uint8_t *q = pk_alloc(v->pk, len + 1);
    if (!q) return NULL;
    if (len) memcpy(q, p, len);
    q[len] = 0;
    return q;
}

static gb_status push(pk_vm *v, gb_pk_node *x) {
    if (!x) return vm_oom(v);
    if (v->sp == v->scap) {
        if (v->scap >= v->pk->max_nodes) return vm_fail(v, "stack deeper than %zu entries", v->pk->max_nodes);
        size_t cap = v->scap ? 2 * v->scap : 64;
        gb_pk_node **s = realloc(v->stack, cap * sizeof *s);
        if (!s) return vm_oom(v);
        v->stack = s;
        v->scap = cap;
    }
    v->stack[v->sp++] = x;
    return GB_OK;
}

static size_t fence(const pk_vm *v) { return v->nmarks ? v->marks[v->nmarks - 1] : 0; }

static gb_status pop(pk_vm *v, gb_pk_node **x) {
    if (v->sp <= fence(v)) return vm_fail(v, "stack underflow (nothing above the last MARK)");
    *x = v->stack[--v->sp];
    return GB_OK;
}

static gb_status top(pk_vm *v, gb_pk_node **x) {
    if (v->sp <= fence(v)) return vm_fail(v, "stack underflow (nothing above the last MARK)");
    *x = v->stack[v->sp - 1];
    return GB_OK;
}

/* Remove the last MARK: the items above it are stack[*k, sp); the caller resets sp to *k. */
static gb_status pop_mark(pk_vm *v, size_t *k) {
    if (!v->nmarks) return vm_fail(v, "no MARK on the stack");
    *k = v->marks[--v->nmarks];
    return GB_OK;
}

static gb_status need(pk_vm *v, size_t k) {
    if (v->n - v->pos < k)
        return vm_fail(v, "truncated: the argument needs %zu bytes, %zu are left", k, v->n - v->pos);
    return GB_OK;
}

/* A '\n'-terminated text argument; *len excludes the newline. */
static gb_status read_line(pk_vm *v, const uint8_t **line, size_t *len) {
    const uint8_t *s = v->d + v->pos;
    const uint8_t *e = memchr(s, '\n', v->n - v->pos);
    if (!e) return vm_fail(v, "truncated: unterminated text argument (no newline before the end)");
    *line = s;
    *len = (size_t)(e - s);
    v->pos += *len + 1;
    return GB_OK;
}

static uint64_t le_uint(const uint8_t *p, int k) {
    uint64_t x = 0;
    for (int i = k - 1; i >= 0; i--) x = (x << 8) | p[i];
    return x;
}

/* ---- memo ------------------------------------------------------------------- */

static size_t memo_slot(const pk_vm *v, uint32_t key) {
    size_t h = (size_t)(key * 2654435761u) & (v->mslots - 1);
    while (v->mvals[h] && v->mkeys[h] != key) h = (h + 1) & (v->mslots - 1);
    return h;
}

static gb_status memo_put(pk_vm *v, uint64_t key, gb_pk_node *x) {
    if (key > UINT32_MAX) return vm_fail(v, "memo key %llu out of range", (unsigned long long)key);
    if (2 * (v->mcount + 1) > v->mslots) {
        if (v->mcount >= v->pk->max_nodes) return vm_oom(v);
        size_t slots = v->mslots ? 2 * v->mslots : 256;
        uint32_t *keys = calloc(slots, sizeof *keys);
        gb_pk_node **vals = calloc(slots, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return vm_oom(v);
        }
        uint32_t *ok = v->mkeys;
        gb_pk_node **ov = v->mvals;
        size_t oslots = v->mslots;
        v->mkeys = keys;
        v->mvals = vals;
        v->mslots = slots;
        for (size_t i = 0; i < oslots; i++)
            if (ov[i]) {
                size_t h = memo_slot(v, ok[i]);
                v->mkeys[h] = ok[i];
                v->mvals[h] = ov[i];
            }
        free(ok);
        free(ov);
    }
    size_t h = memo_slot(v, (uint32_t)key);
    if (!v->mvals[h]) v->mcount++;
    v->mkeys[h] = (uint32_t)key;
    v->mvals[h] = x;
    return GB_OK;
}

static gb_status memo_get(pk_vm *v, uint64_t key) {
    if (key > UINT32_MAX || !v->mslots) return vm_fail(v, "memo key %llu was never stored", (unsigned long long)key);
    size_t h = memo_slot(v, (uint32_t)key);
    if (!v->mvals[h]) return vm_fail(v, "memo key %llu was never stored", (unsigned long long)key);
    return push(v, v->mvals[h]);
}

/* ---- text arguments ------------------------------------------------------------ */

/* Decimal integer text (optional sign, surrounding blanks) -> uint magnitude bytes.
 * Returns 0 on a syntax error. */
static int parse_decimal(const uint8_t *s, size_t len, int *neg, int64_t *small, int *fits, uint8_t *mag,
                         size_t *mag_len, size_t mag_cap) {
    while (len && (s[len - 1] == '\r' || s[len - 1] == ' ')) len--;
    while (len && *s == ' ') s++, len--;
    *neg = 0;
    if (len && (*s == '-' || *s == '+')) {
        *neg = *s == '-';
        s++;
        len--;
    }
    if (!len) return 0;
    size_t ml = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned carry = s[i] - '0';
        for (size_t j = 0; j < ml; j++) {
            unsigned t = mag[j] * 10u + carry;
            mag[j] = (uint8_t)t;
            carry = t >> 8;
        }
        if (carry) {
            if (ml == mag_cap) return 0;
            mag[ml++] = (uint8_t)carry;
        }
    }
    *mag_len = ml;
    uint64_t u = 0;
    *fits = ml <= 8;
    if (*fits) u = le_uint(mag, (int)ml);
    if (*fits && !*neg && u > (uint64_t)INT64_MAX) *fits = 0;
    if (*fits && *neg && u > (uint64_t)INT64_MAX + 1) *fits = 0;
    if (*fits) *small = *neg ? (int64_t)(0 - u) : (int64_t)u;
    return 1;
}

/* Little-endian two's complement bytes -> INT node (int64 when it fits, big otherwise). */
static gb_pk_node *int_from_le(pk_vm *v, const uint8_t *p, size_t len) {
    gb_pk_node *x = new_node(v, GB_PK_INT);
    if (!x) return NULL;
    int negative = len && (p[len - 1] & 0x80);
    uint8_t ext = negative ? 0xff : 0x00;
    size_t sig = len; /* drop redundant sign-extension bytes */
    while (sig > 1 && p[sig - 1] == ext && ((p[sig - 2] & 0x80) == (ext & 0x80))) sig--;
    if (sig <= 8) {
        uint64_t u = 0;
        for (size_t i = 8; i-- > 0;) u = (u << 8) | (i < sig ? p[i] : ext);
        x->ival = (int64_t)u;
        return x;
    }
    x->big = 1;
    x->bytes = copy_bytes(v, p, sig);
    x->len = sig;
    return x->bytes ? x : NULL;
}

static gb_status op_text_int(pk_vm *v, int is_long) {
    const uint8_t *s = NULL;
    size_t len = 0;
    GB_TRY(read_line(v, &s, &len));
    if (!is_long && len == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1')) {
        gb_pk_node *x = new_node(v, GB_PK_BOOL); /* protocol 0 writes True/False as I01 / I00 */
        if (x) x->ival = s[1] == '1';
        return push(v, x);
    }
    if (is_long && len && s[len - 1] == 'L') len--;
    if (len > 4096) return vm_fail(v, "integer text longer than 4096 digits");
    uint8_t mag[1712]; /* 4096 decimal digits < 1712 bytes */
    size_t ml = 0;
    int neg = 0, fits = 0;
    int64_t small = 0;
    if (!parse_decimal(s, len, &neg, &small, &fits, mag, &ml, sizeof mag))
        return vm_fail(v, "'%.*s' is not a decimal integer", (int)(len > 40 ? 40 : len), (const char *)s);
    if (fits) {
        gb_pk_node *x = new_node(v, GB_PK_INT);
        if (x) x->ival = small;
        return push(v, x);
    }
    if (!is_long) return vm_fail(v, "INT value does not fit 64 bits");
    /* magnitude -> two's complement with room for the sign bit */
    uint8_t buf[1713];
    memcpy(buf, mag, ml);
    buf[ml++] = 0;
    if (neg) {
        unsigned carry = 1;
        for (size_t i = 0; i < ml; i++) {
            unsigned t = (uint8_t)~buf[i] + carry;
            buf[i] = (uint8_t)t;
            carry = t >> 8;
        }
    }
    return push(v, int_from_le(v, buf, ml));
}

static gb_status op_text_float(pk_vm *v) {
    const uint8_t *s = NULL;
    size_t len = 0;
    GB_TRY(read_line(v, &s, &len));
    char buf[128];
    if (len == 0 || len >= sizeof buf) return vm_fail(v, "float text of %zu characters", len);
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    while (*end == ' ' || *end == '\r') end++;
    if (end == buf || *end) return vm_fail(v, "'%s' is not a float", buf);
    gb_pk_node *x = new_node(v, GB_PK_FLOAT);
    if (x) x->fval = d;
    return push(v, x);
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* STRING: a Python-2 repr in quotes, decoded like codecs.escape_decode -> BYTES. */
static gb_status op_text_string(pk_vm *v) {
    const uint8_t *s = NULL;
    size_t len = 0;
    GB_TRY(read_line(v, &s, &len));
    while (len && s[len - 1] == '\r') len--;
    if (len < 2 || (s[0] != '\'' && s[0] != '"') || s[len - 1] != s[0])
        return vm_fail(v, "the STRING argument is not quoted");
    s++;
    len -= 2;
    uint8_t *out = pk_alloc(v->pk, len + 1);
    if (!out) return vm_oom(v);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        if (++i == len) return vm_fail(v, "STRING ends with a lone backslash");
        uint8_t c = s[i];
        switch (c) {
        case '\\': out[o++] = '\\'; break;
        case '\'': out[o++] = '\''; break;
        case '"': out[o++] = '"'; break;
        case 'a': out[o++] = 7; break;
        case 'b': out[o++] = 8; break;
        case 'f': out[o++] = 12; break;
        case 'n': out[o++] = 10; break;
        case 'r': out[o++] = 13; break;
        case 't': out[o++] = 9; break;
        case 'v': out[o++] = 11; break;
        case 'x': {
            int h1 = i + 1 < len ? hexval(s[i + 1]) : -1, h2 = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h1 < 0 || h2 < 0) return vm_fail(v, "invalid \\x escape in STRING");
            out[o++] = (uint8_t)(h1 * 16 + h2);
            i += 2;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                unsigned val = c - '0';
                for (int k = 0; k < 2 && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7'; k++) val = val * 8 + (s[++i] - '0');
                out[o++] = (uint8_t)val;
            } else { /* unknown escapes stay as written */
                out[o++] = '\\';
                out[o++] = c;
            }
        }
    }
    out[o] = 0;
    gb_pk_node *x = new_node(v, GB_PK_BYTES);
    if (x) {
        x->bytes = out;
        x->len = o;
    }
    return push(v, x);
}

static size_t utf8_put(uint8_t *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xc0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12); o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18); o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* UNICODE: raw-unicode-escape text (bytes are Latin-1 code points; \uXXXX and \UXXXXXXXX
 * are escapes when preceded by an odd run of backslashes, as in CPython) -> STR (UTF-8). */
static gb_status op_text_unicode(pk_vm *v) {
    const uint8_t *s = NULL;
    size_t len = 0;
    GB_TRY(read_line(v, &s, &len));
    if (len > (SIZE_MAX - 1) / 2) return vm_oom(v);
    uint8_t *out = pk_alloc(v->pk, 2 * len + 1);
    if (!out) return vm_oom(v);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] != '\\') {
            o += utf8_put(out + o, s[i++]);
            continue;
        }
        size_t run = 0;
        while (i < len && s[i] == '\\') out[o++] = s[i++], run++;
        if (!(run & 1) || i >= len || (s[i] != 'u' && s[i] != 'U')) continue;
        o--; /* the last backslash starts the escape */
        int digits = s[i] == 'u' ? 4 : 8;
        i++;
        if (len - i < (size_t)digits) return vm_fail(v, "truncated \\u escape in UNICODE");
        uint32_t cp = 0;
        for (int k = 0; k < digits; k++) {
            int h = hexval(s[i + k]);
            if (h < 0) return vm_fail(v, "invalid \\u escape in UNICODE");
            cp = cp * 16 + (uint32_t)h;
        }
        if (cp > 0x10ffff) return vm_fail(v, "\\U escape beyond U+10FFFF in UNICODE");
        i += digits;
        o += utf8_put(out + o, cp);
    }
    out[o] = 0;
    gb_pk_node *x = new_node(v, GB_PK_STR);
    if (x) {
        x->bytes = out;
        x->len = o;
    }
    return push(v, x);
}

/* Well-formed UTF-8, surrogates allowed (CPython decodes pickled str with 'surrogatepass'). */
static int utf8_valid(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xe0) == 0xc0) k = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0) k = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0) k = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (n - i - 1 < k) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff) return 0;
        i += k + 1;
    }
    return 1;
}

/* Length-prefixed payload of `lenbytes` little-endian bytes (signed for BINSTRING). */
static gb_status op_counted(pk_vm *v, int lenbytes, int is_signed, gb_pk_kind kind) {
    GB_TRY(need(v, (size_t)lenbytes));
    uint64_t len = le_uint(v->d + v->pos, lenbytes);
    if (is_signed && (len & 0x80000000u)) return vm_fail(v, "negative length");
    v->pos += (size_t)lenbytes;
    if (len > v->n - v->pos)
        return vm_fail(v, "truncated: the payload needs %llu bytes, %zu are left", (unsigned long long)len,
                       v->n - v->pos);
    const uint8_t *p = v->d + v->pos;
    if (kind == GB_PK_STR && !utf8_valid(p, (size_t)len)) return vm_fail(v, "the string is not valid UTF-8");
    gb_pk_node *x = new_node(v, kind);
    if (x) {
        x->bytes = copy_bytes(v, p, (size_t)len);
        x->len = (size_t)len;
        if (!x->bytes) x = NULL;
    }
    v->pos += (size_t)len;
    return push(v, x);
}

/* ---- containers ----------------------------------------------------------------- */

static gb_status grow(pk_vm *v, gb_pk_node *c, size_t extra) {
    size_t have = c->kind == GB_PK_DICT ? 2 * c->count : c->count;
    if (extra > v->pk->max_nodes || have + extra <= c->capacity) return extra > v->pk->max_nodes ? vm_oom(v) : GB_OK;
    size_t cap = c->capacity ? 2 * c->capacity : 8;
    if (cap < have + extra) cap = have + extra;
    gb_pk_node **items = pk_alloc(v->pk, cap * sizeof *items);
    if (!items) return vm_oom(v);
    if (have) memcpy(items, c->items, have * sizeof *items);
    c->items = items;
    c->capacity = cap;
    return GB_OK;
}

/* A TUPLE / LIST / DICT node holding stack[k, sp); the stack is cut back to k. */
static gb_status make_seq(pk_vm *v, gb_pk_kind kind, size_t k) {
    size_t m = v->sp - k;
    if (kind == GB_PK_DICT && (m & 1)) return vm_fail(v, "odd number of items for a dict");
    gb_pk_node *x = new_node(v, kind);
    if (!x) return vm_oom(v);
    GB_TRY(grow(v, x, m));
    if (m) memcpy(x->items, v->stack + k, m * sizeof *x->items);
    x->count = kind == GB_PK_DICT ? m / 2 : m;
    v->sp = k;
    return push(v, x);
}

static gb_status append_items(pk_vm *v, gb_pk_node *list, gb_pk_node *const *items, size_t m) {
    if (list->kind != GB_PK_LIST) return vm_fail(v, "APPEND target is a %s, not a list", gb_pk_kind_name(list->kind));
    GB_TRY(grow(v, list, m));
    memcpy(list->items + list->count, items, m * sizeof *items);
    list->count += m;
    return GB_OK;
}

static gb_status set_items(pk_vm *v, gb_pk_node *dict, gb_pk_node *const *kv, size_t m) {
    if (dict->kind != GB_PK_DICT) return vm_fail(v, "SETITEM target is a %s, not a dict", gb_pk_kind_name(dict->kind));
    if (m & 1) return vm_fail(v, "odd number of items for SETITEMS");
    GB_TRY(grow(v, dict, m));
    memcpy(dict->items + 2 * dict->count, kv, m * sizeof *kv);
    dict->count += m / 2;
    return GB_OK;
}

static gb_status make_global(pk_vm *v, const uint8_t *mod, size_t ml, const uint8_t *name, size_t nl) {
    if (!ml || !nl || memchr(mod, 0, ml) || memchr(name, 0, nl))
        return vm_fail(v, "empty module or name, or a NUL byte in it");
    gb_pk_node *x = new_node(v, GB_PK_GLOBAL);
    if (!x) return vm_oom(v);
    x->module = (const char *)copy_bytes(v, mod, ml);
    x->name = (const char *)copy_bytes(v, name, nl);
    if (!x->module || !x->name) return vm_oom(v);
    if (v->allow) {
        char *full = pk_alloc(v->pk, ml + nl + 2);
        if (!full) return vm_oom(v);
        snprintf(full, ml + nl + 2, "%s.%s", x->module, x->name);
        int ok = 0;
        for (const char *const *p = v->allow; *p && !ok; p++) ok = fnmatch(*p, full, 0) == 0;
        if (!ok) return vm_fail(v, "global '%.200s' is not one this reader accepts", full);
    }
    return push(v, x);
}

/* ---- the opcode loop --------------------------------------------------------------- */

static gb_status step(pk_vm *v, int *done) {
    v->op_off = v->pos;
    v->op = v->d[v->pos++];
    gb_pk_node *a = NULL, *b = NULL, *c = NULL;
    size_t k = 0;
    const uint8_t *s = NULL, *t = NULL;
    size_t sl = 0, tl = 0;
    switch (v->op) {
    case 0x80: /* PROTO */
        GB_TRY(need(v, 1));
        if (v->d[v->pos] > 5) return vm_fail(v, "protocol %u is newer than 5", v->d[v->pos]);
        v->pos++;
        return GB_OK;
    case 0x95: /* FRAME: a length hint only */
        GB_TRY(need(v, 8));
        v->pos += 8;
        return GB_OK;
    case '.':
        GB_TRY(pop(v, &a)); /* anything left below is ignored, as CPython does */
        v->pk->root = a;
        *done = 1;
        return GB_OK;
    case '(':
        if (v->nmarks == v->mcap) {
            if (v->mcap >= v->pk->max_nodes) return vm_oom(v);
            size_t cap = v->mcap ? 2 * v->mcap : 32;
            size_t *m = realloc(v->marks, cap * sizeof *m);
            if (!m) return vm_oom(v);
            v->marks = m;
            v->mcap = cap;
        }
        v->marks[v->nmarks++] = v->sp;
        return GB_OK;
    case '0': /* CPython: POP right at a MARK removes the MARK */
        if (v->nmarks && v->marks[v->nmarks - 1] == v->sp) {
            v->nmarks--;
            return GB_OK;
        }
        return pop(v, &a);
    case '1':
        GB_TRY(pop_mark(v, &k));
        v->sp = k;
        return GB_OK;
    case '2': GB_TRY(top(v, &a)); return push(v, a);
    case 'N': return push(v, new_node(v, GB_PK_NONE));
    case 0x88:
    case 0x89:
        a = new_node(v, GB_PK_BOOL);
        if (a) a->ival = v->op == 0x88;
        return push(v, a);
    case 'I': return op_text_int(v, 0);
    case 'L': return op_text_int(v, 1);
    case 'J':
    case 'K':
    case 'M': {
        int w = v->op == 'J' ? 4 : v->op == 'K' ? 1 : 2;
        GB_TRY(need(v, (size_t)w));
        uint64_t u = le_uint(v->d + v->pos, w);
        v->pos += (size_t)w;
        a = new_node(v, GB_PK_INT);
        if (a) a->ival = w == 4 ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
        return push(v, a);
    }
    case 0x8a:
    case 0x8b: {
        int w = v->op == 0x8a ? 1 : 4;
        GB_TRY(need(v, (size_t)w));
        uint64_t len = le_uint(v->d + v->pos, w);
        if (w == 4 && (len & 0x80000000u)) return vm_fail(v, "negative LONG4 length");
        v->pos += (size_t)w;
        if (len > v->n - v->pos) return vm_fail(v, "truncated: the integer needs %llu bytes", (unsigned long long)len);
        a = int_from_le(v, v->d + v->pos, (size_t)len);
        v->pos += (size_t)len;
        return push(v, a);
    }
    case 'F': return op_text_float(v);
    case 'G': {
        GB_TRY(need(v, 8));
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u = (u << 8) | v->d[v->pos + (size_t)i];
        v->pos += 8;
        a = new_node(v, GB_PK_FLOAT);
        if (a) memcpy(&a->fval, &u, sizeof u);
        return push(v, a);
    }
    case 'S': return op_text_string(v);
    case 'V': return op_text_unicode(v);
    case 'T': return op_counted(v, 4, 1, GB_PK_BYTES);
    case 'U': return op_counted(v, 1, 0, GB_PK_BYTES);
    case 'B': return op_counted(v, 4, 0, GB_PK_BYTES);
    case 'C': return op_counted(v, 1, 0, GB_PK_BYTES);
    case 0x8e: return op_counted(v, 8, 0, GB_PK_BYTES);
    case 'X': return op_counted(v, 4, 0, GB_PK_STR);
    case 0x8c: return op_counted(v, 1, 0, GB_PK_STR);
    case 0x8d: return op_counted(v, 8, 0, GB_PK_STR);
    case ')': return make_seq(v, GB_PK_TUPLE, v->sp);
    case ']': return make_seq(v, GB_PK_LIST, v->sp);
    case '}': return make_seq(v, GB_PK_DICT, v->sp);
    case 't': GB_TRY(pop_mark(v, &k)); return make_seq(v, GB_PK_TUPLE, k);
    case 'l': GB_TRY(pop_mark(v, &k)); return make_seq(v, GB_PK_LIST, k);
    case 'd': GB_TRY(pop_mark(v, &k)); return make_seq(v, GB_PK_DICT, k);
    case 0x85:
    case 0x86:
    case 0x87: {
        size_t m = (size_t)(v->op - 0x84);
        if (v->sp - fence(v) < m) return vm_fail(v, "stack underflow (TUPLE%zu needs %zu items)", m, m);
        return make_seq(v, GB_PK_TUPLE, v->sp - m);
    }
    case 'a':
        GB_TRY(pop(v, &a));
        GB_TRY(top(v, &b));
        return append_items(v, b, &a, 1);
    case 'e':
        GB_TRY(pop_mark(v, &k));
        if (k <= fence(v)) return vm_fail(v, "stack underflow (no list below the MARK)");
        GB_TRY(append_items(v, v->stack[k - 1], v->stack + k, v->sp - k));
        v->sp = k;
        return GB_OK;
    case 's':
        GB_TRY(pop(v, &a));
        GB_TRY(pop(v, &b));
        GB_TRY(top(v, &c));
        {
            gb_pk_node *kv[2] = {b, a};
            return set_items(v, c, kv, 2);
        }
    case 'u':
        GB_TRY(pop_mark(v, &k));
        if (k <= fence(v)) return vm_fail(v, "stack underflow (no dict below the MARK)");
        GB_TRY(set_items(v, v->stack[k - 1], v->stack + k, v->sp - k));
        v->sp = k;
        return GB_OK;
    case 'c':
        GB_TRY(read_line(v, &s, &sl));
        GB_TRY(read_line(v, &t, &tl));
        return make_global(v, s, sl, t, tl);
    case 0x93:
        GB_TRY(pop(v, &a));
        GB_TRY(pop(v, &b));
        if (a->kind != GB_PK_STR || b->kind != GB_PK_STR) return vm_fail(v, "STACK_GLOBAL operands are not strings");
        return make_global(v, b->bytes, b->len, a->bytes, a->len);
    case 'R':
    case 0x81:
        GB_TRY(pop(v, &a));
        GB_TRY(pop(v, &b));
        if (a->kind != GB_PK_TUPLE) return vm_fail(v, "the arguments are a %s, not a tuple", gb_pk_kind_name(a->kind));
        /* OrderedDict.__reduce__ gives (OrderedDict, ()) and then SETITEMS fill it (every
         * torch state_dict), so that call yields an empty dict; callable records the class. */
        if (v->op == 'R' && a->count == 0 && gb_pk_is_global(b, "collections", "OrderedDict")) c = new_node(v, GB_PK_DICT);
        else c = new_node(v, v->op == 'R' ? GB_PK_REDUCE : GB_PK_NEWOBJ);
        if (c) {
            c->callable = b;
            c->args = a;
        }
        return push(v, c);
    case 'b':
        GB_TRY(pop(v, &a));
        GB_TRY(top(v, &b));
        b->state = a;
        return GB_OK;
    case 'P':
        GB_TRY(read_line(v, &s, &sl));
        a = new_node(v, GB_PK_STR);
        if (!a) return vm_oom(v);
        if (!utf8_valid(s, sl)) return vm_fail(v, "PERSID text is not valid UTF-8");
        a->bytes = copy_bytes(v, s, sl);
        a->len = sl;
        if (!a->bytes) return vm_oom(v);
        b = new_node(v, GB_PK_PERSID);
        if (b) b->pid = a;
        return push(v, b);
    case 'Q':
        GB_TRY(pop(v, &a));
        b = new_node(v, GB_PK_PERSID);
        if (b) b->pid = a;
        return push(v, b);
    case 'p':
    case 'g': {
        GB_TRY(read_line(v, &s, &sl));
        uint8_t mag[32];
        size_t ml;
        int neg, fits;
        int64_t key = 0;
        if (sl > 20 || !parse_decimal(s, sl, &neg, &key, &fits, mag, &ml, sizeof mag) || !fits || key < 0)
            return vm_fail(v, "bad memo key text");
        if (v->op == 'g') return memo_get(v, (uint64_t)key);
        GB_TRY(top(v, &a));
        return memo_put(v, (uint64_t)key, a);
    }
    case 'q':
    case 'r':
    case 'h':
    case 'j': {
        int w = (v->op == 'q' || v->op == 'h') ? 1 : 4;
        GB_TRY(need(v, (size_t)w));
        uint64_t key = le_uint(v->d + v->pos, w);
        v->pos += (size_t)w;
        if (v->op == 'h' || v->op == 'j') return memo_get(v, key);
        GB_TRY(top(v, &a));
        return memo_put(v, key, a);
    }
    case 0x94:
        GB_TRY(top(v, &a));
        return memo_put(v, v->mcount, a);
    default:
        return vm_fail(v, "opcode not supported");
    }
}

/* ---- cycle and depth check of the finished tree ---------------------------------- */

static gb_pk_node *child(const gb_pk_node *x, size_t i) {
    size_t m = x->kind == GB_PK_DICT ? 2 * x->count : (x->kind == GB_PK_TUPLE || x->kind == GB_PK_LIST) ? x->count : 0;
    if (i < m) return x->items[i];
    i -= m;
    gb_pk_node *extra[4] = {x->callable, x->args, x->pid, x->state};
    for (int j = 0; j < 4; j++)
        if (extra[j] && i-- == 0) return extra[j];
    return NULL;
}

typedef struct {
    const gb_pk_node *node;
    size_t next;
    size_t height; /* tallest finished child so far */
} pk_frame;

/* Depth-first walk with an explicit stack. A node met again while on the current path is a
 * cycle. Finished nodes keep their height, so a shared subtree (memo GET) is walked once and
 * still counts fully towards the depth of every path that reaches it; the longest path, the
 * recursion depth a consumer would see, must stay within max_depth. */
static gb_status check_tree(pk_vm *v) {
    size_t cap = v->max_depth;
    pk_frame *path = malloc(cap * sizeof *path);
    size_t slots = 1;
    while (slots < 2 * (v->pk->nodes + 1)) slots <<= 1;
    const gb_pk_node **keys = calloc(slots, sizeof *keys); /* address set */
    size_t *height = calloc(slots, sizeof *height);        /* 0 = on the path, else finished */
    gb_status st = GB_OK;
    if (!path || !keys || !height) {
        st = vm_oom(v);
        goto out;
    }
#define PK_SLOT(p, h)                                                                  \
    do {                                                                               \
        h = (size_t)(((uintptr_t)(p) >> 4) * 0x9E3779B97F4A7C15ull) & (slots - 1);     \
        while (keys[h] && keys[h] != (p)) h = (h + 1) & (slots - 1);                   \
    } while (0)
    size_t depth = 0, h;
    path[depth++] = (pk_frame){v->pk->root, 0, 0};
    PK_SLOT(v->pk->root, h);
    keys[h] = v->pk->root;
    while (depth) {
        pk_frame *f = &path[depth - 1];
        gb_pk_node *c = child(f->node, f->next++);
        if (!c) {
            PK_SLOT(f->node, h);
            height[h] = f->height + 1;
            depth--;
            if (depth && path[depth - 1].height < height[h]) path[depth - 1].height = height[h];
            continue;
        }
        PK_SLOT(c, h);
        if (keys[h] && height[h] == 0) {
            v->op_off = c->offset - v->base;
            v->op = v->d[v->op_off];
            st = vm_fail(v, "recursive structure: this object contains itself");
            goto out;
        }
        if ((keys[h] && depth + height[h] > cap) || (!keys[h] && depth == cap)) {
            st = vm_fail(v, "objects nested deeper than %zu levels", v->max_depth);
            goto out;
        }
        if (keys[h]) {
            if (f->height < height[h]) f->height = height[h];
            continue;
        }
        keys[h] = c;
        path[depth++] = (pk_frame){c, 0, 0};
    }
#undef PK_SLOT
out:
    free(path);
    free(keys);
    free(height);
    return st;
}

gb_status gb_pickle_parse(gb_pickle **out, const uint8_t *data, size_t n, const gb_pickle_opts *opts,
                          size_t *consumed) {
    *out = NULL;
    if (consumed) *consumed = 0;
    gb_pickle_opts o = {0};
    if (opts) o = *opts;
    gb_pickle *pk = calloc(1, sizeof *pk);
    if (!pk) return gb_fail(GB_ENV, "out of memory starting a pickle parse");
    snprintf(pk->origin, sizeof pk->origin, "%s", o.origin ? o.origin : "<memory>");
    pk->max_nodes = o.max_nodes ? o.max_nodes : (size_t)1 << 24;
    pk->max_alloc = o.max_alloc ? o.max_alloc : (size_t)2 << 30;
    pk_vm v = {.pk = pk, .d = data, .n = n, .base = o.base_offset, .allow = o.allow_globals};
    v.max_depth = o.max_depth ? o.max_depth : 256;
    int done = 0;
    gb_status st = GB_OK;
    while (!done && st == GB_OK) {
        if (v.pos >= v.n) {
            v.op_off = v.pos;
            v.op = 0;
            st = gb_fail(GB_INPUT,
                         "%s: pickle byte %zu: truncated: the data ends before the STOP opcode; the file is "
                         "incomplete: re-create or re-download it",
                         pk->origin, v.base + v.pos);
            break;
        }
        st = step(&v, &done);
    }
    if (st == GB_OK) st = check_tree(&v);
    free(v.stack);
    free(v.marks);
    free(v.mkeys);
    free(v.mvals);
    if (st != GB_OK) {
        gb_pickle_free(pk);
        return st;
    }
    if (consumed) *consumed = v.pos;
    *out = pk;
    return GB_OK;
}

/* ---- accessors -------------------------------------------------------------------- */

const gb_pk_node *gb_pickle_root(const gb_pickle *pk) { return pk->root; }
const char *gb_pickle_origin(const gb_pickle *pk) { return pk->origin; }

const char *gb_pk_kind_name(gb_pk_kind k) {
    static const char *names[] = {"none", "bool", "int", "float", "str", "bytes", "tuple",
                                  "list", "dict", "global", "reduce", "newobj", "persistent id"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

int gb_pk_is_text(const gb_pk_node *n, const char *s) {
    if (!n || (n->kind != GB_PK_STR && n->kind != GB_PK_BYTES)) return 0;
    size_t l = strlen(s);
    return n->len == l && memcmp(n->bytes, s, l) == 0;
}

int gb_pk_is_global(const gb_pk_node *n, const char *module, const char *name) {
    return n && n->kind == GB_PK_GLOBAL && strcmp(n->module, module) == 0 && strcmp(n->name, name) == 0;
}

int gb_pk_as_int64(const gb_pk_node *n, int64_t *out) {
    if (!n || (n->kind != GB_PK_INT && n->kind != GB_PK_BOOL) || n->big) return 0;
    *out = n->ival;
    return 1;
}

const gb_pk_node *gb_pk_dict_get(const gb_pk_node *dict, const char *key) {
    if (!dict || dict->kind != GB_PK_DICT) return NULL;
    const gb_pk_node *found = NULL; /* the last assignment wins, as in Python */
    for (size_t i = 0; i < dict->count; i++)
        if (gb_pk_is_text(dict->items[2 * i], key)) found = dict->items[2 * i + 1];
    return found;
}
