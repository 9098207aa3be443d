# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mean and 95% Student-t half-interval over seeds, shared by bench/goal-tables
and bench/modes-table."""
import math
import statistics

# Student's t, 0.975 quantile, by degrees of freedom (as GSL's gsl_cdf_tdist_Pinv)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 14: 2.145, 19: 2.093, 29: 2.045}


def t975(df):
    """The quantile for df, or for the largest tabulated df below it (conservative)."""
    keys = [k for k in sorted(T975) if k <= df]
    return T975[keys[-1]] if keys else math.nan


def stat(v):
    """(mean, 95% half-interval) of the finite values of v; nan where undefined."""
    v = [x for x in v if x is not None and math.isfinite(x)]
    if not v:
        return math.nan, math.nan
    m = statistics.fmean(v)
    if len(v) < 2:
        return m, math.nan
    return m, t975(len(v) - 1) * statistics.stdev(v) / math.sqrt(len(v))
