/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policies: parameters, life cycle, arm mask, random generator state.
 * The decisions themselves are in policy-decide.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "policy-private.h"
#include "util/util.h"

static const char *const kind_names[ISCHED_POLICY_KIND_COUNT] = {
        [ISCHED_POLICY_EGREEDY] = "egreedy",
        [ISCHED_POLICY_LINGREEDY] = "lingreedy",
        [ISCHED_POLICY_LINUCB] = "linucb",
        [ISCHED_POLICY_DLINUCB] = "dlinucb",
        [ISCHED_POLICY_LINTS] = "lints",
};

ISCHED_EXPORT const char *isched_policy_kind_to_string(enum isched_policy_kind kind)
{
        if ((unsigned)kind >= ISCHED_POLICY_KIND_COUNT)
                return NULL;
        return kind_names[kind];
}

ISCHED_EXPORT int isched_policy_kind_from_string(const char *name, enum isched_policy_kind *ret_kind)
{
        if (!name || !ret_kind)
                return isched__error(-EINVAL, "policy name is missing");
        for (unsigned i = 0; i < ISCHED_POLICY_KIND_COUNT; i++) {
                if (strcmp(name, kind_names[i]) == 0) {
                        *ret_kind = (enum isched_policy_kind)i;
                        return 0;
                }
        }
        return isched__error(-EINVAL,
                             "unknown policy '%s': use egreedy, lingreedy, linucb, dlinucb or lints",
                             name);
}

ISCHED_EXPORT int isched_policy_params_init(struct isched_policy_params *params,
                                            enum isched_policy_kind kind, uint32_t n_features)
{
        if (!params)
                return isched__error(-EINVAL, "isched_policy_params_init: params is NULL");
        if ((unsigned)kind >= ISCHED_POLICY_KIND_COUNT)
                return isched__error(-EINVAL, "unknown policy kind %d", (int)kind);
        if (n_features < 1 || n_features > ISCHED_MAX_FEATURES)
                return isched__error(-EINVAL, "n_features is %u: give 1 to %u features", n_features,
                                     ISCHED_MAX_FEATURES);
        *params = (struct isched_policy_params){
                .size = sizeof(*params),
                .kind = kind,
                .n_features = n_features,
                .arm_mask = ISCHED_ARM_MASK_ALL,
                .alpha = 1.0,
                .lambda = 1.0,
                .gamma = 0.99,
                .epsilon = 0.1,
                .epsilon_decay = 0.0,
                .ts_v = 0.5,
                .seed = 1,
        };
        return 0;
}

/* Names and schemas end up in JSON files and log lines: printable ASCII,
 * not empty, bounded. */
