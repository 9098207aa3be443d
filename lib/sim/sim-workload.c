/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JSON workload format (docs/simulator.md) and its parser.  Every
 * error names the field, with its path, e.g. "domains[2].behaviour.burst_us". */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim-private.h"
#include "util/util.h"

#define MAX_DOMAINS 4096
#define MAX_VCPUS_TOTAL 65536
#define MAX_PHASES 1024

static const char *const kind_names[SIM_KIND_NR] = {
        [SIM_KIND_IDLE] = "idle", [SIM_KIND_CPU] = "cpu", [SIM_KIND_IO] = "io",
        [SIM_KIND_CHAIN] = "chain", [SIM_KIND_CACHE] = "cache", [SIM_KIND_ONOFF] = "onoff",
        [SIM_KIND_FORKJOIN] = "forkjoin",
};

/* The fields each kind takes ("kind" besides): a field another kind uses
 * is refused, not ignored. */
static const char *const kind_fields[SIM_KIND_NR][9] = {
        [SIM_KIND_IDLE] = { NULL },
        [SIM_KIND_CPU] = { "burst_us", "sleep_us", "wss_kb", "mem_access_per_us", NULL },
        [SIM_KIND_IO] = { "burst_us", "sleep_us", "wss_kb", "mem_access_per_us", NULL },
        [SIM_KIND_CHAIN] = { "burst_us", "tokens", "next", "wss_kb", "mem_access_per_us", NULL },
        [SIM_KIND_CACHE] = { "burst_us", "sleep_us", "wss_kb", "mem_access_per_us", NULL },
        [SIM_KIND_ONOFF] = { "on_ms", "off_ms", "burst_us", "sleep_us", "wss_kb", "mem_access_per_us", NULL },
        [SIM_KIND_FORKJOIN] = { "burst_us", "jobs", "parallel", "serial_us", "sleep_us", "wss_kb", "mem_access_per_us", NULL },
};

#define KINDS "cpu, io, chain, cache, onoff, forkjoin or idle"

/* Checks that every member of @p obj is one of @p allowed (NULL-terminated). */
static int check_keys(const cJSON *obj, const char *where, const char *const *allowed)
{
        const cJSON *it;

        cJSON_ArrayForEach(it, obj) {
                bool ok = false;

                for (const char *const *a = allowed; *a; a++)
                        if (it->string && strcmp(it->string, *a) == 0)
                                ok = true;
                if (!ok)
                        return isched__error(-EINVAL, "%s: unknown field '%s'", where,
                                             it->string ? it->string : "?");
        }
        return 0;
}

static int cmp_member_key(const void *a, const void *b)
{
        const cJSON *const *x = a, *const *y = b;

        return strcmp((*x)->string ? (*x)->string : "", (*y)->string ? (*y)->string : "");
}

/* Refuses a key given twice in any object under @p node.  cJSON keeps
 * both members and every lookup finds the first, so the second would be
 * ignored without a word.  @p path (of @p size bytes) names @p node, empty
 * for the document (@p root names it then), and is extended in place for
 * its members. */
static int check_unique_keys(const cJSON *node, const char *root, char *path, size_t size)
{
        const size_t len = strlen(path);
        const cJSON *it;
        int i = 0, r;

        if (cJSON_IsObject(node) && node->child && node->child->next) {
                const int n = cJSON_GetArraySize(node);
                const cJSON **members = malloc((size_t)n * sizeof(*members));

                if (!members)
                        return -ENOMEM;
                cJSON_ArrayForEach(it, node)
                        members[i++] = it;
                qsort(members, (size_t)n, sizeof(*members), cmp_member_key);
                for (i = 1; i < n; i++)
                        if (cmp_member_key(&members[i - 1], &members[i]) == 0) {
                                r = isched__error(-EINVAL, "%s: '%.60s' is given twice; give each field once",
                                                  path[0] ? path : root,
                                                  members[i]->string ? members[i]->string : "");
                                free(members);
                                return r;
                        }
                free(members);
        }
        i = 0;
        cJSON_ArrayForEach(it, node) {
                if (cJSON_IsObject(node))
                        snprintf(path + len, size - len, "%s%.60s", len ? "." : "", it->string ? it->string : "?");
                else
                        snprintf(path + len, size - len, "[%d]", i);
                i++;
                r = check_unique_keys(it, root, path, size);
                if (r < 0)
                        return r;
                path[len] = '\0';
        }
        return 0;
}

