/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How an agent ends: back to the arrangement the pool had when the agent
 * took it over (the baseline), or left as it is; docs/agent.md, "Stopping". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent-private.h"
#include "util/util.h"

static const char *const on_exit_names[] = {
        [ISCHED_AGENT_ON_EXIT_RESTORE] = "restore",
        [ISCHED_AGENT_ON_EXIT_KEEP] = "keep",
};

ISCHED_EXPORT const char *isched_agent_on_exit_to_string(enum isched_agent_on_exit on_exit)
{
        return (unsigned)on_exit < ARRAY_SIZE(on_exit_names) ? on_exit_names[on_exit] : NULL;
}

ISCHED_EXPORT int isched_agent_on_exit_from_string(const char *s, enum isched_agent_on_exit *ret_on_exit)
{
        if (!ret_on_exit)
                return isched__error(-EINVAL, "isched_agent_on_exit_from_string: ret_on_exit is required");
        for (unsigned i = 0; s && i < ARRAY_SIZE(on_exit_names); i++) {
                if (strcmp(s, on_exit_names[i]) == 0) {
                        *ret_on_exit = (enum isched_agent_on_exit)i;
                        return 0;
                }
        }
        return isched__error(-EINVAL, "unknown on-exit action '%s': use restore or keep", s ? s : "");
}

ISCHED_EXPORT int isched_agent_restore(struct isched_agent *agent)
{
        const enum isched_arrangement from = agent ? agent->current : ISCHED_ARR_CPU;
        int r;

        if (!agent)
                return isched__error(-EINVAL, "isched_agent_restore: NULL agent");
        /* Held: someone else chose the arrangement in force, and that choice
         * stands.  Dry run, advisory, stopped: nothing of ours is in force. */
        if (agent->mode != ISCHED_AGENT_ACTIVE || agent->current == agent->takeover)
                return 0;
        r = isched_backend_set_arrangement(agent->backend, agent->pool_id, agent->takeover);
        if (r < 0)
                return isched__error(r, "pool %s: cannot restore %s (staying on %s): %s", agent->pool,
                                     isched_arrangement_to_string(agent->takeover), isched_arrangement_to_string(from),
                                     isched_last_error());
        agent->current = agent->takeover;
        agent->switches++;
        agent->watching = false;
        isched__log(ISCHED_LOG_INFO, "pool %s: restored its takeover arrangement %s (from %s)", agent->pool,
                    isched_arrangement_to_string(agent->takeover), isched_arrangement_to_string(from));
        return 1;
}

ISCHED_EXPORT int isched_agent_stop(struct isched_agent *agent, enum isched_agent_on_exit on_exit)
{
        const char *what;
        int r = 0;

        if (!agent || !isched_agent_on_exit_to_string(on_exit))
                return isched__error(-EINVAL, "isched_agent_stop: an agent and restore or keep are required");
        if (agent->mode == ISCHED_AGENT_STOPPED)
                return 0;
        /* No window comes after this one: what waited for the change
         * detector's confirmation is learned now. */
        (void)agent__finish_learning(agent);
        agent__drop_pending(agent, "agent stopped");
        if (on_exit == ISCHED_AGENT_ON_EXIT_RESTORE)
                r = isched_agent_restore(agent);
        if (r > 0)
                what = "restored the takeover arrangement";
        else if (r < 0)
                what = "restoring the takeover arrangement failed";
        else if (on_exit == ISCHED_AGENT_ON_EXIT_KEEP)
                what = "kept the arrangement in force (on-exit keep)";
        else if (agent->mode == ISCHED_AGENT_HELD)
                what = "kept the arrangement someone else chose (held)";
        else
                what = "the takeover arrangement was in force";
        snprintf(agent->stop_reason, sizeof(agent->stop_reason), "the agent stopped: %s", what);
        agent->mode = ISCHED_AGENT_STOPPED;
        agent__write_state(agent);
        return r;
}
