/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched pools: what a backend knows of each cpupool. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli-opts.h"
#include "cli.h"

enum { OPT_JSON = CLI_OPT_OWN };

static const struct option longopts[] = {
        { "json", no_argument, NULL, OPT_JSON },
        CLI_COMMON_LONGOPTS,
        CLI_BACKEND_LONGOPTS,
        { 0 },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: isched pools [OPTIONS]\n"
                   "\n"
                   "List the cpupools of a backend: pCPUs, scheduler, the arrangement in force,\n"
                   "the runqueues each arrangement gives, and whether it can be switched (and\n"
                   "why not).\n"
                   "\n"
                   "Options:\n" CLI_BACKEND_HELP
                   "  --json             one JSON document instead of a table (docs/json.md)\n"
                   "  --help, --version\n"
                   "\n"
                   "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

static cJSON *pool_json(const struct isched_pool_info *p)
{
        cJSON *o = cJSON_CreateObject(), *rq = cJSON_CreateObject();

        cJSON_AddNumberToObject(o, "pool_id", p->id);
        cJSON_AddStringToObject(o, "pool", p->name);
        cJSON_AddStringToObject(o, "scheduler", p->scheduler);
        cJSON_AddNumberToObject(o, "nr_pcpus", p->nr_pcpus);
        cJSON_AddStringToObject(o, "arrangement", isched_arrangement_to_string(p->arrangement) ?: "unknown");
        cJSON_AddBoolToObject(o, "can_switch", p->can_switch);
        if (p->reason[0])
                cJSON_AddStringToObject(o, "reason", p->reason);
        else
                cJSON_AddNullToObject(o, "reason");
        for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                const char *n = isched_arrangement_to_string((enum isched_arrangement)a);

                if (p->nr_runqueues[a])
                        cJSON_AddNumberToObject(rq, n, p->nr_runqueues[a]);
                else
                        cJSON_AddNullToObject(rq, n);
        }
        cJSON_AddItemToObject(o, "nr_runqueues", rq);
        return o;
}

static void print_json(const char *backend, const struct isched_pool_info *pools, size_t n)
{
        cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "pools");

        cJSON_AddStringToObject(doc, "schema", "isched-pools-v1");
        cJSON_AddStringToObject(doc, "backend", backend);
        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(arr, pool_json(&pools[i]));
        cli_print_json(doc);
}

static void print_table(const struct isched_pool_info *pools, size_t n)
{
        printf("%-4s %-16s %-10s %6s %-8s %-6s %-22s %s\n", "ID", "NAME", "SCHEDULER", "PCPUS", "ARRANGE", "SWITCH",
               "RUNQUEUES c/co/s/n/a", "REASON");
        for (size_t i = 0; i < n; i++) {
                const struct isched_pool_info *p = &pools[i];
                char rq[64];
                size_t used = 0;

                for (unsigned a = 0; a < ISCHED_ARR_COUNT; a++) {
                        if (p->nr_runqueues[a])
                                used += (size_t)snprintf(rq + used, sizeof(rq) - used, "%s%u", a ? "/" : "",
                                                         p->nr_runqueues[a]);
                        else
                                used += (size_t)snprintf(rq + used, sizeof(rq) - used, "%s?", a ? "/" : "");
                }
                char name[64], sched[64], reason[400];

                /* Names come from the hypervisor's administrator: never
                 * control characters to the terminal. */
                printf("%-4u %-16s %-10s %6u %-8s %-6s %-22s %s\n", p->id, cli_printable(p->name, name, sizeof(name)),
                       cli_printable(p->scheduler, sched, sizeof(sched)), p->nr_pcpus,
                       isched_arrangement_to_string(p->arrangement) ?: "?", p->can_switch ? "yes" : "no", rq,
                       p->reason[0] ? cli_printable(p->reason, reason, sizeof(reason)) : "-");
        }
}

int cmd_pools(int argc, char **argv)
{
        struct cli_backend_opts bo;
        struct isched_backend *backend = NULL;
        struct isched_pool_info *pools = NULL;
        bool json = false;
        size_t n = 0;
        int c, h, r, rc;

        struct cli_getopt g;

        cli_backend_opts_init(&bo);
        cli_getopt_init(&g, "pools", longopts, NULL);
        while ((c = cli_getopt_next(&g, argc, argv)) != -1) {
                if (c == CLI_GETOPT_BAD)
                        return EXIT_USAGE;
                if ((h = cli_backend_opt(&bo, c, optarg, NULL)) != 0) {
                        if (h < 0)
                                return cli_usage_hint("pools ");
                        continue;
                }
                switch (c) {
                case OPT_JSON:
                        json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                case 'V':
                        return cli_version();
                default:
                        return EXIT_USAGE;
                }
        }
        if (cli_extra_operand("pools", argc, argv))
                return EXIT_USAGE;
        rc = cli_open_backend(&bo, &backend);
        if (rc)
                return rc;
        r = isched_backend_list_pools(backend, &pools, &n);
        if (r < 0) {
                rc = cli_fail(r, "cannot list the pools");
        } else {
                if (json)
                        print_json(isched_backend_get_name(backend), pools, n);
                else
                        print_table(pools, n);
                rc = EXIT_OK;
        }
        free(pools);
        isched_backend_unref(backend);
        return rc;
}
