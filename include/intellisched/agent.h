/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file agent.h
 * The agent: the per-cpupool loop that reads counters, decides the
 * runqueue arrangement with a policy, applies it through a backend and
 * learns from the reward that follows, behind safety guards.
 *
 * One agent serves one pool.  Several agents may share one backend; the
 * host program lets time pass with isched_backend_wait() and then calls
 * isched_agent_tick() on every agent:
 *
 * @code
 * for (;;) {
 *         isched_backend_wait(backend, interval_ns);
 *         for (i = 0; i < n; i++)
 *                 isched_agent_tick(agents[i]);
 * }
 * @endcode
 *
 * Each tick reads one counter snapshot.  Every epoch_intervals ticks the
 * agent builds the window of the epoch, rewards the previous decision with
 * it, builds the context and decides again; after a switch it skips
 * settle_intervals ticks before it observes again.  The guards (minimum
 * dwell time, switch budget, rollback, override hold, advisory mode) are
 * described in docs/agent.md, with the state, lock, hold and decision log
 * files.
 */
#ifndef INTELLISCHED_AGENT_H
#define INTELLISCHED_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "common.h"
#include "context.h"
#include "policy.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

struct isched_agent;

/** Why the arrangement of the latest decision is the one in force. */
enum isched_agent_reason {
        ISCHED_AGENT_REASON_NONE = 0,  /**< no decision yet */
        ISCHED_AGENT_REASON_EXPLOIT,   /**< the policy's greedy choice */
        ISCHED_AGENT_REASON_EXPLORE,   /**< the policy explored */
        ISCHED_AGENT_REASON_DWELL,     /**< guard: the minimum dwell time since the last switch has not passed */
        ISCHED_AGENT_REASON_BUDGET,    /**< guard: the switch budget of the last hour is spent */
        ISCHED_AGENT_REASON_ROLLBACK,  /**< guard: back to the last-known-good arrangement */
        ISCHED_AGENT_REASON_OVERRIDE,  /**< guard: someone else changed the arrangement; held until resumed */
        ISCHED_AGENT_REASON_ADVISORY,  /**< guard: dry run or a pool that cannot be switched */
        ISCHED_AGENT_REASON_GAIN,      /**< safety: to the arm confidently better by more than a switch costs */
        ISCHED_AGENT_REASON_SAFE_EXPLORE, /**< safety: trying the plausible, affordable arm the policy ranks highest */
        ISCHED_AGENT_REASON_VISIT,     /**< safety: an exploration visit goes on */
        ISCHED_AGENT_REASON_HYSTERESIS,/**< safety: the proposal's possible gain does not pay for the switch */
        ISCHED_AGENT_REASON_KNOWN_WORSE, /**< safety: the proposal is known to be worse */
        ISCHED_AGENT_REASON_RISK,      /**< safety: the proposal could cost more than the exploration budget left */
        ISCHED_AGENT_REASON_WAIT,      /**< safety: the arm in force is not measured yet in this workload */
        ISCHED_AGENT_REASON_COUNT
};

/** What the agent does with its decisions. */
enum isched_agent_mode {
        ISCHED_AGENT_ACTIVE = 0,   /**< decides and applies */
        ISCHED_AGENT_DRY_RUN,      /**< decides and logs, never applies (asked for) */
        ISCHED_AGENT_ADVISORY,     /**< decides and logs: the pool cannot be switched */
        ISCHED_AGENT_HELD,         /**< the arrangement was changed by someone else: no switching until resumed */
        ISCHED_AGENT_STOPPED,      /**< the pool is gone */
        ISCHED_AGENT_MODE_COUNT
};

