/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file intellisched.h
 * libintellisched: a contextual-bandit agent that chooses the Xen credit2
 * runqueue arrangement of each cpupool.  Include this header for the whole API.
 */
#ifndef INTELLISCHED_H
#define INTELLISCHED_H

#include "intellisched/version.h"
#include "intellisched/common.h"
#include "intellisched/counters.h"
#include "intellisched/backend.h"
#include "intellisched/policy.h"
#include "intellisched/context.h"
#include "intellisched/trace.h"
#include "intellisched/model.h"
#include "intellisched/sim.h"
#include "intellisched/agent.h"

#endif
