/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched sim: run the embedded credit2 simulator with one fixed
 * arrangement and print what each pool did.  The output depends only on
 * the options (no wall-clock time), so two runs with the same options are
 * byte-identical. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <intellisched/intellisched.h>

#include "cli.h"

enum {
        OPT_SCENARIO = 0x100,
        OPT_WORKLOAD,
        OPT_ARRANGEMENT,
        OPT_DURATION,
        OPT_WARMUP,
        OPT_SEED,
        OPT_TOPOLOGY,
        OPT_JSON,
        OPT_COSTS,
        OPT_LIST_COSTS,
        OPT_LIST,
};

static const struct option longopts[] = {
        { "scenario", required_argument, NULL, OPT_SCENARIO },
        { "workload", required_argument, NULL, OPT_WORKLOAD },
        { "arrangement", required_argument, NULL, OPT_ARRANGEMENT },
        { "duration", required_argument, NULL, OPT_DURATION },
        { "warmup", required_argument, NULL, OPT_WARMUP },
        { "seed", required_argument, NULL, OPT_SEED },
        { "topology", required_argument, NULL, OPT_TOPOLOGY },
        { "json", no_argument, NULL, OPT_JSON },
        { "costs", required_argument, NULL, OPT_COSTS },
        { "list-costs", no_argument, NULL, OPT_LIST_COSTS },
        { "list", no_argument, NULL, OPT_LIST },
        CLI_COMMON_LONGOPTS,
        { 0 },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: isched sim [--scenario NAME | --workload FILE] [--arrangement A]\n"
                   "                  [--duration SECONDS] [--warmup SECONDS] [--seed S]\n"
                   "                  [--topology T] [--costs FILE] [--json]\n"
                   "       isched sim --list | --list-costs\n"
                   "\n"
                   "Run the embedded credit2 simulator (a model of Xen 4.17's credit2) with one\n"
                   "fixed runqueue arrangement and print each cpupool's counters and metrics:\n"
                   "throughput (useful work, the simulator's ground truth), mean and 99th\n"
                   "percentile wake-to-run latency, and the score the agent would see\n"
                   "(isched_context_score with the default weights).  The same options always\n"
                   "give the same output.\n"
                   "\n"
                   "Options:\n"
                   "  --scenario NAME    built-in scenario (default phased; see --list)\n"
                   "  --workload FILE    JSON workload file instead (docs/simulator.md)\n"
                   "  --arrangement A    cpu, core, socket (default, as Xen), node or all\n"
                   "  --duration S       simulated seconds measured (default 10)\n"
                   "  --warmup S         simulated seconds run before measuring (default 0)\n"
                   "  --seed S           random seed (default 1)\n"
                   "  --topology T       override the host topology: <nodes>n<sockets>s<cores>c<threads>t,\n"
                   "                     sockets per node, cores per socket, threads per core\n"
                   "  --costs FILE       JSON object of cost constants (e.g. {\"xfer_socket_ns\": 60})\n"
                   "                     overriding the defaults and the workload's \"costs\"\n"
                   "  --json             one JSON document instead of text\n"
                   "  --list             list the built-in scenarios, one per line\n"
                   "  --list-costs       list the cost constants: name, default, unit, source\n"
                   "  --help             this text\n"
                   "\n"
                   "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

static int list_costs(void)
{
        for (size_t i = 0; i < isched_sim_cost_count(); i++) {
                const char *name, *unit, *source;
                double v;

                if (isched_sim_cost_get(i, &name, &v, &unit, &source) == 0)
                        printf("%-26s %10g %-6s %s\n", name, v, unit, source);
        }
        return EXIT_OK;
}

static int list_scenarios(void)
{
        for (size_t i = 0; i < isched_sim_scenario_count(); i++) {
                const char *name, *desc;

                if (isched_sim_scenario_get(i, &name, &desc) == 0)
                        printf("%-20s %s\n", name, desc);
        }
        return EXIT_OK;
}

struct pool_result {
        struct isched_pool_info info;
        struct isched_counters prev, cur;
        struct isched_window w;
        struct isched_sim_stats stats;
        bool window_ok, score_ok;
        double score;
        char why[256];
};

static uint64_t diff(uint64_t a, uint64_t b)
{
        return a - b;
}

static void add_counters_json(cJSON *o, const struct isched_counters *p, const struct isched_counters *c)
{
        cJSON *h = cJSON_CreateArray();

        cJSON_AddNumberToObject(o, "busy_ns", (double)diff(c->busy_ns, p->busy_ns));
        cJSON_AddNumberToObject(o, "idle_ns", (double)diff(c->idle_ns, p->idle_ns));
        cJSON_AddNumberToObject(o, "guest_ns", (double)diff(c->guest_ns, p->guest_ns));
        cJSON_AddNumberToObject(o, "runnable_wait_ns", (double)diff(c->runnable_wait_ns, p->runnable_wait_ns));
        cJSON_AddNumberToObject(o, "wakeups", (double)diff(c->wakeups, p->wakeups));
        cJSON_AddNumberToObject(o, "context_switches", (double)diff(c->context_switches, p->context_switches));
        cJSON_AddNumberToObject(o, "migrations", (double)diff(c->migrations, p->migrations));
        cJSON_AddNumberToObject(o, "balance_checks", (double)diff(c->balance_checks, p->balance_checks));
        cJSON_AddNumberToObject(o, "balance_moves", (double)diff(c->balance_moves, p->balance_moves));
        cJSON_AddNumberToObject(o, "work_units", (double)diff(c->work_units, p->work_units));
        for (unsigned i = 0; i < ISCHED_LATENCY_BUCKETS; i++)
                cJSON_AddItemToArray(h, cJSON_CreateNumber(
                                                (double)diff(c->wake_latency_hist[i], p->wake_latency_hist[i])));
        cJSON_AddItemToObject(o, "wake_latency_hist", h);
}

struct dom_result {
        struct isched_sim_domain_info prev, cur;
        struct isched_window w;  /* its wake latencies over the measured window */
        bool window_ok;
};

static int read_domains(struct isched_sim *sim, struct dom_result *d, uint32_t n, bool cur)
{
        for (uint32_t i = 0; i < n; i++) {
                struct isched_sim_domain_info *info = cur ? &d[i].cur : &d[i].prev;
                int r;

                info->size = sizeof(*info);
                r = isched_sim_domain_info(sim, i, info);
                if (r < 0)
                        return r;
        }
        return 0;
}

static double work_per_s(const struct dom_result *d, uint64_t duration_ns)
{
        return (double)(d->cur.work_units - d->prev.work_units) * 1e9 / (double)duration_ns;
}

/* A domain's wake-latency mean and p99 over the window, computed as the
 * pool's are: the pool's counters with the domain's histogram. */
static void evaluate_domain(struct dom_result *d, const struct pool_result *pool)
{
        struct isched_counters a = pool->prev, b = pool->cur;

        memcpy(a.wake_latency_hist, d->prev.wake_latency_hist, sizeof(a.wake_latency_hist));
        memcpy(b.wake_latency_hist, d->cur.wake_latency_hist, sizeof(b.wake_latency_hist));
        a.wakeups = d->prev.wakeups;
        b.wakeups = d->cur.wakeups;
        d->window_ok = isched_window_from_counters(&a, &b, &d->w) == 0;
}

/* What one domain did over the window: work and wake latencies. */
static cJSON *domain_json(const struct dom_result *d, uint64_t duration_ns)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "domain", d->cur.name);
        cJSON_AddNumberToObject(o, "nr_vcpus", d->cur.nr_vcpus);
        cJSON_AddNumberToObject(o, "work_units", (double)(d->cur.work_units - d->prev.work_units));
        cJSON_AddNumberToObject(o, "work_per_s", work_per_s(d, duration_ns));
        cJSON_AddNumberToObject(o, "run_ns", (double)(d->cur.run_ns - d->prev.run_ns));
        cJSON_AddNumberToObject(o, "wakeups", (double)(d->cur.wakeups - d->prev.wakeups));
        if (d->window_ok) {
                cJSON_AddNumberToObject(o, "wake_latency_mean_us", d->w.lat_mean_us);
                cJSON_AddNumberToObject(o, "wake_latency_p99_us", d->w.lat_p99_us);
        } else {
                cJSON_AddNullToObject(o, "wake_latency_mean_us");
                cJSON_AddNullToObject(o, "wake_latency_p99_us");
        }
        return o;
}