/** Agent settings.  Start from isched_agent_config_init(). */
struct isched_agent_config {
        size_t size;                    /**< sizeof(struct isched_agent_config) */
        const char *pool;               /**< cpupool name (required) */
        uint64_t interval_ns;           /**< time between snapshots, the host's wait (default 1 s) */
        uint32_t epoch_intervals;       /**< snapshots per decision window, >= 1 (default 5) */
        uint32_t settle_intervals;      /**< snapshots skipped after a switch (default 1) */
        uint64_t min_dwell_ns;          /**< minimum time between switches, counted from the agent's start too (default 10 s) */
        uint32_t max_switches_per_hour; /**< switch budget per sliding hour; 0 = no limit (default 60) */
        uint32_t rollback_windows;      /**< windows worse than before a switch that trigger a rollback; 0 = off (default 3) */
        double rollback_margin;         /**< "worse" means score below the pre-switch score by more than this (default 0.1) */
        bool dry_run;                   /**< decide and log, never apply */
        /** Directory of the state, lock and hold files, or NULL for none
         *  (no lock is then taken).  It must exist. */
        const char *state_dir;
        const char *log_path;           /**< decision log (JSON lines, appended), or NULL */
        const char *model_path;         /**< model saved every model_save_epochs epochs, or NULL */
        uint32_t model_save_epochs;     /**< default 10 */
        /** If not NULL, every snapshot the agent reads is appended to this
         *  trace (for the replay backend); the pool must be in its header.
         *  Not owned: it must outlive the agent.  Several agents may share it. */
        struct isched_trace_writer *trace;
        /** Directory of the pool's lock file, or NULL for state_dir.  A host
         *  program that manages real pools puts it in a directory common to
         *  every agent of the host (isched run: /run/intellisched for the
         *  xen backend), so that one agent per pool runs whatever the state
         *  directory.  It must exist. */
        const char *lock_dir;
        /** Size limit of the decision log in bytes, 0 for none (default
         *  64 MiB).  A line that would make the log larger first renames it
         *  to "<log>.1" (replacing an older one) and starts a new log. */
        uint64_t log_max_bytes;
        /** Exploration budget: the score the agent may lose against the
         *  baseline arrangement, per decision window, summed since
         *  takeover (log-score units; default 0.01, about 1%; 0 = never
         *  explore what is not known to be at least as good). */
        double budget;
        /** The baseline arrangement the agent is judged against and
         *  falls back to: ISCHED_ARR_COUNT (default) for the one in force
         *  when the agent takes the pool over. */
        enum isched_arrangement baseline;
        /** Let the policy's proposals go to the guards unchanged: no
         *  exploration budget, elimination, hysteresis or stop-loss (the
         *  layer still measures, and learning still waits for a baseline
         *  window).  For experiments and exploratory logs only. */
        bool no_safety;
};

/** How isched_agent_stop() leaves the pool. */
enum isched_agent_on_exit {
        ISCHED_AGENT_ON_EXIT_RESTORE = 0, /**< back to the takeover arrangement (the default) */
        ISCHED_AGENT_ON_EXIT_KEEP,        /**< leave the arrangement in force */
};

/** A summary for a status line. */
struct isched_agent_status {
        enum isched_agent_mode mode;
        enum isched_arrangement arrangement;     /**< in force, as the agent last saw it */
        enum isched_agent_reason last_reason;    /**< reason of the latest decision */
        enum isched_arrangement last_policy_arm; /**< what the policy wanted at the latest decision */
        uint64_t epochs;          /**< completed decision windows */
        uint64_t decisions;       /**< decisions made */
        uint64_t updates;         /**< rewards learned */
        uint64_t switches;        /**< arrangements applied by the agent */
        uint64_t skipped_windows; /**< windows that failed validation or spanned a foreign change */
        uint64_t time_ns;         /**< timestamp of the latest snapshot (backend time) */
        double last_reward;       /**< NaN before the first */
        double mean_reward;       /**< NaN before the first */
        double last_score;        /**< score of the latest valid window, NaN before */
        bool last_tick_switched;  /**< the latest tick applied a switch */
        /** The arrangement the pool had when the agent took it over: the
         *  baseline the agent is measured against, and the one
         *  isched_agent_stop() restores.  An agent that follows one which did
         *  not stop cleanly (killed, crashed) inherits its predecessor's. */
        enum isched_arrangement takeover_arrangement;
        uint64_t output_errors;   /**< state file and decision log writes that failed */
        enum isched_arrangement baseline; /**< the arrangement at takeover (or configured) */
        double gain;              /**< estimated score of the arrangement in force minus the baseline's, NaN if unknown */
        double gain_sd;           /**< its standard error */
        double measured_gain;     /**< score gained over the baseline per window since takeover (estimated), NaN before */
        double measured_gain_sd;  /**< its standard error */
        double budget_spent;      /**< pessimistic score lost against the baseline so far */
        double budget_allowance;  /**< budget x windows since takeover */
        uint64_t changes;         /**< workload changes detected */
        uint64_t stop_losses;     /**< windows ended early because the exploration budget would overrun */
        uint64_t unlearned;       /**< decisions whose window was never learned (transient, straddling a change, skipped, ...) */
        uint32_t waiting;         /**< decisions whose window is not learned yet (updates + unlearned + waiting = decisions) */
};

