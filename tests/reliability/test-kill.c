/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash safety (docs/reliability.md): `isched run` on the simulator, with
 * --model, --state-dir and --log, is killed with SIGKILL after a seeded
 * random delay, many times over.  After every kill the model and the state
 * file are whole (the model loads, the state file is an explain document),
 * the model never loses rounds it had, every line of the decision log is
 * whole JSON but possibly the last, leftover temporary files do not stop
 * the next run (which removes them), and a run to completion continues
 * from the saved model.
 *
 * ISCHED_KILLS (default 50) and ISCHED_KILL_SEED (default 8) change the
 * campaign; nothing depends on how fast this machine is: a kill that
 * lands before the first save finds no files, which is checked too. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "intellisched/agent.h"
#include "intellisched/model.h"
#include "util/util.h"

struct campaign {
        const char *isched;
        char dir[64], state_dir[96], model[96], log[96], state[128];
        unsigned kills, with_model, with_state, max_leftovers, model_leftovers, torn_log_tails;
        uint64_t rounds; /* of the last model seen */
};

/* isched run on the simulator; with OUT, its JSON summary (--json) goes there. */
static pid_t spawn_run(const struct campaign *c, const char *steps, unsigned seed, const char *out)
{
        char seed_arg[16];
        pid_t pid;

        snprintf(seed_arg, sizeof(seed_arg), "%u", seed);
        pid = fork();
        if (pid == 0) {
                const int null = open("/dev/null", O_WRONLY);
                const int fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;

                dup2(fd, 1);
                dup2(null, 2);
                execl(c->isched, "isched", "run", "--pool", "Pool-0", "--steps", steps, "--interval", "0.1",
                      "--epoch", "0.2", "--min-dwell", "0", "--model", c->model, "--state-dir", c->state_dir,
                      "--log", c->log, "--seed", seed_arg, out ? "--json" : (char *)NULL, (char *)NULL);
                _exit(127);
        }
        return pid;
}

static int wait_status(pid_t pid)
{
        int st;

        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return st;
}

/* The model is absent (no save yet) or whole, with no fewer rounds. */
static void check_model(struct campaign *c)
{
        struct isched_policy *p = NULL;
        struct isched_context *ctx = NULL;
        struct stat st;
        int r;

        if (stat(c->model, &st) < 0) {
                CU_ASSERT_EQUAL(c->rounds, 0); /* once saved, it never disappears */
                return;
        }
        c->with_model++;
        CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
        r = isched_model_load(c->model, &p, &ctx);
        CU_ASSERT_EQUAL(r, 0);
        if (r < 0) {
                fprintf(stderr, "kill %u: model %s does not load: %s\n", c->kills, c->model, isched_last_error());
                return;
        }
        CU_ASSERT(isched_policy_get_rounds(p) >= c->rounds);
        c->rounds = isched_policy_get_rounds(p);
        CU_ASSERT_PTR_NOT_NULL(ctx);
        isched_policy_free(p);
        isched_context_free(ctx);
}

static void check_state(struct campaign *c)
{
        const cJSON *schema;
        struct stat st;
        char *text = NULL;
        cJSON *doc;

        if (stat(c->state, &st) < 0)
                return;
        c->with_state++;
        CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
        CU_ASSERT_EQUAL_FATAL(isched__read_file(c->state, 1 << 22, &text, NULL), 0);
        doc = cJSON_Parse(text);
        schema = cJSON_GetObjectItem(doc, "schema");
        CU_ASSERT(cJSON_IsString(schema) && strcmp(schema->valuestring, "isched-explain-v2") == 0);
        if (!doc)
                fprintf(stderr, "kill %u: state file %s is not JSON\n", c->kills, c->state);
        cJSON_Delete(doc);
        free(text);
}

/* Lines are written with one write() each: all whole, but a kill inside
 * that write could at worst cut the last one. */
static void check_log(struct campaign *c)
{
        char *text = NULL, *line, *next;
        size_t len = 0;

        if (isched__read_file(c->log, 1 << 26, &text, &len) < 0)
                return;
        for (line = text; *line; line = next) {
                char *nl = strchr(line, '\n');
                cJSON *o;

                if (!nl) {
                        c->torn_log_tails++;
                        break;
                }
                *nl = '\0';
                next = nl + 1;
                o = cJSON_Parse(line);
                CU_ASSERT_PTR_NOT_NULL(o);
                cJSON_Delete(o);
        }
        free(text);
}