int sim_json_parse(const char *json, const char *origin, const char *root, cJSON **ret)
{
        const char *end = NULL;
        char path[256];
        const size_t len = strlen(json), nul = isched__json_nul_escape(json, len);
        cJSON *doc;
        int r;

        if (nul < len) {
                unsigned line, column;

                isched__text_position(json, len, nul, &line, &column);
                return isched__error(-EINVAL,
                                     "%s: a \\u0000 escape (NUL) in a string at line %u, column %u: names and "
                                     "values cannot contain NUL; remove it",
                                     origin, line, column);
        }
        doc = cJSON_ParseWithOpts(json, &end, false);
        if (!doc) {
                const char *at = cJSON_GetErrorPtr();
                size_t off = at && at >= json ? (size_t)(at - json) : 0;
                unsigned line, column;

                isched__text_position(json, len, off, &line, &column);
                return isched__error(-EINVAL,
                                     "%s: not valid JSON at line %u, column %u (byte %zu): fix the file "
                                     "(docs/simulator.md describes the format)",
                                     origin, line, column, off);
        }
        while (end && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
                end++;
        if (end && *end) {
                cJSON_Delete(doc);
                return isched__error(-EINVAL, "%s: not valid JSON: text after the end of the JSON value at byte %zu",
                                     origin, (size_t)(end - json));
        }
        path[0] = '\0';
        r = check_unique_keys(doc, root, path, sizeof(path));
        if (r < 0) {
                cJSON_Delete(doc);
                return r == -ENOMEM ? isched__error(r, "%s: out of memory checking the JSON", origin) : r;
        }
        *ret = doc;
        return 0;
}

/* A number field in [min, max], integral if @p integer; *ret untouched if absent. */
static int get_number(const cJSON *obj, const char *where, const char *key, double min, double max,
                      bool integer, double *ret)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
        double v;

        if (!it)
                return 0;
        if (!cJSON_IsNumber(it))
                return isched__error(-EINVAL, "%s.%s: must be a number", where, key);
        v = it->valuedouble;
        if (!isfinite(v) || v < min || v > max || (integer && v != floor(v)))
                return isched__error(-EINVAL, "%s.%s: %g is out of range; give a%s number from %g to %g",
                                     where, key, v, integer ? " whole" : "", min, max);
        *ret = v;
        return 0;
}

static int get_name(const cJSON *obj, const char *where, const char *key, bool required, char *buf,
                    size_t size)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

        if (!it) {
                if (required)
                        return isched__error(-EINVAL, "%s.%s: missing", where, key);
                return 0;
        }
        if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= size)
                return isched__error(-EINVAL, "%s.%s: must be a non-empty string of at most %zu characters",
                                     where, key, size - 1);
        snprintf(buf, size, "%s", it->valuestring);
        return 0;
}

/* Defaults per kind.  mem_access_per_us is what a kind's work does to
 * the part of its working set beyond L2, per microsecond: a few for
 * ordinary code, 20 for memory-bound number crunching (docs/simulator.md). */