/** Fill @p config with the defaults above (pool NULL). @return 0 or -EINVAL. */
int isched_agent_config_init(struct isched_agent_config *config);

/**
 * Create the agent of one pool.  The agent takes a reference on
 * @p backend and works on its own copies of @p policy and @p context,
 * whose dimension must be ISCHED_F_COUNT.  It reads the first snapshot,
 * takes the pool's lock file and writes the state file (if state_dir is
 * set).  Arrangements that give the same number of runqueues as a lower
 * one are masked out of the policy.  A pool that cannot be switched starts
 * in advisory mode and a warning says why; a hold file left by an earlier
 * override makes it start held.
 *
 * @return 0; -EINVAL for a bad argument or config (detail names it);
 *         -ENOENT for an unknown pool or missing state dir; -EBUSY if another
 *         agent holds the pool's lock (the detail names its pid); other -errno.
 */
int isched_agent_new(const struct isched_agent_config *config, struct isched_backend *backend,
                     const struct isched_policy *policy, const struct isched_context *context,
                     struct isched_agent **ret_agent);

/** Take a reference. @return @p agent. */
struct isched_agent *isched_agent_ref(struct isched_agent *agent);

/**
 * Drop a reference; the last one releases the lock and the backend.  It
 * does not save the model: call isched_agent_save_model() first.
 *
 * @return NULL.
 */
struct isched_agent *isched_agent_unref(struct isched_agent *agent);

/**
 * Read one snapshot and advance the loop; call it once after every
 * isched_backend_wait() of config.interval_ns.
 *
 * @return 1 if a decision epoch completed, 0 otherwise; -ENOENT if the
 *         pool is gone (the agent stops; later calls return -ENOENT);
 *         -ENODATA when a replay trace has ended; other -errno from the
 *         backend.  Invalid windows (-ERANGE, -EDOM, -ESTALE) are skipped,
 *         not returned.
 */
int isched_agent_tick(struct isched_agent *agent);

/** Fill @p ret_status. @return 0 or -EINVAL. */
int isched_agent_get_status(const struct isched_agent *agent, struct isched_agent_status *ret_status);

/**
 * Resume switching after an override hold: the arrangement in force
 * becomes the agent's, the hold file is removed.  Removing the hold file
 * has the same effect at the next tick.
 *
 * @return 0; -EINVAL; -EALREADY if the agent was not held.
 */
int isched_agent_resume(struct isched_agent *agent);

/**
 * Switch the pool back to its takeover arrangement (see
 * isched_agent_status.takeover_arrangement), whatever the guards say.  Only
 * an active agent switches: a held pool keeps the arrangement someone else
 * chose, and in dry-run and advisory modes nothing was ever applied.
 *
 * @return 1 if the pool was switched, 0 if there was nothing to do;
 *         -EINVAL; the backend's -errno (the agent then stays as it was).
 */
int isched_agent_restore(struct isched_agent *agent);

/**
 * Stop the agent for good: the pending decision is logged without a
 * reward, the pool is restored (isched_agent_restore()) if @p on_exit asks
 * for it, and the state file is written with mode "stopped" and the reason.
 * Later ticks return -ENOENT.  It does not save the model.
 *
 * @return 1 if the pool was restored, 0 if not; -EINVAL; the backend's
 *         -errno when the restore failed (the agent is stopped all the same).
 */