static bool name_ok(const char *s)
{
        size_t n = 0;

        if (!s || !*s)
                return false;
        for (; s[n]; n++)
                if (n >= ISCHED_POLICY_NAME_MAX || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
                        return false;
        return true;
}

static int check_range(const char *field, double v, double min, bool min_open, double max)
{
        if (!isched__finite(v) || v < min || (min_open && v == min) || v > max)
                return isched__error(-EINVAL, "policy parameter %s = %g is out of range: give %s %g .. %g",
                                     field, v, min_open ? "more than" : "from", min, max);
        return 0;
}

int isched__policy_params_check(const struct isched_policy_params *p)
{
        int r;

        if (!p)
                return isched__error(-EINVAL, "policy parameters are NULL");
        if (p->size != sizeof(*p))
                return isched__error(-EINVAL, "policy parameter size is %zu, expected %zu: start from isched_policy_params_init()",
                                     p->size, sizeof(*p));
        if ((unsigned)p->kind >= ISCHED_POLICY_KIND_COUNT)
                return isched__error(-EINVAL, "policy parameter kind = %d is not a policy kind", (int)p->kind);
        if (p->n_features < 1 || p->n_features > ISCHED_MAX_FEATURES)
                return isched__error(-EINVAL, "policy parameter n_features = %u: give 1 to %u",
                                     p->n_features, ISCHED_MAX_FEATURES);
        if (p->arm_mask == 0 || (p->arm_mask & ~ISCHED_ARM_MASK_ALL))
                return isched__error(-EINVAL, "policy parameter arm_mask = 0x%x: give a non-empty subset of 0x%x",
                                     p->arm_mask, ISCHED_ARM_MASK_ALL);
        if ((r = check_range("alpha", p->alpha, 0.0, false, 1e6)) < 0 ||
            (r = check_range("lambda", p->lambda, 0.0, true, 1e12)) < 0 ||
            (r = check_range("gamma", p->gamma, 0.0, true, 1.0)) < 0 ||
            (r = check_range("epsilon", p->epsilon, 0.0, false, 1.0)) < 0 ||
            (r = check_range("epsilon_decay", p->epsilon_decay, 0.0, false, 1e12)) < 0 ||
            (r = check_range("ts_v", p->ts_v, 0.0, true, 1e6)) < 0)
                return r;
        if (p->feature_schema && !name_ok(p->feature_schema))
                return isched__error(-EINVAL, "policy parameter feature_schema must be 1 to %u printable ASCII characters",
                                     ISCHED_POLICY_NAME_MAX);
        if (p->feature_names)
                for (uint32_t i = 0; i < p->n_features; i++)
                        if (!name_ok(p->feature_names[i]))
                                return isched__error(-EINVAL, "policy parameter feature_names[%u] must be 1 to %u printable ASCII characters",
                                                     i, ISCHED_POLICY_NAME_MAX);
        return 0;
}

static char *name_dup(const char *s)
{
        return strdup(s);
}

/* Lay out every arm's vectors and matrices in one block. */
static int alloc_stats(struct isched_policy *p)
{
        const size_t d = p->params.n_features;
        const enum isched_policy_kind kind = p->params.kind;
        size_t per_arm = 0, n;
        double *q;

        if (isched__policy_is_linear(kind))
                per_arm = 2 * d * d + 2 * d + (kind == ISCHED_POLICY_DLINUCB ? d * d : 0);
        n = per_arm * ISCHED_MAX_ARMS + 2 * d * d + 4 * d;
        p->block = calloc(n, sizeof(double));
        if (!p->block)
                return -ENOMEM;
        q = p->block;
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                struct isched__arm_stats *s = &p->arms[a];

                if (!per_arm)
                        continue;
                s->A = q, q += d * d;
                s->A_inv = q, q += d * d;
                s->b = q, q += d;
                s->theta = q, q += d;
                if (kind == ISCHED_POLICY_DLINUCB)
                        s->A_tilde = q, q += d * d;
        }
        p->work = q;
        return 0;
}

/* A = lambda*I, A_inv = I/lambda, b = 0 (D-LinUCB: V = Vtilde = lambda*I). */
static void reset_stats(struct isched_policy *p)
{
        const unsigned d = p->params.n_features;

        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                struct isched__arm_stats *s = &p->arms[a];

                s->pulls = 0;
                s->reward_sum = 0.0;
                if (!s->A)
                        continue;
                for (unsigned i = 0; i < d; i++) {
                        s->A[i * d + i] = p->params.lambda;
                        s->A_inv[i * d + i] = 1.0 / p->params.lambda;
                        if (s->A_tilde)
                                s->A_tilde[i * d + i] = p->params.lambda;
                }
                /* D-LinUCB's cache (V's Cholesky factor) is built at the
                 * first decision. */
                s->stale = s->A_tilde != NULL;
        }
}

static int copy_names(struct isched_policy *p, const struct isched_policy_params *params)
{
        const unsigned d = params->n_features;
        char buf[32];

        p->schema = name_dup(params->feature_schema ? params->feature_schema : "generic");
        p->names = calloc(d, sizeof(char *));
        if (!p->schema || !p->names)
                return -ENOMEM;
        for (unsigned i = 0; i < d; i++) {
                if (params->feature_names) {
                        p->names[i] = name_dup(params->feature_names[i]);
                } else {
                        snprintf(buf, sizeof(buf), "x%u", i);
                        p->names[i] = name_dup(buf);
                }
                if (!p->names[i])
                        return -ENOMEM;
        }
        p->params.feature_schema = p->schema;
        p->params.feature_names = (const char *const *)p->names;
        return 0;
}

ISCHED_EXPORT int isched_policy_new(const struct isched_policy_params *params,
                                    struct isched_policy **ret_policy)
{
        struct isched_policy *p;
        int r;