static cJSON *pool_json(const struct pool_result *r, const struct dom_result *doms, uint32_t nd,
                        uint64_t duration_ns)
{
        cJSON *darr = cJSON_CreateArray();
        cJSON *o = cJSON_CreateObject(), *cnt = cJSON_CreateObject(), *m = cJSON_CreateObject();

        cJSON_AddNumberToObject(o, "pool_id", r->info.id);
        cJSON_AddStringToObject(o, "pool", r->info.name);
        cJSON_AddNumberToObject(o, "nr_pcpus", r->info.nr_pcpus);
        cJSON_AddNumberToObject(o, "nr_vcpus", r->cur.nr_vcpus);
        cJSON_AddStringToObject(o, "arrangement", isched_arrangement_to_string(r->info.arrangement));
        cJSON_AddNumberToObject(o, "nr_runqueues", r->stats.nr_runqueues);
        add_counters_json(cnt, &r->prev, &r->cur);
        cJSON_AddItemToObject(o, "counters", cnt);
        if (r->window_ok) {
                cJSON_AddNumberToObject(m, "utilisation", r->w.utilisation);
                cJSON_AddNumberToObject(m, "throughput_work_per_pcpu_s", r->w.throughput);
                cJSON_AddNumberToObject(m, "wake_latency_mean_us", r->w.lat_mean_us);
                cJSON_AddNumberToObject(m, "wake_latency_p99_us", r->w.lat_p99_us);
                cJSON_AddNumberToObject(m, "migrations_per_s", r->w.migrations_per_s);
                cJSON_AddNumberToObject(m, "context_switches_per_s", r->w.cswitches_per_s);
        }
        if (r->score_ok)
                cJSON_AddNumberToObject(m, "score", r->score);
        else
                cJSON_AddNullToObject(m, "score");
        if (!r->score_ok)
                cJSON_AddStringToObject(m, "score_unavailable", r->why);
        cJSON_AddItemToObject(o, "metrics", m);
        cJSON_AddNumberToObject(o, "lock_wait_ns_per_op",
                                r->stats.lock_ops ? (double)r->stats.lock_wait_ns / (double)r->stats.lock_ops : 0.0);
        cJSON_AddNumberToObject(o, "credit_resets", (double)r->stats.credit_resets);
        cJSON_AddNumberToObject(o, "trylocks", (double)r->stats.trylocks);
        cJSON_AddNumberToObject(o, "trylock_fails", (double)r->stats.trylock_fails);
        for (uint32_t i = 0; i < nd; i++)
                if (doms[i].cur.pool_id == r->info.id)
                        cJSON_AddItemToArray(darr, domain_json(&doms[i], duration_ns));
        cJSON_AddItemToObject(o, "domains", darr);
        return o;
}

