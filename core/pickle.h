/* core/pickle.h - a minimal, safe Python pickle reader: bytes -> a small tree of nodes.
 *
 * Why: the GAZSL/CIZSL labels_*.pkl files are Python-2 pickles of numpy arrays, and PyTorch
 * checkpoints (the FID Inception weights) are pickles with persistent ids
 * (specs/formats.md 4b and 5.3). Nothing here executes anything: GLOBAL only records
 * (module, name), REDUCE / NEWOBJ / BUILD only record their operands, persistent ids become
 * GB_PK_PERSID nodes for the caller to resolve. Consumers interpret the tree themselves
 * (core/pickle_numpy.h for numpy arrays).
 *
 * Opcodes (Python's pickletools names):
 *   protocol 0/1: MARK STOP POP POP_MARK DUP NONE INT LONG FLOAT STRING UNICODE
 *                 EMPTY_TUPLE TUPLE EMPTY_LIST LIST APPEND APPENDS EMPTY_DICT DICT SETITEM
 *                 SETITEMS GLOBAL REDUCE BUILD PERSID BINPERSID PUT BINPUT LONG_BINPUT GET
 *                 BINGET LONG_BINGET BININT BININT1 BININT2 BINFLOAT BINSTRING SHORT_BINSTRING
 *                 BINUNICODE
 *   protocol 2:   PROTO NEWOBJ TUPLE1 TUPLE2 TUPLE3 NEWTRUE NEWFALSE LONG1 LONG4
 *   protocol 3/4: BINBYTES SHORT_BINBYTES SHORT_BINUNICODE BINUNICODE8 BINBYTES8 STACK_GLOBAL
 *                 MEMOIZE FRAME (so Python 3's default protocol reads too)
 * Everything else (INST, OBJ, EXT*, sets, NEWOBJ_EX, protocol-5 buffers) is GB_INPUT.
 * One call is interpreted: REDUCE(collections.OrderedDict, ()) is a GB_PK_DICT (callable =
 * that GLOBAL), because an OrderedDict pickles as that call followed by SETITEMS (every torch
 * state_dict, specs/formats.md 5.3c).
 * Python 2 `str` (STRING, BINSTRING, SHORT_BINSTRING) is read as bytes, as Python 3 does with
 * encoding='bytes'; `unicode` and Python 3 `str` are GB_PK_STR holding UTF-8.
 *
 * Safety: every read is bounds-checked; limits on nodes, tree depth and allocated bytes;
 * the finished tree is checked for cycles (a list appended to itself) and depth, so
 * consumers may recurse. Every malformed input is GB_INPUT naming the origin, the byte
 * offset and the opcode; nothing aborts or reads out of bounds.
 *
 * Tested by tests/test_pickle.c against pickles written by CPython and numpy
 * (tests/peers/zsl_data.py), every truncation and many corruptions of them.
 */
#ifndef GB_PICKLE_H
#define GB_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef enum {
    GB_PK_NONE,
    GB_PK_BOOL,    /* ival 0 or 1 */
    GB_PK_INT,     /* ival, or when big != 0: bytes/len = little-endian two's complement */
    GB_PK_FLOAT,   /* fval */
    GB_PK_STR,     /* bytes/len: UTF-8, NUL-terminated (len excludes the NUL) */
    GB_PK_BYTES,   /* bytes/len, NUL-terminated as well */
    GB_PK_TUPLE,   /* items[count] */
    GB_PK_LIST,    /* items[count] */
    GB_PK_DICT,    /* items[2 * count]: key, value, ... in insertion order; callable set for an OrderedDict */
    GB_PK_GLOBAL,  /* module, name */
    GB_PK_REDUCE,  /* callable(args): callable, args */
    GB_PK_NEWOBJ,  /* cls.__new__(cls, *args): callable = cls, args */
    GB_PK_PERSID,  /* persistent_load(pid): pid (for PERSID a GB_PK_STR of the text line) */
} gb_pk_kind;

typedef struct gb_pk_node gb_pk_node;
struct gb_pk_node {
    gb_pk_kind kind;
    size_t offset;              /* byte offset of the opcode that made it (for messages) */
    int64_t ival;
    int big;                    /* GB_PK_INT that does not fit int64 */
    double fval;
    const uint8_t *bytes;
    size_t len;
    const char *module, *name;  /* GB_PK_GLOBAL */
    gb_pk_node **items;
    size_t count;
    size_t capacity;            /* of items, for APPEND / SETITEM growth */
    gb_pk_node *callable, *args;
    gb_pk_node *pid;
    gb_pk_node *state;          /* set by BUILD (obj.__setstate__(state)); NULL when none */
};

typedef struct {
    const char *origin;                /* file name for messages; "<memory>" when NULL */
    size_t base_offset;                /* added to every reported offset (a pickle inside a file) */
    /* NULL-terminated fnmatch(3) patterns over "module.name" that GLOBAL / STACK_GLOBAL may
     * name, e.g. "numpy.dtype", "torch.*Storage"; others are GB_INPUT. NULL = record any
     * (nothing is executed either way). */
    const char *const *allow_globals;
    size_t max_nodes;                  /* 0 -> 1 << 24 */
    size_t max_depth;                  /* 0 -> 256 (nesting of the finished tree) */
    size_t max_alloc;                  /* 0 -> 2 GiB: bytes the tree may occupy */
} gb_pickle_opts;

typedef struct gb_pickle gb_pickle;

/* Parse one pickle from data[0, n) up to and including its STOP. *consumed (may be NULL)
 * receives the bytes used, so a stream of pickles (legacy torch.save) is read by calling
 * again at data + consumed with base_offset advanced. opts may be NULL (defaults).
 * On failure *out is NULL. */
gb_status gb_pickle_parse(gb_pickle **out, const uint8_t *data, size_t n, const gb_pickle_opts *opts,
                          size_t *consumed);
void gb_pickle_free(gb_pickle *pk);

/* The object the pickle produced (the value on the stack at STOP). */
const gb_pk_node *gb_pickle_root(const gb_pickle *pk);
/* The origin given in the options ("<memory>" when none), for consumers' messages. */
const char *gb_pickle_origin(const gb_pickle *pk);

/* Kind name for messages: "none", "int", "list", ... */
const char *gb_pk_kind_name(gb_pk_kind k);
/* STR or BYTES whose content equals the C string s. */
int gb_pk_is_text(const gb_pk_node *n, const char *s);
/* GB_PK_GLOBAL with this module and name. */
int gb_pk_is_global(const gb_pk_node *n, const char *module, const char *name);
/* BOOL or INT (not big) -> *out; 0 when n is neither. */
int gb_pk_as_int64(const gb_pk_node *n, int64_t *out);
/* Value of a DICT entry whose key is STR or BYTES equal to key; NULL when absent. */
const gb_pk_node *gb_pk_dict_get(const gb_pk_node *dict, const char *key);

#endif
