/* metrics/image_folder.c - the files of an image folder, listed as each protocol's peer lists
 * them (read image_folder.h first). */
#include "metrics/image_folder.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct {
    int recursive;
    int skip_hidden;
    int any_case;                  /* extensions compared case-insensitively */
    int splitext;                  /* extensions as Python's os.path.splitext finds them, not as a glob */
    const char *const *read;       /* extensions decoded */
    const char *const *refused;    /* extensions the peer reads and genbench cannot decode */
} listing_rule;

static const char *const CLEAN_READ[] = {"png", "jpg", "jpeg", "PNG", "JPG", "JPEG", NULL};
static const char *const CLEAN_REFUSED[] = {"bmp", "pgm", "ppm", "tif", "tiff", "webp", "npy", NULL};
static const char *const PT_READ[] = {"png", "jpg", "jpeg", NULL};
static const char *const PT_REFUSED[] = {"bmp", "pgm", "ppm", "tif", "tiff", "webp", NULL};
static const char *const NONE[] = {NULL};

static listing_rule rule_of(gb_fid_protocol p) {
    switch (p) {
    case GB_FID_CLEAN: return (listing_rule){1, 1, 0, 0, CLEAN_READ, CLEAN_REFUSED};
    case GB_FID_PYTORCH_FID: return (listing_rule){0, 0, 0, 0, PT_READ, PT_REFUSED};
    default: return (listing_rule){0, 0, 1, 1, PT_READ, NONE};
    }
}

/* What follows the name's last dot. A glob's "*.png" (clean-fid, pytorch-fid) matches any name
 * ending in ".png", ".png" itself included; os.path.splitext (torch-fidelity) gives no extension
 * when only dots precede the last one (".png", "..png"). */
static const char *extension(const char *name, int splitext) {
    const char *dot = strrchr(name, '.');
    if (!dot) return "";
    if (splitext) {
        const char *c = name;
        while (c < dot && *c == '.') c++;
        if (c == dot) return "";
    }
    return dot + 1;
}

static int ext_in(const char *ext, const char *const *list, int any_case) {
    for (; *list; list++)
        if (any_case ? strcasecmp(ext, *list) == 0 : strcmp(ext, *list) == 0) return 1;
    return 0;
}

gb_image_file_class gb_image_archive_member_class(const char *member) {
    const char *slash = strrchr(member, '/'), *base = slash ? slash + 1 : member;
    const char *ext = extension(base, 1);
    if (ext_in(ext, PT_READ, 1)) return GB_IMAGE_FILE_READ;
    return ext_in(ext, CLEAN_REFUSED, 1) ? GB_IMAGE_FILE_REFUSED : GB_IMAGE_FILE_SKIPPED;
}

static int by_path(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void gb_image_list_free(char **paths, size_t n) {
    for (size_t i = 0; paths && i < n; i++) free(paths[i]);
    free(paths);
}

typedef struct {
    char **items;
    size_t count, cap;
    const char *root;
} path_list;

static gb_status push(path_list *l, char *path) {
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **grown = realloc(l->items, cap * sizeof *grown);
        if (!grown) {
            free(path);
            return gb_fail(GB_ENV, "%s: out of memory listing the folder", l->root);
        }
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->count++] = path;
    return GB_OK;
}

static gb_status walk(path_list *l, const char *dir, const listing_rule *r, int depth) {
    if (depth > GB_IMAGE_FOLDER_DEPTH)
        return gb_fail(GB_INPUT, "%s: subfolders nest deeper than %d (a symbolic link loop?)", dir,
                       GB_IMAGE_FOLDER_DEPTH);
    DIR *d = opendir(dir);
    if (!d) return gb_fail(GB_INPUT, "%s: cannot open the image folder", dir);
    gb_status s = GB_OK;
    struct dirent *e;
    while (s == GB_OK && (e = readdir(d))) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || (r->skip_hidden && name[0] == '.')) continue;
        char *path = malloc(strlen(dir) + strlen(name) + 2);
        if (!path) {
            s = gb_fail(GB_ENV, "%s: out of memory listing the folder", l->root);
            break;
        }
        sprintf(path, "%s/%s", dir, name);
        struct stat st;
        if (stat(path, &st) != 0) { /* a dangling link: no file for any peer either */
            free(path);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (r->recursive) s = walk(l, path, r, depth + 1);
            free(path);
            continue;
        }
        const char *ext = extension(name, r->splitext);
        if (S_ISREG(st.st_mode) && ext_in(ext, r->refused, r->any_case)) {
            s = gb_fail(GB_INPUT, "%s: .%s images are not read by genbench (the protocol's peer would count it); "
                                  "convert the folder to PNG",
                        path, ext);
            free(path);
            break;
        }
        if (!S_ISREG(st.st_mode) || !ext_in(ext, r->read, r->any_case)) {
            free(path);
            continue;
        }
        s = push(l, path);
    }
    closedir(d);
    return s;
}

gb_status gb_image_folder_list(char ***paths, size_t *n, const char *dir, gb_fid_protocol p) {
    *paths = NULL;
    *n = 0;
    listing_rule r = rule_of(p);
    path_list l = {.root = dir};
    gb_status s = walk(&l, dir, &r, 0);
    if (s == GB_OK && l.count == 0)
        s = gb_fail(GB_INPUT, "%s: no images (%s) in the folder under protocol %s", dir,
                    r.recursive ? "*.png, *.jpg, *.jpeg, upper or lower case, in it or its subfolders"
                    : r.any_case ? "*.png, *.jpg, *.jpeg, any case"
                                 : "*.png, *.jpg, *.jpeg, lower case",
                    gb_fid_protocol_name(p));
    if (s != GB_OK) {
        gb_image_list_free(l.items, l.count);
        return s;
    }
    qsort(l.items, l.count, sizeof *l.items, by_path);
    *paths = l.items;
    *n = l.count;
    return GB_OK;
}