static void print_pool_text(const struct pool_result *r)
{
        const struct isched_counters *p = &r->prev, *c = &r->cur;

        printf("pool %s (id %u): %u pCPUs, %u vCPUs, arrangement %s, %u runqueues\n", r->info.name,
               r->info.id, r->info.nr_pcpus, c->nr_vcpus, isched_arrangement_to_string(r->info.arrangement),
               r->stats.nr_runqueues);
        if (r->window_ok) {
                printf("  utilisation            %.4f\n", r->w.utilisation);
                printf("  throughput             %.1f work units/s per pCPU (simulator ground truth)\n",
                       r->w.throughput);
                printf("  wake latency mean      %.2f us\n", r->w.lat_mean_us);
                printf("  wake latency p99       %.2f us\n", r->w.lat_p99_us);
        }
        if (r->score_ok)
                printf("  score                  %.6f (isched_context_score, default weights)\n", r->score);
        else
                printf("  score                  n/a (%s)\n", r->why);
        printf("  busy / idle            %" PRIu64 " / %" PRIu64 " ns\n", diff(c->busy_ns, p->busy_ns),
               diff(c->idle_ns, p->idle_ns));
        printf("  guest time             %" PRIu64 " ns\n", diff(c->guest_ns, p->guest_ns));
        printf("  runnable wait          %" PRIu64 " ns\n", diff(c->runnable_wait_ns, p->runnable_wait_ns));
        printf("  wakeups                %" PRIu64 "\n", diff(c->wakeups, p->wakeups));
        printf("  context switches       %" PRIu64 "\n", diff(c->context_switches, p->context_switches));
        printf("  runqueue migrations    %" PRIu64 "\n", diff(c->migrations, p->migrations));
        printf("  balance checks / moves %" PRIu64 " / %" PRIu64 "\n", diff(c->balance_checks, p->balance_checks),
               diff(c->balance_moves, p->balance_moves));
        printf("  work units             %" PRIu64 "\n", diff(c->work_units, p->work_units));
        printf("  credit resets          %" PRIu64 "\n", r->stats.credit_resets);
        printf("  lock wait per op       %.1f ns\n",
               r->stats.lock_ops ? (double)r->stats.lock_wait_ns / (double)r->stats.lock_ops : 0.0);
}

