/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's internals, shared by agent.c (the loop and the guards),
 * agent-json.c (state file, decision log, explain documents) and
 * agent-files.c (paths, lock and hold files). */
#ifndef ISCHED_AGENT_PRIVATE_H
#define ISCHED_AGENT_PRIVATE_H

#include <cjson/cJSON.h>

#include "intellisched/agent.h"
#include "intellisched/context.h"
#include "intellisched/policy.h"
#include "safety/safety.h"

/* Decisions whose reward window waits to be learned (safety.h:
 * learnable): at most this many; the oldest is given up beyond. */
#define AGENT_QUEUE 64

/* One decision, from the epoch it was made until its reward is known. */
struct agent_record {
        bool valid;
        uint64_t epoch;
        uint64_t time_ns;              /* backend time of the decision */
        double wall_time_s;            /* wall-clock time of the decision */
        double x[ISCHED_F_COUNT];      /* normalised context the policy saw */
        double raw[ISCHED_F_COUNT];    /* raw features */
        double score;                  /* score of the window the context came from */
        double throughput;             /* that window's throughput, and where it came from: */
        const char *throughput_source; /* "work", "guest-work" or "cpu-time" (docs/explain-schema.md) */
        uint32_t work_domains;         /* guest-work: the domains whose work is in it */
        struct isched_decision decision;
        enum isched_arrangement arm;   /* in force during the reward window */
        enum isched_arrangement before;/* in force when the decision was made */
        double propensity;             /* of arm under policy + guards */
        enum isched_agent_reason reason;
        bool switched;
        enum isched_agent_mode mode;
        /* What the safety layer said at the decision. */
        struct isched__safety_decision safety;
        double switch_cost;            /* the switch cost it used */
        uint64_t segment;              /* the workload segment */
        /* The reward window, once observed. */
        uint64_t window_id;            /* the safety layer's id of it, 0 before */
        double window_score;           /* its score, NaN before */
        double settle_score;           /* score of the settle after the switch, NaN if none */
        double baseline;               /* the baseline score it was learned against, NaN if not learned */
        bool stopped;                  /* the window was ended early by the stop-loss */
        uint64_t learned_epoch;        /* the epoch at whose end it was learned (0: not learned) */
};

struct isched_agent {
        unsigned refcount;
        struct isched_agent_config cfg; /* string members point at the copies below */
        char *pool, *state_dir, *log_path, *model_path, *lock_dir;
        char *state_path, *lock_path, *hold_path;
        struct isched_backend *backend;
        struct isched_policy *policy;
        struct isched_context *context;
        struct isched_context_params cparams;
        uint32_t pool_id;
        int lock_fd;
        int log_fd;
        bool trace_failed;              /* recording stopped after a failed append */

        enum isched_agent_mode mode;
        char advisory_reason[256];
        char hold_reason[256];
        enum isched_arrangement current;
        enum isched_arrangement takeover; /* in force when the agent took the pool over */
        char stop_reason[160];            /* why the agent stopped, for the state file */

        /* Output files: a failing one is said once, and again when it
         * recovers; every failure is counted. */
        uint64_t output_errors;
        bool state_failing, log_failing;

        /* The window being observed. */
        struct isched_counters start;
        bool have_start;
        uint32_t observed;
        uint32_t settle_left;
        uint64_t now_ns;

        /* Guards. */
        uint64_t last_switch_ns;
        uint64_t *switch_times;        /* ring of the last max_switches_per_hour switch times */
        uint32_t n_switch_times, switch_ring_next;
        bool watching;                 /* rollback: watching the arrangement switched to */
        double lkg_score;              /* score of the window before the switch */
        uint32_t bad_windows;

        /* The safety layer and what it judges against. */
        struct isched__safety *safety;
        enum isched_arrangement baseline;
        enum isched_observation observation;
        struct isched_policy_params pp;
        uint32_t nr_runqueues[ISCHED_ARR_COUNT];

        struct agent_record pending;   /* waiting for its reward window */
        struct agent_record queue[AGENT_QUEUE]; /* reward window observed, waiting to be learned */
        uint32_t q_head, q_len;
        struct agent_record last;      /* latest decision, for explain */

        /* Statistics. */
        uint64_t epochs, decisions, updates, switches, skipped, stop_losses, unlearned;

        double reward_sum, last_reward, last_score;
        bool last_tick_switched;
};

/* agent.c */
void agent__drop_pending(struct isched_agent *a, const char *why);
/* The agent stops: learn what waits for confirmation, log the rest. */
int agent__finish_learning(struct isched_agent *a);

/* agent-files.c */
int agent__paths(struct isched_agent *a);
int agent__lock(struct isched_agent *a);
void agent__unlock(struct isched_agent *a);
bool agent__hold_file_exists(const struct isched_agent *a);
void agent__write_hold_file(const struct isched_agent *a);
void agent__remove_hold_file(const struct isched_agent *a);
int agent__open_log(struct isched_agent *a);
int agent__write_log_line(struct isched_agent *a, const char *line, size_t len);
void agent__output_result(struct isched_agent *a, bool *failing, const char *what, int r);

/* agent-json.c */
cJSON *agent__state_doc(const struct isched_agent *a);
void agent__write_state(struct isched_agent *a);
void agent__log_record(struct isched_agent *a, const struct agent_record *rec, const double *reward,
                       const char *note);
void agent__inherit_takeover(struct isched_agent *a);
double agent__wall_time_s(void);
cJSON *agent__arms_json(const struct isched_decision *d);
const char *agent__reason_class(enum isched_agent_reason r);

#endif