int isched_agent_stop(struct isched_agent *agent, enum isched_agent_on_exit on_exit);

/**
 * Reopen the decision log at its path, for log rotation: the next lines go
 * to a new file if the old one was renamed.  (The agent also notices a
 * renamed log by itself before every line.)
 *
 * @return 0; -EINVAL; -errno of open() (the agent then has no log).
 */
int isched_agent_reopen_log(struct isched_agent *agent);

/** Save the agent's policy and context to @p path atomically (model.h). @return 0 or -errno. */
int isched_agent_save_model(const struct isched_agent *agent, const char *path);

/**
 * The agent's state as the JSON document `isched explain` prints
 * (docs/explain-schema.md).
 *
 * @param ret_json written on success; free() it.
 * @return 0, -EINVAL, -ENOMEM.
 */
int isched_agent_state_json(const struct isched_agent *agent, char **ret_json);

/**
 * An explain document (docs/explain-schema.md) for a model file alone:
 * every arm evaluated at the mean context (all normalised features 0).
 *
 * @return 0; the errors of isched_model_load(); -ENOMEM.
 */
int isched_agent_explain_model(const char *model_path, char **ret_json);

/**
 * The path of a pool's state file in @p state_dir: "<dir>/<pool>.state.json",
 * with characters of the pool name other than [A-Za-z0-9._-] replaced by '_'.
 *
 * @param ret_path written on success; free() it.
 * @return 0, -EINVAL, -ENOMEM.
 */
int isched_agent_state_path(const char *state_dir, const char *pool, char **ret_path);

/**
 * The default state directory of a backend.  For "xen" (and NULL) it is
 * isched_agent_default_state_dir()'s.  The simulator's and the replay's
 * pools exist only in the process that runs them, so their state is
 * runtime state: "<runtime dir>/<backend>" (isched_agent_default_runtime_dir(),
 * e.g. /run/intellisched/sim), or, without a runtime directory,
 * "<state dir>/<backend>".  It is not created.
 *
 * @param ret_path written on success; free() it.
 * @return 0; -EINVAL for an unknown backend; -ENOENT as
 *         isched_agent_default_state_dir(); -ENOMEM.
 */
int isched_agent_default_state_dir_for(const char *backend, char **ret_path);

/**
 * The runtime directory: /run/intellisched for root, else
 * $XDG_RUNTIME_DIR/intellisched.  Host-wide locks of real pools go here
 * (isched_agent_config.lock_dir).  It is not created.
 *
 * @param ret_path written on success; free() it.
 * @return 0; -ENOENT if not root and XDG_RUNTIME_DIR is not set; -ENOMEM.
 */
int isched_agent_default_runtime_dir(char **ret_path);

/**
 * The default state directory: /var/lib/intellisched for root, else
 * $XDG_STATE_HOME/intellisched, else $HOME/.local/state/intellisched.
 * It is not created.
 *
 * @param ret_path written on success; free() it.
 * @return 0; -ENOENT if neither XDG_STATE_HOME nor HOME is set; -ENOMEM.
 */
int isched_agent_default_state_dir(char **ret_path);

/** "exploit", "explore", "dwell", "budget", "rollback", "override", "advisory", "none"; NULL if invalid. */
const char *isched_agent_reason_to_string(enum isched_agent_reason reason);

/** "active", "dry-run", "advisory", "held", "stopped"; NULL if invalid. */
const char *isched_agent_mode_to_string(enum isched_agent_mode mode);

/** "restore", "keep"; NULL if invalid. */
const char *isched_agent_on_exit_to_string(enum isched_agent_on_exit on_exit);

/** Parse "restore" or "keep". @return 0 or -EINVAL. */
int isched_agent_on_exit_from_string(const char *s, enum isched_agent_on_exit *ret_on_exit);

#ifdef __cplusplus
}
#endif

#endif