static void evaluate(struct pool_result *r)
{
        struct isched_context_params params;
        int ret;

        ret = isched_window_from_counters(&r->prev, &r->cur, &r->w);
        if (ret < 0) {
                snprintf(r->why, sizeof(r->why), "%s", isched_last_error());
                return;
        }
        r->window_ok = true;
        isched_context_params_init(&params);
        ret = isched_context_score(&params, &r->w, &r->score);
        if (ret < 0) {
                snprintf(r->why, sizeof(r->why), "%s", isched_last_error());
                return;
        }
        r->score_ok = true;
}

struct sim_opts {
        struct isched_sim_config cfg;
        uint64_t duration_ns, warmup_ns;
        bool json;
};


static int run(const struct sim_opts *o)
{
        struct isched_sim *sim = NULL;
        struct pool_result *res = NULL;
        struct dom_result *doms = NULL;
        uint32_t n = 0, nd = 0;
        int r, rc = EXIT_OK;

        r = isched_sim_new(&o->cfg, &sim);
        if (r < 0)
                return cli_fail(r, o->cfg.workload_path ? o->cfg.workload_path : "sim");
        if ((r = isched_sim_run(sim, o->warmup_ns)) < 0 || (r = isched_sim_pool_count(sim, &n)) < 0) {
                rc = cli_fail(r, "sim");
                goto out;
        }
        if ((r = isched_sim_domain_count(sim, &nd)) < 0) {
                rc = cli_fail(r, "sim");
                goto out;
        }
        res = calloc(n, sizeof(*res));
        doms = calloc(nd ? nd : 1, sizeof(*doms));
        if (!res || !doms) {
                cli_error("out of memory");
                rc = EXIT_RUNTIME;
                goto out;
        }
        for (uint32_t i = 0; i < n; i++)
                if ((r = isched_sim_read_counters(sim, i, &res[i].prev)) < 0) {
                        rc = cli_fail(r, "sim");
                        goto out;
                }
        if ((r = read_domains(sim, doms, nd, false)) < 0 || (r = isched_sim_run(sim, o->duration_ns)) < 0 ||
            (r = read_domains(sim, doms, nd, true)) < 0) {
                rc = cli_fail(r, "sim");
                goto out;
        }
        for (uint32_t i = 0; i < n; i++) {
                res[i].stats.size = sizeof(res[i].stats);
                if ((r = isched_sim_read_counters(sim, i, &res[i].cur)) < 0 ||
                    (r = isched_sim_pool_info(sim, i, &res[i].info)) < 0 ||
                    (r = isched_sim_get_stats(sim, i, &res[i].stats)) < 0) {
                        rc = cli_fail(r, "sim");
                        goto out;
                }
                evaluate(&res[i]);
        }
        for (uint32_t i = 0; i < nd; i++)
                if (doms[i].cur.pool_id < n)
                        evaluate_domain(&doms[i], &res[doms[i].cur.pool_id]);
        if (o->json) {
                cJSON *root = cJSON_CreateObject(), *pools = cJSON_CreateArray();
                char *text, seed[24];

                cJSON_AddStringToObject(root, "schema", "isched-sim-v1");
                if (o->cfg.workload_path)
                        cJSON_AddStringToObject(root, "workload", o->cfg.workload_path);
                else
                        cJSON_AddStringToObject(root, "scenario", o->cfg.scenario ? o->cfg.scenario : "phased");
                if (o->cfg.topology)
                        cJSON_AddStringToObject(root, "topology", o->cfg.topology);
                cJSON_AddStringToObject(root, "arrangement", isched_arrangement_to_string(o->cfg.arrangement));
                cJSON_AddNumberToObject(root, "duration_s", (double)o->duration_ns / 1e9);
                cJSON_AddNumberToObject(root, "warmup_s", (double)o->warmup_ns / 1e9);
                snprintf(seed, sizeof(seed), "%" PRIu64, o->cfg.seed); /* 64 bits: a string (docs/json.md) */
                cJSON_AddStringToObject(root, "seed", seed);
                cJSON_AddNumberToObject(root, "events", (double)(n ? res[0].stats.events : 0));
                for (uint32_t i = 0; i < n; i++)
                        cJSON_AddItemToArray(pools, pool_json(&res[i], doms, nd, o->duration_ns));
                cJSON_AddItemToObject(root, "pools", pools);
                {
                        cJSON *arr = cJSON_CreateArray();

                        for (uint32_t i = 0; i < nd; i++) {
                                cJSON *d = cJSON_CreateObject();

                                cJSON_AddStringToObject(d, "domain", doms[i].cur.name);
                                cJSON_AddNumberToObject(d, "pool_id", doms[i].cur.pool_id);
                                cJSON_AddNumberToObject(d, "nr_vcpus", doms[i].cur.nr_vcpus);
                                cJSON_AddNumberToObject(d, "work_units",
                                                        (double)(doms[i].cur.work_units - doms[i].prev.work_units));
                                cJSON_AddNumberToObject(d, "work_per_s", work_per_s(&doms[i], o->duration_ns));
                                cJSON_AddNumberToObject(d, "run_ns", (double)(doms[i].cur.run_ns - doms[i].prev.run_ns));
                                cJSON_AddItemToArray(arr, d);
                        }
                        cJSON_AddItemToObject(root, "domains", arr);
                }
                text = cJSON_Print(root);
                cJSON_Delete(root);
                if (!text) {
                        cli_error("out of memory printing JSON");
                        rc = EXIT_RUNTIME;
                        goto out;
                }
                printf("%s\n", text);
                free(text);
        } else {
                printf("isched sim: %s %s, arrangement %s, %.3f s measured after %.3f s warm-up, seed %" PRIu64
                       "%s%s\n",
                       o->cfg.workload_path ? "workload" : "scenario",
                       o->cfg.workload_path ? o->cfg.workload_path : (o->cfg.scenario ? o->cfg.scenario : "phased"),
                       isched_arrangement_to_string(o->cfg.arrangement), (double)o->duration_ns / 1e9,
                       (double)o->warmup_ns / 1e9, o->cfg.seed, o->cfg.topology ? ", topology " : "",
                       o->cfg.topology ? o->cfg.topology : "");
                printf("events processed: %" PRIu64 "\n", n ? res[0].stats.events : 0);
                for (uint32_t i = 0; i < n; i++)
                        print_pool_text(&res[i]);
                for (uint32_t i = 0; i < nd; i++) {
                        printf("domain %s (pool %u, %u vCPUs): %.1f work units/s, ran %" PRIu64 " ns",
                               doms[i].cur.name, doms[i].cur.pool_id, doms[i].cur.nr_vcpus,
                               work_per_s(&doms[i], o->duration_ns), doms[i].cur.run_ns - doms[i].prev.run_ns);
                        if (doms[i].window_ok)
                                printf(", wake latency mean %.2f us, p99 %.2f us", doms[i].w.lat_mean_us,
                                       doms[i].w.lat_p99_us);
                        printf("\n");
                }
        }
out:
        free(doms);
        free(res);
        isched_sim_free(sim);
        return rc;
}

