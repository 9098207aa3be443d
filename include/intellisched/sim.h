/* SPDX-License-Identifier: LGPL-2.1-or-later */
/** @file sim.h (being written) */
#ifndef INTELLISCHED_SIM_H
#define INTELLISCHED_SIM_H

#include "common.h"

#endif