static void behaviour_defaults(enum sim_kind kind, struct sim_behaviour *b)
{
        memset(b, 0, sizeof(*b));
        b->kind = kind;
        b->wss_kb = 256;
        b->next_dom = -1;
        b->mem_access_per_us = 2;
        switch (kind) {
        case SIM_KIND_CPU:
                b->burst_ns = MILLISECS(10);
                break;
        case SIM_KIND_IO:
                b->burst_ns = MICROSECS(100);
                b->sleep_ns = MILLISECS(1);
                b->wss_kb = 128;
                b->mem_access_per_us = 1;
                break;
        case SIM_KIND_CHAIN:
                b->burst_ns = MICROSECS(200);
                b->tokens = 1;
                b->mem_access_per_us = 1;
                break;
        case SIM_KIND_CACHE:
                b->burst_ns = MILLISECS(10);
                b->wss_kb = 16384;
                b->mem_access_per_us = 20;
                break;
        case SIM_KIND_ONOFF:
                b->burst_ns = MILLISECS(10);
                b->on_ns = MILLISECS(100);
                b->off_ns = MILLISECS(100);
                break;
        case SIM_KIND_FORKJOIN:
                b->burst_ns = MILLISECS(20);
                b->wss_kb = 2048;
                b->mem_access_per_us = 4;
                break;
        default:
                b->burst_ns = MILLISECS(1);
                b->wss_kb = 0;
                b->mem_access_per_us = 0;
                break;
        }
}

/* The behaviour's durations: JSON unit, range, and where they go. */
static int parse_time_fields(const cJSON *obj, const char *where, struct sim_behaviour *b)
{
        static const struct {
                const char *key;
                double min, max, ns_per_unit;
                size_t offset;
        } fields[] = {
                { "burst_us", 1, 1e7, 1e3, offsetof(struct sim_behaviour, burst_ns) },
                { "sleep_us", 0, 1e8, 1e3, offsetof(struct sim_behaviour, sleep_ns) },
                { "on_ms", 1, 1e6, 1e6, offsetof(struct sim_behaviour, on_ns) },
                { "off_ms", 1, 1e6, 1e6, offsetof(struct sim_behaviour, off_ns) },
                { "serial_us", 0, 1e8, 1e3, offsetof(struct sim_behaviour, serial_ns) },
        };

        for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
                s_time_t *ns = (s_time_t *)((char *)b + fields[i].offset);
                double v = (double)*ns / fields[i].ns_per_unit;
                int r = get_number(obj, where, fields[i].key, fields[i].min, fields[i].max, false, &v);

                if (r < 0)
                        return r;
                *ns = (s_time_t)llround(v * fields[i].ns_per_unit);
        }
        return 0;
}

/* The index of the domain named @p name in the workload's JSON, or -1. */
static int domain_index(const cJSON *root, const char *name)
{
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "domains"), *d;
        int i = 0;

        cJSON_ArrayForEach(d, arr) {
                const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "name");

                if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
                        return i;
                i++;
        }
        return -1;
}

static int parse_behaviour(const cJSON *root, const cJSON *obj, const char *where, struct sim_behaviour *ret)
{
        const cJSON *k, *it;
        struct sim_behaviour b;
        int kind = -1, r;
        double v;

        if (!cJSON_IsObject(obj))
                return isched__error(-EINVAL, "%s: must be an object with a \"kind\"", where);
        k = cJSON_GetObjectItemCaseSensitive(obj, "kind");
        if (!k || !cJSON_IsString(k))
                return isched__error(-EINVAL, "%s.kind: missing; use " KINDS, where);
        for (int i = 0; i < SIM_KIND_NR; i++)
                if (strcmp(k->valuestring, kind_names[i]) == 0)
                        kind = i;
        if (kind < 0)
                return isched__error(-EINVAL, "%s.kind: '%s' is not a behaviour; use " KINDS, where, k->valuestring);
        cJSON_ArrayForEach(it, obj) {
                bool ok = it->string && strcmp(it->string, "kind") == 0;
                char list[160] = "";

                for (const char *const *f = kind_fields[kind]; *f; f++) {
                        ok = ok || (it->string && strcmp(it->string, *f) == 0);
                        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? ", " : "", *f);
                }
                if (!ok)
                        return isched__error(-EINVAL, "%s.%s: not a field of kind '%s' (%s%s)", where,
                                             it->string ? it->string : "?", kind_names[kind],
                                             list[0] ? "its fields: " : "it takes no other field", list);
        }
        behaviour_defaults((enum sim_kind)kind, &b);
        r = parse_time_fields(obj, where, &b);
        if (r < 0)
                return r;
        v = b.wss_kb;
        if ((r = get_number(obj, where, "wss_kb", 0, 4194304, true, &v)) < 0)
                return r;
        b.wss_kb = (uint32_t)v;
        v = b.tokens;
        if ((r = get_number(obj, where, "tokens", 1, 1024, true, &v)) < 0)
                return r;
        b.tokens = (uint32_t)v;
        v = b.jobs;
        if ((r = get_number(obj, where, "jobs", 1, 1e6, true, &v)) < 0)
                return r;
        b.jobs = (uint32_t)v;
        v = b.parallel;
        if ((r = get_number(obj, where, "parallel", 1, 1024, true, &v)) < 0)
                return r;
        b.parallel = (uint32_t)v;
        if ((r = get_number(obj, where, "mem_access_per_us", 0, 1e4, false, &b.mem_access_per_us)) < 0)
                return r;
        it = cJSON_GetObjectItemCaseSensitive(obj, "next");
        if (it) {
                if (!cJSON_IsString(it) || (b.next_dom = domain_index(root, it->valuestring)) < 0)
                        return isched__error(-EINVAL, "%s.next: must name a domain of \"domains\"", where);
        }
        *ret = b;
        return 0;
}