int cmd_sim(int argc, char **argv)
{
        struct sim_opts o = { .duration_ns = 10000000000ull };
        bool list = false, list_costs_only = false;
        struct cli_getopt g;
        int opt, n_opts = 0;

        isched_sim_config_init(&o.cfg);
        o.cfg.set_arrangement = true;
        o.cfg.arrangement = ISCHED_ARR_SOCKET;
        cli_getopt_init(&g, "sim", longopts, NULL);
        while ((opt = cli_getopt_next(&g, argc, argv)) != -1) {
                n_opts++;
                switch (opt) {
                case OPT_SCENARIO:
                        o.cfg.scenario = optarg;
                        break;
                case OPT_WORKLOAD:
                        o.cfg.workload_path = optarg;
                        break;
                case OPT_ARRANGEMENT:
                        if (isched_arrangement_from_string(optarg, &o.cfg.arrangement) < 0) {
                                cli_error("--arrangement: '%s' is not an arrangement; use cpu, core, socket, node or all",
                                          optarg);
                                return cli_usage_hint("sim ");
                        }
                        break;
                case OPT_DURATION:
                        if (!cli_parse_seconds_ns("--duration", optarg, &o.duration_ns))
                                return cli_usage_hint("sim ");
                        break;
                case OPT_WARMUP:
                        if (!cli_parse_seconds_ns_or_zero("--warmup", optarg, &o.warmup_ns))
                                return cli_usage_hint("sim ");
                        break;
                case OPT_SEED:
                        if (!cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &o.cfg.seed))
                                return cli_usage_hint("sim ");
                        break;
                case OPT_TOPOLOGY:
                        o.cfg.topology = optarg;
                        break;
                case OPT_JSON:
                        o.json = true;
                        break;
                case OPT_LIST:
                        list = true;
                        break;
                case OPT_COSTS:
                        o.cfg.costs_path = optarg;
                        break;
                case OPT_LIST_COSTS:
                        list_costs_only = true;
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
        if (cli_extra_operand("sim", argc, argv))
                return EXIT_USAGE;
        if (list && n_opts > 1) {
                cli_error("sim: --list takes no other option (it prints one scenario name per line)");
                return cli_usage_hint("sim ");
        }
        if (list_costs_only && n_opts > 1) {
                cli_error("sim: --list-costs takes no other option (it prints one cost constant per line)");
                return cli_usage_hint("sim ");
        }
        if (list)
                return list_scenarios();
        if (list_costs_only)
                return list_costs();
        if (o.cfg.scenario && o.cfg.workload_path) {
                cli_error("give either --scenario or --workload, not both");
                return cli_usage_hint("sim ");
        }
        return run(&o);
}