        if (!ret_policy)
                return isched__error(-EINVAL, "isched_policy_new: ret_policy is NULL");
        r = isched__policy_params_check(params);
        if (r < 0)
                return r;
        gsl_set_error_handler_off();
        p = calloc(1, sizeof(*p));
        if (!p)
                return isched__error(-ENOMEM, "out of memory creating a policy");
        p->params = *params;
        r = copy_names(p, params);
        if (r == 0)
                r = alloc_stats(p);
        if (r == 0) {
                p->rng = gsl_rng_alloc(gsl_rng_taus2);
                if (!p->rng)
                        r = -ENOMEM;
        }
        if (r < 0) {
                isched_policy_free(p);
                return isched__error(r, "out of memory creating a policy");
        }
        /* gsl_rng_set takes an unsigned long: fold the upper half in so
         * that every bit of the 64-bit seed matters. */
        gsl_rng_set(p->rng, (unsigned long)(params->seed ^ (params->seed >> 32)));
        reset_stats(p);
        *ret_policy = p;
        return 0;
}

ISCHED_EXPORT struct isched_policy *isched_policy_free(struct isched_policy *p)
{
        if (!p)
                return NULL;
        if (p->names)
                for (unsigned i = 0; i < p->params.n_features; i++)
                        free(p->names[i]);
        free(p->names);
        free(p->schema);
        free(p->block);
        if (p->rng)
                gsl_rng_free(p->rng);
        free(p);
        return NULL;
}

ISCHED_EXPORT int isched_policy_clone(const struct isched_policy *policy, struct isched_policy **ret_policy)
{
        struct isched_policy *c;
        int r;

        if (!policy || !ret_policy)
                return isched__error(-EINVAL, "isched_policy_clone: NULL argument");
        r = isched_policy_new(&policy->params, &c);
        if (r < 0)
                return r;
        gsl_rng_memcpy(c->rng, policy->rng);
        c->rounds = policy->rounds;
        c->decisions = policy->decisions;
        for (unsigned a = 0; a < ISCHED_MAX_ARMS; a++) {
                c->arms[a].pulls = policy->arms[a].pulls;
                c->arms[a].reward_sum = policy->arms[a].reward_sum;
                c->arms[a].stale = policy->arms[a].stale;
        }
        /* Both blocks have the same layout: copy the statistics whole. */
        memcpy(c->block, policy->block, (size_t)(c->work - c->block) * sizeof(double));
        *ret_policy = c;
        return 0;
}

ISCHED_EXPORT int isched_policy_set_arm_mask(struct isched_policy *policy, uint32_t arm_mask)
{
        if (!policy)
                return isched__error(-EINVAL, "isched_policy_set_arm_mask: policy is NULL");
        if (arm_mask == 0 || (arm_mask & ~ISCHED_ARM_MASK_ALL))
                return isched__error(-EINVAL, "arm mask 0x%x: give a non-empty subset of 0x%x", arm_mask,
                                     ISCHED_ARM_MASK_ALL);
        policy->params.arm_mask = arm_mask;
        return 0;
}

ISCHED_EXPORT int isched_policy_get_params(const struct isched_policy *policy,
                                           struct isched_policy_params *ret_params)
{
        if (!policy || !ret_params)
                return isched__error(-EINVAL, "isched_policy_get_params: NULL argument");
        *ret_params = policy->params;
        return 0;
}

ISCHED_EXPORT uint64_t isched_policy_get_rounds(const struct isched_policy *policy)
{
        return policy ? policy->rounds : 0;
}

void isched__policy_rng_get(const struct isched_policy *p, uint32_t state[ISCHED_POLICY_RNG_WORDS])
{
        const unsigned long *s = gsl_rng_state(p->rng);

        /* taus2 keeps three 32-bit values in unsigned longs. */
        for (unsigned i = 0; i < ISCHED_POLICY_RNG_WORDS; i++)
                state[i] = (uint32_t)s[i];
}

int isched__policy_rng_set(struct isched_policy *p, const uint32_t state[ISCHED_POLICY_RNG_WORDS])
{
        unsigned long *s = gsl_rng_state(p->rng);

        if (gsl_rng_size(p->rng) != ISCHED_POLICY_RNG_WORDS * sizeof(unsigned long))
                return isched__error(-ENOTSUP, "this GSL's taus2 state has an unexpected size");
        /* taus2 needs s1 > 1, s2 > 7, s3 > 15 (its seeding enforces it). */
        if (state[0] < 2 || state[1] < 8 || state[2] < 16)
                return isched__error(-EINVAL, "rng state [%u, %u, %u] is not a taus2 state",
                                     state[0], state[1], state[2]);
        for (unsigned i = 0; i < ISCHED_POLICY_RNG_WORDS; i++)
                s[i] = state[i];
        return 0;
}