static int parse_pools(const cJSON *root, struct sim_workload *wl)
{
        static const char *const keys[] = { "name", "cpus", NULL };
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "pools");
        uint32_t n;
        int r;

        if (!arr) {
                wl->pools = calloc(1, sizeof(*wl->pools));
                if (!wl->pools)
                        return -ENOMEM;
                wl->nr_pools = 1;
                snprintf(wl->pools[0].name, sizeof(wl->pools[0].name), "Pool-0");
                return 0;
        }
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > 64)
                return isched__error(-EINVAL, "pools: must be an array of 1 to 64 pools");
        n = (uint32_t)cJSON_GetArraySize(arr);
        wl->pools = calloc(n, sizeof(*wl->pools));
        if (!wl->pools)
                return -ENOMEM;
        wl->nr_pools = n;
        for (uint32_t i = 0; i < n; i++) {
                const cJSON *p = cJSON_GetArrayItem(arr, (int)i);
                char where[32];
                double cpus = 0;

                snprintf(where, sizeof(where), "pools[%u]", i);
                if (!cJSON_IsObject(p))
                        return isched__error(-EINVAL, "%s: must be an object", where);
                if ((r = check_keys(p, where, keys)) < 0 ||
                    (r = get_name(p, where, "name", true, wl->pools[i].name, sizeof(wl->pools[i].name))) < 0 ||
                    (r = get_number(p, where, "cpus", 1, SIM_MAX_CPUS, true, &cpus)) < 0)
                        return r;
                if (cpus == 0 && i + 1 < n)
                        return isched__error(-EINVAL, "%s.cpus: missing (only the last pool may take the rest)", where);
                wl->pools[i].nr_cpus = (uint32_t)cpus;
                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(wl->pools[j].name, wl->pools[i].name) == 0)
                                return isched__error(-EINVAL, "%s.name: '%s' is used twice", where, wl->pools[i].name);
        }
        if (strcmp(wl->pools[0].name, "Pool-0") != 0)
                return isched__error(-EINVAL, "pools[0].name: the first pool must be \"Pool-0\", as on Xen");
        return 0;
}

/* "memory": "auto" (libxl's placement, the default), "interleave", or a node. */
static int parse_memory(const cJSON *d, const char *where, int32_t *ret)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(d, "memory");

        *ret = SIM_MEMORY_AUTO;
        if (!it)
                return 0;
        if (cJSON_IsString(it) && strcmp(it->valuestring, "auto") == 0)
                return 0;
        if (cJSON_IsString(it) && strcmp(it->valuestring, "interleave") == 0) {
                *ret = SIM_MEMORY_INTERLEAVE;
                return 0;
        }
        if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= 255 &&
            it->valuedouble == floor(it->valuedouble)) {
                *ret = (int32_t)it->valuedouble;
                return 0;
        }
        return isched__error(-EINVAL, "%s.memory: use \"auto\", \"interleave\" or a node number (0-255)", where);
}

