/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Counter traces: the JSON-lines writer and reader (docs/trace-format.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intellisched/trace.h"
#include "json-field.h"
#include "util/util.h"

#define KNOWN_COUNTER_BITS                                                                            \
        (ISCHED_CNT_BUSY | ISCHED_CNT_GUEST | ISCHED_CNT_WAIT | ISCHED_CNT_WAKEUPS | ISCHED_CNT_LATENCY | \
         ISCHED_CNT_CSWITCH | ISCHED_CNT_MIGRATIONS | ISCHED_CNT_BALANCE | ISCHED_CNT_WORK | \
         ISCHED_CNT_GUEST_WORK)

/* The uint64 members of struct isched_counters, by their JSON names. */
static const struct {
        const char *key;
        size_t offset;
} u64_fields[] = {
#define U64_FIELD(f) { #f, offsetof(struct isched_counters, f) }
        U64_FIELD(timestamp_ns),     U64_FIELD(busy_ns),    U64_FIELD(idle_ns),
        U64_FIELD(guest_ns),         U64_FIELD(runnable_wait_ns), U64_FIELD(wakeups),
        U64_FIELD(context_switches), U64_FIELD(migrations), U64_FIELD(balance_checks),
        U64_FIELD(balance_moves),    U64_FIELD(work_units),
#undef U64_FIELD
};

static uint64_t *u64_field(struct isched_counters *c, size_t i)
{
        return (uint64_t *)((char *)c + u64_fields[i].offset);
}

/* Adds item to obj under key, or deletes it; false when out of memory. */
static bool add(cJSON *obj, const char *key, cJSON *item)
{
        if (!item)
                return false;
        if (!cJSON_AddItemToObject(obj, key, item)) {
                cJSON_Delete(item);
                return false;
        }
        return true;
}

static bool append(cJSON *array, cJSON *item)
{
        if (!item)
                return false;
        if (!cJSON_AddItemToArray(array, item)) {
                cJSON_Delete(item);
                return false;
        }
        return true;
}

/* ---- counters <-> JSON ------------------------------------------------ */

static cJSON *counters_to_json(const struct isched_counters *counters)
{
        struct isched_counters c = *counters;
        cJSON *o = cJSON_CreateObject(), *hist = cJSON_CreateArray();
        bool ok = o && hist;

        for (unsigned i = 0; ok && i < ISCHED_LATENCY_BUCKETS; i++)
                ok = append(hist, isched__json_create_u64(c.wake_latency_hist[i]));
        ok = ok && add(o, "version", cJSON_CreateNumber(c.version)) && add(o, "valid", cJSON_CreateNumber(c.valid)) &&
             add(o, "nr_pcpus", cJSON_CreateNumber(c.nr_pcpus)) && add(o, "nr_vcpus", cJSON_CreateNumber(c.nr_vcpus)) &&
             add(o, "arrangement", cJSON_CreateString(isched_arrangement_to_string(c.arrangement)));
        if (c.valid & ISCHED_CNT_GUEST_WORK)
                ok = ok && add(o, "work_generation", cJSON_CreateNumber(c.work_generation)) &&
                     add(o, "work_domains", cJSON_CreateNumber(c.work_domains));
        for (size_t i = 0; ok && i < ARRAY_SIZE(u64_fields); i++)
                ok = add(o, u64_fields[i].key, isched__json_create_u64(*u64_field(&c, i)));
        if (ok) {
                ok = add(o, "wake_latency_hist", hist);
                hist = NULL;
        }
        if (!ok) {
                cJSON_Delete(hist);
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static int u32_member(const cJSON *obj, const char *where, const char *key, uint32_t *ret)
{
        uint64_t v;
        int r = isched__json_u64(obj, where, key, &v);

        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return isched__error(-EINVAL, "%s.%s is %llu, more than 2^32 - 1", where, key, (unsigned long long)v);
        *ret = (uint32_t)v;
        return 0;
}

static int arrangement_member(const cJSON *obj, const char *where, const char *key,
                              enum isched_arrangement *ret)
{
        const char *name;
        int r = isched__json_string(obj, where, key, &name);

        if (r < 0)
                return r;
        if (isched_arrangement_from_string(name, ret) < 0)
                return isched__error(-EINVAL, "%s.%s is \"%.32s\": use cpu, core, socket, node or all", where, key,
                                     name);
        return 0;
}

static int counters_from_json(const cJSON *o, const char *where, struct isched_counters *ret)
{
        struct isched_counters c = { 0 };
        const cJSON *hist, *e;
        char path[96];
        unsigned i = 0;
        int r;

        if ((r = u32_member(o, where, "version", &c.version)) < 0)
                return r;
        if (c.version != ISCHED_COUNTERS_VERSION)
                return isched__error(-EINVAL, "%s.version is %u; this library reads counters version %u", where,
                                     c.version, ISCHED_COUNTERS_VERSION);
        if ((r = u32_member(o, where, "valid", &c.valid)) < 0 ||
            (r = u32_member(o, where, "nr_pcpus", &c.nr_pcpus)) < 0 ||
            (r = u32_member(o, where, "nr_vcpus", &c.nr_vcpus)) < 0 ||
            (r = arrangement_member(o, where, "arrangement", &c.arrangement)) < 0)
                return r;
        if (c.valid & ~(uint32_t)KNOWN_COUNTER_BITS)
                return isched__error(-EINVAL, "%s.valid has unknown bits 0x%x", where,
                                     c.valid & ~(uint32_t)KNOWN_COUNTER_BITS);
        /* Only guest-published work has a generation (docs/trace-format.md). */
        if ((c.valid & ISCHED_CNT_GUEST_WORK) &&
            ((r = u32_member(o, where, "work_generation", &c.work_generation)) < 0 ||
             (r = u32_member(o, where, "work_domains", &c.work_domains)) < 0))
                return r;
        for (size_t k = 0; k < ARRAY_SIZE(u64_fields); k++)
                if ((r = isched__json_u64(o, where, u64_fields[k].key, u64_field(&c, k))) < 0)
                        return r;
        if ((r = isched__json_array(o, where, "wake_latency_hist", ISCHED_LATENCY_BUCKETS, &hist)) < 0)
                return r;
        cJSON_ArrayForEach(e, hist) {
                snprintf(path, sizeof(path), "%s.wake_latency_hist[%u]", where, i);
                if ((r = isched__json_u64_item(e, path, &c.wake_latency_hist[i])) < 0)
                        return r;
                i++;
        }
        *ret = c;
        return 0;
}

/* ---- pools <-> JSON ------------------------------------------------------ */

static cJSON *pool_to_json(const struct isched_pool_info *p)
{
        cJSON *o = cJSON_CreateObject(), *rq = cJSON_CreateObject();
        bool ok = o && rq;

        /* One value per arm: an object keyed by the arm's name (docs/json.md). */
        for (unsigned a = 0; ok && a < ISCHED_ARR_COUNT; a++)
                ok = add(rq, isched_arrangement_to_string((enum isched_arrangement)a),
                         cJSON_CreateNumber(p->nr_runqueues[a]));
        ok = ok && add(o, "pool_id", cJSON_CreateNumber(p->id)) && add(o, "pool", cJSON_CreateString(p->name)) &&
             add(o, "nr_pcpus", cJSON_CreateNumber(p->nr_pcpus)) &&
             add(o, "scheduler", cJSON_CreateString(p->scheduler)) &&
             add(o, "arrangement", cJSON_CreateString(isched_arrangement_to_string(p->arrangement))) &&
             add(o, "can_switch", cJSON_CreateBool(p->can_switch));
        if (ok) {
                ok = add(o, "nr_runqueues", rq);
                rq = NULL;
        }
        if (!ok) {
                cJSON_Delete(rq);
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static int name_member(const cJSON *o, const char *where, const char *key, char *buf, size_t size)
{
        const char *s;
        int r = isched__json_string(o, where, key, &s);

        if (r < 0)
                return r;
        if (!*s || strlen(s) >= size)
                return isched__error(-EINVAL, "%s.%s must have 1 to %zu characters", where, key, size - 1);
        memcpy(buf, s, strlen(s) + 1);
        return 0;
}

/* nr_runqueues: {"cpu": n, ...} (v3) or [n, ...] in arm order (v2). */
static int runqueues_from_json(const cJSON *o, const char *where, struct isched_pool_info *p)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, "nr_runqueues"), *e;
        unsigned a = 0;
        int r;

        if (!item)
                return 0;
        if (cJSON_IsArray(item) && (r = isched__json_array(o, where, "nr_runqueues", ISCHED_ARR_COUNT, &item)) < 0)
                return r;
        if (!cJSON_IsArray(item) && !cJSON_IsObject(item))
                return isched__error(-EINVAL, "%s.nr_runqueues must be an object keyed by arrangement", where);
        for (a = 0; a < ISCHED_ARR_COUNT; a++) {
                const char *arm = isched_arrangement_to_string((enum isched_arrangement)a);
                char path[96];
                uint64_t v;

                e = cJSON_IsArray(item) ? cJSON_GetArrayItem(item, (int)a) : cJSON_GetObjectItemCaseSensitive(item, arm);
                snprintf(path, sizeof(path), "%s.nr_runqueues.%s", where, arm);
                if (!e)
                        return isched__error(-EINVAL, "%s is missing", path);
                if ((r = isched__json_u64_item(e, path, &v)) < 0)
                        return r;
                if (v > p->nr_pcpus)
                        return isched__error(-EINVAL, "%s is %llu, more than the pool's %u pCPUs", path,
                                             (unsigned long long)v, p->nr_pcpus);
                p->nr_runqueues[a] = (uint32_t)v;
        }
        if (cJSON_IsObject(item) && cJSON_GetArraySize(item) != ISCHED_ARR_COUNT)
                return isched__error(-EINVAL, "%s.nr_runqueues must have exactly cpu, core, socket, node and all", where);
        return 0;
}

/* legacy: a v2 header names the pool "name" and its id "id". */
static int pool_from_json(const cJSON *o, const char *where, bool legacy, struct isched_pool_info *ret)
{
        struct isched_pool_info p = { .arrangement = ISCHED_ARR_SOCKET };
        const cJSON *item;
        int r;

        if (!cJSON_IsObject(o))
                return isched__error(-EINVAL, "%s must be an object", where);
        if ((r = u32_member(o, where, legacy ? "id" : "pool_id", &p.id)) < 0 ||
            (r = name_member(o, where, legacy ? "name" : "pool", p.name, sizeof(p.name))) < 0 ||
            (r = u32_member(o, where, "nr_pcpus", &p.nr_pcpus)) < 0 ||
            (r = name_member(o, where, "scheduler", p.scheduler, sizeof(p.scheduler))) < 0)
                return r;
        if (p.nr_pcpus == 0)
                return isched__error(-EINVAL, "%s.nr_pcpus must be at least 1", where);
        /* Optional members, written by this library's writer. */
        if (cJSON_GetObjectItemCaseSensitive(o, "arrangement") &&
            (r = arrangement_member(o, where, "arrangement", &p.arrangement)) < 0)
                return r;
        item = cJSON_GetObjectItemCaseSensitive(o, "can_switch");
        if (item) {
                if (!cJSON_IsBool(item))
                        return isched__error(-EINVAL, "%s.can_switch must be true or false", where);
                p.can_switch = cJSON_IsTrue(item);
        }
        if ((r = runqueues_from_json(o, where, &p)) < 0)
                return r;
        *ret = p;
        return 0;
}

/* ---- writer ------------------------------------------------------------- */

struct isched_trace_writer {
        int fd;
        off_t good_size; /* the file's size after its last complete line */
        uint64_t max_bytes; /* 0: no limit */
        size_t n_pools;
        uint32_t *pool_ids;
        char *path;
};

static int write_all(int fd, const char *data, size_t len)
{
        while (len > 0) {
                const ssize_t n = write(fd, data, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Print obj as one line and write it with one write(2) where possible;
 * on failure, cut the file back to its last complete line. */
static int write_line(struct isched_trace_writer *w, const cJSON *obj)
{
        char *text = cJSON_PrintUnformatted(obj);
        size_t len;
        int r;

        if (!text)
                return isched__error(-ENOMEM, "out of memory writing trace %s", w->path);
        len = strlen(text);
        text[len] = '\n'; /* replaces the NUL; the buffer is not used as a string again */
        if (w->max_bytes && (uint64_t)w->good_size + len + 1 > w->max_bytes) {
                free(text);
                return isched__error(-EFBIG, "trace %s reached its size limit of %llu bytes", w->path,
                                     (unsigned long long)w->max_bytes);
        }
        r = write_all(w->fd, text, len + 1);
        free(text);
        if (r < 0) {
                if (ftruncate(w->fd, w->good_size) < 0 || lseek(w->fd, w->good_size, SEEK_SET) < 0)
                        return isched__error(r, "cannot write trace %s: %s; its last line may be torn", w->path,
                                             strerror(-r));
                return isched__error(r, "cannot write trace %s: %s", w->path, strerror(-r));
        }
        w->good_size += (off_t)(len + 1);
        return 0;
}

static int check_pools_arg(const struct isched_pool_info *pools, size_t n)
{
        if (!pools || n == 0 || n > ISCHED_TRACE_MAX_POOLS)
                return isched__error(-EINVAL, "a trace needs 1 to %d pools, not %zu", ISCHED_TRACE_MAX_POOLS,
                                     pools ? n : 0);
        for (size_t i = 0; i < n; i++) {
                const struct isched_pool_info *p = &pools[i];

                if (!p->name[0] || !memchr(p->name, '\0', sizeof(p->name)) || !p->scheduler[0] ||
                    !memchr(p->scheduler, '\0', sizeof(p->scheduler)))
                        return isched__error(-EINVAL, "pool %u: its name and scheduler must be non-empty strings",
                                             p->id);
                if (p->nr_pcpus == 0 || (unsigned)p->arrangement >= ISCHED_ARR_COUNT)
                        return isched__error(-EINVAL, "pool %s: %s", p->name,
                                             p->nr_pcpus == 0 ? "no pCPUs" : "invalid arrangement");
                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++)
                        if (p->nr_runqueues[a] > p->nr_pcpus)
                                return isched__error(-EINVAL, "pool %s: %u runqueues for %s, more than its %u pCPUs",
                                                     p->name, p->nr_runqueues[a],
                                                     isched_arrangement_to_string((enum isched_arrangement)a),
                                                     p->nr_pcpus);
                for (size_t k = 0; k < i; k++)
                        if (pools[k].id == p->id)
                                return isched__error(-EINVAL, "pool id %u is listed twice", p->id);
        }
        return 0;
}

static cJSON *header_to_json(const struct isched_pool_info *pools, size_t n)
{
        cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();
        bool ok = o && list;

        for (size_t i = 0; ok && i < n; i++)
                ok = append(list, pool_to_json(&pools[i]));
        ok = ok && add(o, "schema", cJSON_CreateString(ISCHED_TRACE_SCHEMA));
        if (ok) {
                ok = add(o, "pools", list);
                list = NULL;
        }
        if (!ok) {
                cJSON_Delete(list);
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

ISCHED_EXPORT int isched_trace_writer_new(const char *path, const struct isched_pool_info *pools, size_t n_pools,
                                          struct isched_trace_writer **ret_writer)
{
        struct isched_trace_writer *w;
        cJSON *header;
        int r;

        if (!path || !*path || !ret_writer)
                return isched__error(-EINVAL, "isched_trace_writer_new: path and ret_writer are required");
        r = check_pools_arg(pools, n_pools);
        if (r < 0)
                return r;
        w = calloc(1, sizeof(*w));
        if (!w)
                return isched__error(-ENOMEM, "out of memory opening trace %s", path);
        w->fd = -1;
        w->path = strdup(path);
        w->pool_ids = calloc(n_pools, sizeof(*w->pool_ids));
        header = header_to_json(pools, n_pools);
        if (!w->path || !w->pool_ids || !header) {
                r = isched__error(-ENOMEM, "out of memory opening trace %s", path);
                goto fail;
        }
        w->n_pools = n_pools;
        for (size_t i = 0; i < n_pools; i++)
                w->pool_ids[i] = pools[i].id;
        /* The same rules as every file isched writes: no symbolic link, no
         * directory writable by others (docs/reliability.md). */
        r = isched__check_write_path(path);
        if (r < 0)
                goto fail;
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (w->fd < 0) {
                r = -errno;
                if (r == -ELOOP)
                        r = isched__error(r, "%s is a symbolic link: refusing to write a trace through it", path);
                else
                        r = isched__error(r, "cannot create trace %s: %s", path, strerror(-r));
                goto fail;
        }
        r = write_line(w, header);
        if (r < 0)
                goto fail;
        cJSON_Delete(header);
        *ret_writer = w;
        return 0;
fail:
        cJSON_Delete(header);
        isched_trace_writer_free(w);
        return r;
}

ISCHED_EXPORT int isched_trace_writer_append(struct isched_trace_writer *writer, uint32_t pool_id,
                                             const struct isched_counters *counters)
{
        cJSON *line, *c;
        bool known = false;
        int r;

        if (!writer || !counters)
                return isched__error(-EINVAL, "isched_trace_writer_append: NULL argument");
        if (counters->version != ISCHED_COUNTERS_VERSION || (unsigned)counters->arrangement >= ISCHED_ARR_COUNT ||
            (counters->valid & ~(uint32_t)KNOWN_COUNTER_BITS))
                return isched__error(-EINVAL, "trace %s: snapshot of pool %u has a bad version, arrangement or valid mask",
                                     writer->path, pool_id);
        for (size_t i = 0; i < writer->n_pools; i++)
                known = known || writer->pool_ids[i] == pool_id;
        if (!known)
                return isched__error(-ENOENT, "trace %s: pool %u is not in its header", writer->path, pool_id);
        line = cJSON_CreateObject();
        c = counters_to_json(counters);
        if (!line || !c || !add(line, "pool_id", cJSON_CreateNumber(pool_id))) {
                cJSON_Delete(c);
                cJSON_Delete(line);
                return isched__error(-ENOMEM, "out of memory writing trace %s", writer->path);
        }
        if (!add(line, "counters", c)) {
                cJSON_Delete(line);
                return isched__error(-ENOMEM, "out of memory writing trace %s", writer->path);
        }
        r = write_line(writer, line);
        cJSON_Delete(line);
        return r;
}

ISCHED_EXPORT int isched_trace_writer_set_max_bytes(struct isched_trace_writer *writer, uint64_t max_bytes)
{
        if (!writer)
                return isched__error(-EINVAL, "isched_trace_writer_set_max_bytes: NULL writer");
        writer->max_bytes = max_bytes;
        return 0;
}

ISCHED_EXPORT struct isched_trace_writer *isched_trace_writer_free(struct isched_trace_writer *writer)
{
        if (!writer)
                return NULL;
        if (writer->fd >= 0) {
                (void)fsync(writer->fd);
                close(writer->fd);
        }
        free(writer->pool_ids);
        free(writer->path);
        free(writer);
        return NULL;
}

/* ---- reader --------------------------------------------------------------- */

struct isched_trace_reader {
        FILE *f;
        char *path;
        char *buf;
        size_t buf_size;
        unsigned long line;        /* lines read so far */
        unsigned long record_line; /* line of the last record returned */
        long first_record_offset;
        struct isched_pool_info *pools;
        size_t n_pools;
        bool legacy;               /* a version 2 trace: "format"/"version", records' "pool" */
};

enum line_kind { LINE_EOF, LINE_FULL, LINE_TORN };

/* Read one line into r->buf without its newline.  A line over the limit
 * is consumed and refused: its length must not decide how much we allocate. */
static int read_line(struct isched_trace_reader *r, enum line_kind *ret)
{
        size_t len = 0;
        bool too_long = false;
        int ch;

        for (;;) {
                ch = getc_unlocked(r->f);
                if (ch == EOF || ch == '\n')
                        break;
                if (len >= ISCHED_TRACE_MAX_LINE) {
                        too_long = true;
                        continue;
                }
                if (len + 1 >= r->buf_size) {
                        const size_t size = r->buf_size ? 2 * r->buf_size : 4096;
                        char *b = realloc(r->buf, size);

                        if (!b)
                                return isched__error(-ENOMEM, "out of memory reading trace %s", r->path);
                        r->buf = b;
                        r->buf_size = size;
                }
                r->buf[len++] = (char)ch;
        }
        if (ch == EOF && ferror(r->f))
                return isched__error(-EIO, "cannot read trace %s at line %lu", r->path, r->line + 1);
        if (ch == EOF && len == 0 && !too_long) {
                *ret = LINE_EOF;
                return 0;
        }
        r->line++;
        if (too_long)
                return isched__error(-EINVAL, "trace %s line %lu: longer than %d bytes", r->path, r->line,
                                     ISCHED_TRACE_MAX_LINE);
        if (!r->buf) {
                r->buf = malloc(1);
                if (!r->buf)
                        return isched__error(-ENOMEM, "out of memory reading trace %s", r->path);
                r->buf_size = 1;
        }
        r->buf[len] = '\0';
        if (strlen(r->buf) != len)
                return isched__error(-EINVAL, "trace %s line %lu: contains a NUL byte", r->path, r->line);
        *ret = ch == '\n' ? LINE_FULL : LINE_TORN;
        return 0;
}

/* Parse r->buf as one JSON value, nothing after it; NULL if it does not parse. */
static cJSON *parse_line(const struct isched_trace_reader *r)
{
        return cJSON_ParseWithOpts(r->buf, NULL, true);
}

/* Prefix the detail of a failed field check with the trace's name.  The
 * detail is copied first: isched__error() writes the buffer it would read. */
static int trace_error(const struct isched_trace_reader *r, int err)
{
        char detail[512];

        snprintf(detail, sizeof(detail), "%s", isched_last_error());
        return isched__error(err, "trace %s line %lu: %s", r->path, r->line, detail);
}

static bool blank(const char *s)
{
        for (; *s; s++)
                if (*s != ' ' && *s != '\t' && *s != '\r')
                        return false;
        return true;
}

static int parse_header(struct isched_trace_reader *r, const cJSON *h)
{
        char where[64];
        const cJSON *list, *e, *schema;
        const char *format;
        uint64_t version;
        size_t i = 0;
        int ret;

        snprintf(where, sizeof(where), "header");
        if (!cJSON_IsObject(h))
                return isched__error(-EINVAL, "trace %s line 1: the header must be a JSON object", r->path);
        schema = cJSON_GetObjectItemCaseSensitive(h, "schema");
        if (schema) {
                if (!cJSON_IsString(schema) || strcmp(schema->valuestring, ISCHED_TRACE_SCHEMA) != 0)
                        return isched__error(cJSON_IsString(schema) && strncmp(schema->valuestring, "isched-trace-v", 14) == 0
                                                     ? -EPROTO
                                                     : -EINVAL,
                                             "trace %s line 1: header.schema is %s%.32s%s, not \"%s\" (or a version 2 "
                                             "trace): not a counter trace this library reads",
                                             r->path, cJSON_IsString(schema) ? "\"" : "",
                                             cJSON_IsString(schema) ? schema->valuestring : "not a string",
                                             cJSON_IsString(schema) ? "\"" : "", ISCHED_TRACE_SCHEMA);
        } else {
                /* Version 2: the same records, with the older names. */
                if ((ret = isched__json_string(h, where, "format", &format)) < 0)
                        return trace_error(r, ret);
                if (strcmp(format, ISCHED_TRACE_FORMAT_V2) != 0)
                        return isched__error(-EINVAL,
                                             "trace %s line 1: header.format is \"%.32s\", not \"%s\": not a counter trace",
                                             r->path, format, ISCHED_TRACE_FORMAT_V2);
                if ((ret = isched__json_u64(h, where, "version", &version)) < 0)
                        return trace_error(r, ret);
                if (version == 1)
                        return isched__error(-EPROTO,
                                             "trace %s line 1: header.version is 1, a trace with the old log2 latency "
                                             "histogram (32 buckets); this library reads %s and version 2 (%d "
                                             "sub-octave buckets): record it again with `isched run --record`",
                                             r->path, ISCHED_TRACE_SCHEMA, ISCHED_LATENCY_BUCKETS);
                if (version != 2)
                        return isched__error(-EPROTO,
                                             "trace %s line 1: header.version is %llu; this library reads %s and version 2",
                                             r->path, (unsigned long long)version, ISCHED_TRACE_SCHEMA);
                r->legacy = true;
        }
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(h, "pools")))
                return isched__error(-EINVAL, "trace %s line 1: header.pools must be an array", r->path);
        list = cJSON_GetObjectItemCaseSensitive(h, "pools");
        r->n_pools = (size_t)cJSON_GetArraySize(list);
        if (r->n_pools == 0 || r->n_pools > ISCHED_TRACE_MAX_POOLS)
                return isched__error(-EINVAL, "trace %s line 1: header.pools must list 1 to %d pools, not %zu", r->path,
                                     ISCHED_TRACE_MAX_POOLS, r->n_pools);
        r->pools = calloc(r->n_pools, sizeof(*r->pools));
        if (!r->pools)
                return isched__error(-ENOMEM, "out of memory reading trace %s", r->path);
        cJSON_ArrayForEach(e, list) {
                snprintf(where, sizeof(where), "header.pools[%zu]", i);
                if ((ret = pool_from_json(e, where, r->legacy, &r->pools[i])) < 0)
                        return trace_error(r, ret);
                for (size_t k = 0; k < i; k++)
                        if (r->pools[k].id == r->pools[i].id)
                                return isched__error(-EINVAL, "trace %s line 1: pool id %u is listed twice", r->path,
                                                     r->pools[i].id);
                i++;
        }
        return 0;
}

static bool has_pool(const struct isched_trace_reader *r, uint32_t id)
{
        for (size_t i = 0; i < r->n_pools; i++)
                if (r->pools[i].id == id)
                        return true;
        return false;
}

static int parse_record(struct isched_trace_reader *r, const cJSON *j, uint32_t *ret_pool,
                        struct isched_counters *ret_counters)
{
        char where[64];
        const cJSON *counters;
        uint32_t pool = 0;
        int ret;

        snprintf(where, sizeof(where), "record");
        if (!cJSON_IsObject(j))
                return isched__error(-EINVAL, "trace %s line %lu: a record must be a JSON object", r->path, r->line);
        if ((ret = u32_member(j, where, r->legacy ? "pool" : "pool_id", &pool)) < 0 ||
            (ret = isched__json_object(j, where, "counters", &counters)) < 0)
                return trace_error(r, ret);
        if (!has_pool(r, pool))
                return isched__error(-EINVAL, "trace %s line %lu: record.%s %u is not in the header", r->path,
                                     r->line, r->legacy ? "pool" : "pool_id", pool);
        snprintf(where, sizeof(where), "record.counters");
        if ((ret = counters_from_json(counters, where, ret_counters)) < 0)
                return trace_error(r, ret);
        *ret_pool = pool;
        return 0;
}

/* The next record, skipping blank lines; a torn last line is the end. */
static int next_record(struct isched_trace_reader *r, uint32_t *ret_pool, struct isched_counters *ret_counters)
{
        enum line_kind kind;
        cJSON *j;
        int ret;

        for (;;) {
                ret = read_line(r, &kind);
                if (ret < 0)
                        return ret;
                if (kind == LINE_EOF)
                        return -ENODATA;
                if (blank(r->buf))
                        continue;
                j = parse_line(r);
                if (!j) {
                        if (kind == LINE_TORN)
                                return -ENODATA; /* a write cut short by a crash */
                        return isched__error(-EINVAL, "trace %s line %lu: not valid JSON", r->path, r->line);
                }
                ret = parse_record(r, j, ret_pool, ret_counters);
                cJSON_Delete(j);
                if (ret == 0)
                        r->record_line = r->line;
                return ret;
        }
}

static int read_header(struct isched_trace_reader *r)
{
        enum line_kind kind;
        cJSON *h;
        int ret;

        ret = read_line(r, &kind);
        if (ret < 0)
                return ret;
        if (kind == LINE_EOF)
                return isched__error(-EINVAL, "trace %s is empty: a trace starts with a header line", r->path);
        h = parse_line(r);
        if (!h)
                return isched__error(-EINVAL, "trace %s line 1: %s", r->path,
                                     kind == LINE_TORN ? "the header was cut short (no complete first line)" :
                                                         "the header is not valid JSON");
        ret = parse_header(r, h);
        cJSON_Delete(h);
        return ret;
}

static int rewind_to_records(struct isched_trace_reader *r)
{
        if (fseek(r->f, r->first_record_offset, SEEK_SET) < 0)
                return isched__error(-errno, "cannot seek in trace %s: %s", r->path, strerror(errno));
        r->line = 1;
        r->record_line = 1;
        return 0;
}

ISCHED_EXPORT int isched_trace_reader_open(const char *path, struct isched_trace_reader **ret_reader)
{
        struct isched_trace_reader *r;
        struct isched_counters c;
        uint32_t pool;
        int fd, ret;

        if (!path || !ret_reader)
                return isched__error(-EINVAL, "isched_trace_reader_open: path and ret_reader are required");
        r = calloc(1, sizeof(*r));
        if (!r || !(r->path = strdup(path))) {
                free(r);
                return isched__error(-ENOMEM, "out of memory opening trace %s", path);
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                ret = isched__error(-errno, "cannot open trace %s: %s", path, strerror(errno));
                goto fail;
        }
        r->f = fdopen(fd, "r");
        if (!r->f) {
                ret = isched__error(-errno, "cannot open trace %s: %s", path, strerror(errno));
                close(fd);
                goto fail;
        }
        ret = read_header(r);
        if (ret < 0)
                goto fail;
        r->first_record_offset = ftell(r->f);
        if (r->first_record_offset < 0) {
                ret = isched__error(-ESPIPE, "trace %s is not a regular file: cannot read it twice", path);
                goto fail;
        }
        /* Check every record now, so that a replay never fails half-way. */
        while ((ret = next_record(r, &pool, &c)) == 0)
                ;
        if (ret != -ENODATA)
                goto fail;
        ret = rewind_to_records(r);
        if (ret < 0)
                goto fail;
        *ret_reader = r;
        return 0;
fail:
        isched_trace_reader_free(r);
        return ret;
}

ISCHED_EXPORT int isched_trace_reader_get_pools(const struct isched_trace_reader *reader,
                                                const struct isched_pool_info **ret_pools, size_t *ret_n)
{
        if (!reader || !ret_pools || !ret_n)
                return isched__error(-EINVAL, "isched_trace_reader_get_pools: NULL argument");
        *ret_pools = reader->pools;
        *ret_n = reader->n_pools;
        return 0;
}

ISCHED_EXPORT int isched_trace_reader_next(struct isched_trace_reader *reader, uint32_t *ret_pool_id,
                                           struct isched_counters *ret_counters)
{
        struct isched_counters c;
        uint32_t pool;
        int r;

        if (!reader || !ret_pool_id || !ret_counters)
                return isched__error(-EINVAL, "isched_trace_reader_next: NULL argument");
        r = next_record(reader, &pool, &c);
        if (r == -ENODATA)
                return isched__error(-ENODATA, "trace %s has ended after line %lu", reader->path, reader->line);
        if (r < 0)
                return r;
        *ret_pool_id = pool;
        *ret_counters = c;
        return 0;
}

ISCHED_EXPORT unsigned long isched_trace_reader_get_line(const struct isched_trace_reader *reader)
{
        return reader ? reader->record_line : 1;
}

ISCHED_EXPORT struct isched_trace_reader *isched_trace_reader_free(struct isched_trace_reader *reader)
{
        if (!reader)
                return NULL;
        if (reader->f)
                fclose(reader->f);
        free(reader->pools);
        free(reader->buf);
        free(reader->path);
        free(reader);
        return NULL;
}