static unsigned count_leftovers(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        unsigned n = 0;

        if (!d)
                return 0;
        while ((e = readdir(d)))
                n += strstr(e->d_name, ".tmp.") != NULL;
        closedir(d);
        return n;
}

/* An integer member of a run's JSON summary (run --json); -1 if absent. */
static long long summary_member(const char *path, const char *name)
{
        char buf[16384], key[64];
        size_t n;
        const char *p;
        FILE *f = fopen(path, "r");

        if (!f)
                return -1;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        snprintf(key, sizeof(key), "\"%s\":", name);
        p = strstr(buf, key);
        if (!p)
                return -1;
        return strtoll(p + strlen(key), NULL, 10);
}

static void test_kill_campaign(void)
{
        struct campaign c = { .isched = getenv("ISCHED") };
        const char *env_kills = getenv("ISCHED_KILLS"), *env_seed = getenv("ISCHED_KILL_SEED");
        const unsigned kills = env_kills ? (unsigned)atoi(env_kills) : 50;
        unsigned seed = env_seed ? (unsigned)atoi(env_seed) : 8;
        uint64_t before;
        char cmd[4200], summary[sizeof(c.dir) + 16];
        long long decisions, updates, unlearned, waiting;
        int st;

        CU_ASSERT_PTR_NOT_NULL_FATAL(c.isched);
        snprintf(c.dir, sizeof(c.dir), "/tmp/isched-kill-XXXXXX");
        CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(c.dir));
        snprintf(c.state_dir, sizeof(c.state_dir), "%s/state", c.dir);
        snprintf(c.model, sizeof(c.model), "%s/model.json", c.dir);
        snprintf(c.log, sizeof(c.log), "%s/decisions.jsonl", c.dir);
        snprintf(c.state, sizeof(c.state), "%s/Pool-0.state.json", c.state_dir);
        CU_ASSERT_EQUAL_FATAL(mkdir(c.state_dir, 0700), 0);

        for (c.kills = 0; c.kills < kills; c.kills++) {
                /* Up to 2 s: from before the first save (start-up takes a few
                 * ms) to well into the periodic model saves (every 10
                 * epochs; an epoch is a state file write and an fsync). */
                const long delay_us = (long)(rand_r(&seed) % 2000000);
                const struct timespec ts = { delay_us / 1000000, (delay_us % 1000000) * 1000 };
                const pid_t pid = spawn_run(&c, "1000000", c.kills, NULL);

                CU_ASSERT_FATAL(pid > 0);
                nanosleep(&ts, NULL);
                CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
                st = wait_status(pid);
                /* Killed, or exited 0 if it could finish; never failed. */
                CU_ASSERT((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
                if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
                        fprintf(stderr, "kill %u: isched run exited %d before the kill\n", c.kills, WEXITSTATUS(st));
                check_model(&c);
                check_state(&c);
                check_log(&c);
                /* A killed save leaves its temporary file; the next run
                 * removes those of dead processes when it starts. */
                c.model_leftovers += count_leftovers(c.dir) > 0;
                if (count_leftovers(c.dir) + count_leftovers(c.state_dir) > c.max_leftovers)
                        c.max_leftovers = count_leftovers(c.dir) + count_leftovers(c.state_dir);
        }
        /* The agent restarts from what the kills left: it loads the model
         * and its rounds continue from there: 20 epochs learn all but the
         * decision still pending at the end, whose window never came. */
        before = c.rounds;
        snprintf(summary, sizeof(summary), "%s/final.out", c.dir);
        st = wait_status(spawn_run(&c, "20", 999, summary));
        CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        check_model(&c);
        check_state(&c);
        /* Every reward the run learned is one more model round, and every
         * decision is accounted for: learned, never to be learned (a
         * skipped window, a transient, one that straddled a workload
         * change: the safety layer's call, which depends on the model the
         * kills left) or still waiting for its window. */
        decisions = summary_member(summary, "decisions");
        updates = summary_member(summary, "updates");
        unlearned = summary_member(summary, "unlearned");
        waiting = summary_member(summary, "waiting");
        CU_ASSERT_FATAL(decisions >= 0 && updates >= 0 && unlearned >= 0 && waiting >= 0);
        CU_ASSERT(decisions >= 19);
        CU_ASSERT(updates > 0);
        CU_ASSERT_EQUAL(updates + unlearned + waiting, decisions);
        CU_ASSERT_EQUAL(c.rounds, before + (uint64_t)updates);
        CU_ASSERT_EQUAL(count_leftovers(c.dir) + count_leftovers(c.state_dir), 0);
        /* So does isched eval on the decision log the kills left (the
         * target under the same guards: the safety layer decided most). */
        snprintf(cmd, sizeof(cmd), "'%s' eval --log '%s' --guard-rounds replay >/dev/null", c.isched, c.log);
        CU_ASSERT_EQUAL(system(cmd), 0);

        printf("\n%u kills: model present after %u, state file after %u; at most %u temporary files "
               "left at a time, %u kills during a model save; %u torn log tails; model rounds "
               "%llu -> %llu after the final run (%lld of %lld decisions learned, %lld never, %lld waiting), which removed "
               "the temporary files\n",
               c.kills, c.with_model, c.with_state, c.max_leftovers, c.model_leftovers, c.torn_log_tails,
               (unsigned long long)before, (unsigned long long)c.rounds, updates, decisions, unlearned, waiting);
        CU_ASSERT(c.with_model > 0 && c.with_state > 0);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Kills that land inside model saves for sure: a child saves two models
 * (5 and 6 rounds) to one path in a loop and is killed after a random
 * delay of a few milliseconds; the file must then load with 5 or 6 rounds. */
static void test_kill_during_saves(void)
{
        struct isched_policy_params pp;
        struct isched_policy *p[2] = { NULL, NULL };
        struct isched_context_params cp;
        struct isched_context *ctx = NULL;
        const double x[ISCHED_F_COUNT] = { 1.0 };
        char dir[64], path[96], cmd[128];
        unsigned seed = 5, leftovers = 0, kills;

        snprintf(dir, sizeof(dir), "/tmp/isched-savekill-XXXXXX");
        CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/model.json", dir);
        CU_ASSERT_EQUAL_FATAL(isched_policy_params_init(&pp, ISCHED_POLICY_LINUCB, ISCHED_F_COUNT), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_params_init(&cp), 0);
        CU_ASSERT_EQUAL_FATAL(isched_context_new(&cp, &ctx), 0);
        for (unsigned i = 0; i < 2; i++) {
                CU_ASSERT_EQUAL_FATAL(isched_policy_new(&pp, &p[i]), 0);
                for (unsigned n = 0; n < 5 + i; n++)
                        CU_ASSERT_EQUAL_FATAL(isched_policy_update(p[i], n % 2, x, ISCHED_F_COUNT, 0.5), 0);
        }
        CU_ASSERT_EQUAL_FATAL(isched_model_save(path, p[0], ctx), 0);
        for (kills = 0; kills < 100; kills++) {
                const struct timespec ts = { 0, (long)(rand_r(&seed) % 20000) * 1000 };
                struct isched_policy *loaded = NULL;
                pid_t pid = fork();
                int st;

                CU_ASSERT_FATAL(pid >= 0);
                if (pid == 0) {
                        for (unsigned i = 0;; i++)
                                if (isched_model_save(path, p[i % 2], ctx) < 0)
                                        _exit(1);
                }
                nanosleep(&ts, NULL);
                kill(pid, SIGKILL);
                st = wait_status(pid);
                CU_ASSERT(WIFSIGNALED(st));
                CU_ASSERT_EQUAL(isched_model_load(path, &loaded, NULL), 0);
                if (loaded) {
                        const uint64_t rounds = isched_policy_get_rounds(loaded);

                        CU_ASSERT(rounds == 5 || rounds == 6);
                }
                isched_policy_free(loaded);
        }
        leftovers = count_leftovers(dir);
        printf("\n%u kills inside model saves: the model always loaded; %u temporary files left\n", kills, leftovers);
        for (unsigned i = 0; i < 2; i++)
                isched_policy_free(p[i]);
        isched_context_free(ctx);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
}

int isched_test_register(void);

int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("SIGKILL of isched run", NULL, NULL);

        if (!s || !CU_add_test(s, "files are old or new, never torn; restart continues", test_kill_campaign) ||
            !CU_add_test(s, "kills inside model saves: old or new model", test_kill_during_saves))
                return -1;
        return 0;
}
