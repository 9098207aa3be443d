/* SPDX-License-Identifier: LGPL-2.1-or-later */
/** @file agent.h (being written) */
#ifndef INTELLISCHED_AGENT_H
#define INTELLISCHED_AGENT_H

#include "common.h"

#endif
