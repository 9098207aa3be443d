/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file common.h
 * Arrangements (the arms), logging and error details shared by every
 * libintellisched module.
 *
 * Conventions of the whole library: functions return 0 (or a non-negative
 * value where documented) on success and a negative errno on failure;
 * out-parameters are named ret_* and are written only on success; the
 * library never prints and never exits.  When a function fails, a sentence
 * describing what was wrong is available from isched_last_error() in the
 * same thread and is also passed to the log function, if one is set.
 */
#ifndef INTELLISCHED_COMMON_H
#define INTELLISCHED_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The credit2 runqueue arrangements, in the order and with the values of
 * Xen's OPT_RUNQUEUE_* constants (xen/common/sched/credit2.c).  Each is one
 * arm of the bandit.
 */
enum isched_arrangement {
        ISCHED_ARR_CPU = 0,     /**< one runqueue per pCPU */
        ISCHED_ARR_CORE = 1,    /**< one runqueue per core (SMT siblings together) */
        ISCHED_ARR_SOCKET = 2,  /**< one runqueue per socket (Xen's default) */
        ISCHED_ARR_NODE = 3,    /**< one runqueue per NUMA node */
        ISCHED_ARR_ALL = 4,     /**< one runqueue for the whole pool */
        ISCHED_ARR_COUNT = 5
};

/** Bit mask of arms: bit i set means arrangement i may be chosen. */
#define ISCHED_ARM_MASK_ALL ((1u << ISCHED_ARR_COUNT) - 1u)

/** The largest number of arms a policy can have. */
#define ISCHED_MAX_ARMS ISCHED_ARR_COUNT

/** The largest context dimension a policy accepts. */
#define ISCHED_MAX_FEATURES 64

/**
 * The name of an arrangement as Xen spells it ("cpu", "core", "socket",
 * "node", "all").
 *
 * @return the name, or NULL if @p a is not a valid arrangement.
 */
const char *isched_arrangement_to_string(enum isched_arrangement a);

/**
 * Parse an arrangement name as Xen spells it.
 *
 * @param name the name; case-sensitive, as Xen's credit2_runqueue= option.
 * @param ret_arrangement written on success.
 * @return 0, or -EINVAL if @p name is NULL or not an arrangement name.
 */
int isched_arrangement_from_string(const char *name, enum isched_arrangement *ret_arrangement);

/** Log priorities, with syslog's numbers. */
enum isched_log_priority {
        ISCHED_LOG_ERROR = 3,
        ISCHED_LOG_WARNING = 4,
        ISCHED_LOG_INFO = 6,
        ISCHED_LOG_DEBUG = 7
};

/**
 * A log function set by the host program.  @p message is one line without
 * a trailing newline, valid only during the call.
 */
typedef void (*isched_log_fn)(enum isched_log_priority priority, const char *message,
                              void *userdata);

/**
 * Set the process-wide log function and the lowest priority passed to it.
 * By default nothing is logged.
 *
 * @param fn the function, or NULL to log nothing.
 * @param max_priority messages with a numerically larger priority are dropped.
 * @param userdata passed to @p fn unchanged.
 */
void isched_set_log_fn(isched_log_fn fn, enum isched_log_priority max_priority, void *userdata);

/**
 * A sentence describing the last failure of a library call in the calling
 * thread: what was wrong and, where it helps, what to do.
 *
 * @return the message, or "" if no call has failed in this thread.  Valid
 *         until the next library call in this thread.
 */
const char *isched_last_error(void);

/**
 * The library's version as "MAJOR.MINOR.PATCH".
 */
const char *isched_version(void);

#ifdef __cplusplus
}
#endif

#endif