/* "publishes": whether the domain's guest publishes its work to dom0, which
 * only observation mode xen+guests uses (docs/guest-work.md); default true. */
static int get_publishes(const cJSON *obj, const char *where, bool *ret)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "publishes");

        *ret = true;
        if (!v)
                return 0;
        if (!cJSON_IsBool(v))
                return isched__error(-EINVAL, "%s.publishes: must be true or false", where);
        *ret = cJSON_IsTrue(v);
        return 0;
}

static int parse_domains(const cJSON *root, struct sim_workload *wl)
{
        static const char *const keys[] = { "name", "pool", "vcpus", "weight", "cap", "publishes", "memory",
                                            "behaviour", NULL };
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "domains");
        uint32_t n, total = 0;
        int r;

        if (!arr)
                return isched__error(-EINVAL, "domains: missing");
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > MAX_DOMAINS)
                return isched__error(-EINVAL, "domains: must be an array of 1 to %d domains", MAX_DOMAINS);
        n = (uint32_t)cJSON_GetArraySize(arr);
        wl->domains = calloc(n, sizeof(*wl->domains));
        if (!wl->domains)
                return -ENOMEM;
        wl->nr_domains = n;
        for (uint32_t i = 0; i < n; i++) {
                const cJSON *d = cJSON_GetArrayItem(arr, (int)i);
                struct sim_wl_domain *wd = &wl->domains[i];
                char where[48], bwhere[64], pool[ISCHED_NAME_MAX] = "Pool-0";
                double vcpus = 0, weight = CSCHED2_DEFAULT_WEIGHT, cap = 0;
                bool found = false;

                snprintf(where, sizeof(where), "domains[%u]", i);
                if (!cJSON_IsObject(d))
                        return isched__error(-EINVAL, "%s: must be an object", where);
                if ((r = check_keys(d, where, keys)) < 0 ||
                    (r = get_name(d, where, "name", true, wd->name, sizeof(wd->name))) < 0 ||
                    (r = get_name(d, where, "pool", false, pool, sizeof(pool))) < 0 ||
                    (r = get_number(d, where, "vcpus", 1, 1024, true, &vcpus)) < 0 ||
                    (r = get_number(d, where, "weight", 1, 65535, true, &weight)) < 0 ||
                    (r = get_number(d, where, "cap", 0, 100 * 1024, true, &cap)) < 0)
                        return r;
                if (vcpus == 0)
                        return isched__error(-EINVAL, "%s.vcpus: missing", where);
                /* csched2_dom_cntl() refuses a cap above 100 per unit with -EINVAL. */
                if (cap > 100 * vcpus)
                        return isched__error(-EINVAL, "%s.cap: %g is more than 100 per vCPU (%g vCPUs), which Xen "
                                             "refuses; give at most %g, or 0 for no cap", where, cap, vcpus,
                                             100 * vcpus);
                if ((r = get_publishes(d, where, &wd->publishes)) < 0)
                        return r;
                for (uint32_t j = 0; j < wl->nr_pools; j++)
                        if (strcmp(wl->pools[j].name, pool) == 0) {
                                wd->pool = j;
                                found = true;
                        }
                if (!found)
                        return isched__error(-EINVAL, "%s.pool: no pool named '%s' in \"pools\"", where, pool);
                for (uint32_t j = 0; j < i; j++)
                        if (strcmp(wl->domains[j].name, wd->name) == 0)
                                return isched__error(-EINVAL, "%s.name: '%s' is used twice", where, wd->name);
                wd->nr_vcpus = (uint32_t)vcpus;
                wd->weight = (uint32_t)weight;
                wd->cap = (uint32_t)cap;
                total += wd->nr_vcpus;
                if (total > MAX_VCPUS_TOTAL)
                        return isched__error(-EINVAL, "%s.vcpus: more than %d vCPUs in total", where, MAX_VCPUS_TOTAL);
                snprintf(bwhere, sizeof(bwhere), "%s.behaviour", where);
                if (!cJSON_GetObjectItemCaseSensitive(d, "behaviour"))
                        return isched__error(-EINVAL, "%s: missing", bwhere);
                r = parse_behaviour(root, cJSON_GetObjectItemCaseSensitive(d, "behaviour"), bwhere, &wd->beh);
                if (r < 0)
                        return r;
                r = parse_memory(d, where, &wd->memory);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every phase states every domain: a behaviour, or "inherit" (the
 * previous phase's; in the first phase, the one in "domains"), so that
 * a cycle of phases repeats exactly. */
static int parse_phases(const cJSON *root, struct sim_workload *wl)
{
        static const char *const keys[] = { "duration_s", "domains", NULL };
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "phases");
        uint32_t n;
        int r;

        if (!arr)
                return 0;
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > MAX_PHASES)
                return isched__error(-EINVAL, "phases: must be an array of 1 to %d phases", MAX_PHASES);
        n = (uint32_t)cJSON_GetArraySize(arr);
        wl->phases = calloc(n, sizeof(*wl->phases));
        if (!wl->phases)
                return -ENOMEM;
        wl->nr_phases = n;
        for (uint32_t i = 0; i < n; i++) {
                const cJSON *p = cJSON_GetArrayItem(arr, (int)i), *doms, *it;
                struct sim_wl_phase *ph = &wl->phases[i];
                char where[32];
                double dur = 0;

                snprintf(where, sizeof(where), "phases[%u]", i);
                if (!cJSON_IsObject(p))
                        return isched__error(-EINVAL, "%s: must be an object", where);
                if ((r = check_keys(p, where, keys)) < 0 ||
                    (r = get_number(p, where, "duration_s", 0.001, 86400, false, &dur)) < 0)
                        return r;
                if (dur == 0)
                        return isched__error(-EINVAL, "%s.duration_s: missing", where);
                ph->duration_ns = (s_time_t)llround(dur * 1e9);
                ph->beh = calloc(wl->nr_domains, sizeof(*ph->beh));
                if (!ph->beh)
                        return -ENOMEM;
                doms = cJSON_GetObjectItemCaseSensitive(p, "domains");
                if (!doms || !cJSON_IsObject(doms))
                        return isched__error(-EINVAL, "%s.domains: missing; a phase maps every domain to its behaviour "
                                             "or to \"inherit\"", where);
                cJSON_ArrayForEach(it, doms) {
                        char bwhere[128];
                        bool found = false;

                        snprintf(bwhere, sizeof(bwhere), "%s.domains.%.60s", where, it->string ? it->string : "?");
                        for (uint32_t d = 0; d < wl->nr_domains; d++)
                                if (it->string && strcmp(wl->domains[d].name, it->string) == 0)
                                        found = true;
                        if (!found)
                                return isched__error(-EINVAL, "%s: no domain of that name in \"domains\"", bwhere);
                }
                for (uint32_t d = 0; d < wl->nr_domains; d++) {
                        char bwhere[128];

                        it = cJSON_GetObjectItemCaseSensitive(doms, wl->domains[d].name);
                        snprintf(bwhere, sizeof(bwhere), "%s.domains.%.60s", where, wl->domains[d].name);
                        if (!it)
                                return isched__error(-EINVAL, "%s.domains: '%s' is missing; give its behaviour or "
                                                     "\"inherit\"", where, wl->domains[d].name);
                        if (cJSON_IsString(it) && strcmp(it->valuestring, "inherit") == 0) {
                                ph->beh[d] = i ? wl->phases[i - 1].beh[d] : wl->domains[d].beh;
                                continue;
                        }
                        if (cJSON_IsString(it))
                                return isched__error(-EINVAL, "%s: '%s' is neither a behaviour nor \"inherit\"",
                                                     bwhere, it->valuestring);
                        r = parse_behaviour(root, it, bwhere, &ph->beh[d]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* A chain hands its items to the domain "next" names.  A domain that is
 * not a chain at that time would keep them without serving or passing them
 * on, and the chain would stall for good: refused, in the domains'
 * behaviours when there are no phases, else in every phase. */
static int check_chain_targets(const struct sim_workload *wl)
{
        for (uint32_t i = 0; i < (wl->nr_phases ? wl->nr_phases : 1); i++) {
                for (uint32_t d = 0; d < wl->nr_domains; d++) {
                        const struct sim_behaviour *from = wl->nr_phases ? &wl->phases[i].beh[d] : &wl->domains[d].beh;
                        const struct sim_behaviour *to;

                        if (from->kind != SIM_KIND_CHAIN || from->next_dom < 0)
                                continue;
                        to = wl->nr_phases ? &wl->phases[i].beh[from->next_dom] : &wl->domains[from->next_dom].beh;
                        if (to->kind == SIM_KIND_CHAIN)
                                continue;
                        if (wl->nr_phases)
                                return isched__error(-EINVAL, "phases[%u].domains.%s.next: '%s' is not a chain in this "
                                                     "phase (its kind is '%s'), so it would keep the items and never "
                                                     "pass them on; make it a chain too, or drop \"next\"", i,
                                                     wl->domains[d].name, wl->domains[from->next_dom].name,
                                                     kind_names[to->kind]);
                        return isched__error(-EINVAL, "domains[%u].behaviour.next: '%s' is not a chain (its kind is "
                                             "'%s'), so it would keep the items and never pass them on; make it a "
                                             "chain too, or drop \"next\"", d, wl->domains[from->next_dom].name,
                                             kind_names[to->kind]);
                }
        }
        return 0;
}

void sim_workload_clear(struct sim_workload *wl)
{
        for (uint32_t i = 0; i < wl->nr_phases; i++)
                free(wl->phases[i].beh);
        free(wl->phases);
        free(wl->pools);
        free(wl->domains);
        memset(wl, 0, sizeof(*wl));
}

int sim_workload_parse(const char *json, const char *origin, struct sim_workload *ret)
{
        static const char *const keys[] = { "topology", "pools", "domains", "phases", "costs", "description", NULL };
        struct sim_workload wl = { .nr_pools = 0 };
        cJSON *root;
        int r;

        r = sim_json_parse(json, origin, "workload", &root);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(root)) {
                r = isched__error(-EINVAL, "%s: the workload must be a JSON object", origin);
                goto out;
        }
        if ((r = check_keys(root, "workload", keys)) < 0 ||
            (r = get_name(root, "workload", "topology", true, wl.topology, sizeof(wl.topology))) < 0)
                goto out;
        if (cJSON_GetObjectItemCaseSensitive(root, "description") &&
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "description"))) {
                r = isched__error(-EINVAL, "workload.description: must be a string");
                goto out;
        }
        {
                struct sim_topology t;

                r = sim_topology_parse(wl.topology, &t);
                if (r < 0) {
                        char detail[256];

                        snprintf(detail, sizeof(detail), "%s", isched_last_error());
                        r = isched__error(r, "workload.topology: %s", detail);
                        goto out;
                }
        }
        if ((r = parse_pools(root, &wl)) < 0 || (r = parse_domains(root, &wl)) < 0 ||
            (r = parse_phases(root, &wl)) < 0 || (r = check_chain_targets(&wl)) < 0)
                goto out;
        sim_costs_default(&wl.costs);
        if (cJSON_GetObjectItemCaseSensitive(root, "costs") &&
            (r = sim_costs_apply_json(&wl.costs, cJSON_GetObjectItemCaseSensitive(root, "costs"), "costs")) < 0)
                goto out;
        *ret = wl;
        cJSON_Delete(root);
        return 0;
out:
        cJSON_Delete(root);
        sim_workload_clear(&wl);
        if (r == -ENOMEM)
                return isched__error(r, "out of memory parsing the workload");
        return r;
}
