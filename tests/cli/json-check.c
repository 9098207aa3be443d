/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json-check SCHEMA FILE [--lines]: validate a JSON document (or, with
 * --lines, every line of a JSON-lines file) against one of docs/'s JSON
 * Schemas with the validator of json-schema.c.  Exit 0 if valid, 1 with
 * the first violation on stderr, 2 on unreadable input.  For
 * tests/cli/test-json.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-schema.h"

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = NULL;
        size_t n = 0, cap = 0;
        int c;

        if (!f)
                return NULL;
        while ((c = getc(f)) != EOF) {
                if (n + 1 >= cap) {
                        char *nb = realloc(buf, cap = cap ? 2 * cap : 4096);

                        if (!nb) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = nb;
                }
                buf[n++] = (char)c;
        }
        fclose(f);
        if (!buf)
                buf = calloc(1, 1);
        else
                buf[n] = '\0';
        return buf;
}

static int check(const cJSON *schema, const char *text, const char *where)
{
        cJSON *doc = cJSON_Parse(text);
        char err[512];
        bool ok;

        if (!doc) {
                fprintf(stderr, "%s: not JSON\n", where);
                return 1;
        }
        ok = json_schema_validate(schema, schema, doc, err, sizeof(err));
        cJSON_Delete(doc);
        if (!ok)
                fprintf(stderr, "%s: %s\n", where, err);
        return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
        char *schema_text, *text, where[4200];
        cJSON *schema;
        int rc = 0;

        if (argc < 3) {
                fprintf(stderr, "usage: json-check SCHEMA FILE [--lines]\n");
                return 2;
        }
        schema_text = slurp(argv[1]);
        text = slurp(argv[2]);
        schema = schema_text ? cJSON_Parse(schema_text) : NULL;
        if (!schema || !text) {
                fprintf(stderr, "json-check: cannot read %s\n", !schema ? argv[1] : argv[2]);
                return 2;
        }
        if (argc > 3 && strcmp(argv[3], "--lines") == 0) {
                unsigned long line = 0, n = 0;

                for (char *p = text, *nl; *p && rc == 0; p = nl ? nl + 1 : p + strlen(p)) {
                        nl = strchr(p, '\n');
                        if (nl)
                                *nl = '\0';
                        line++;
                        if (!*p)
                                continue;
                        snprintf(where, sizeof(where), "%s:%lu", argv[2], line);
                        rc = check(schema, p, where);
                        n++;
                        if (!nl)
                                break;
                }
                if (rc == 0 && n == 0) {
                        fprintf(stderr, "%s: no lines\n", argv[2]);
                        rc = 1;
                }
        } else {
                rc = check(schema, text, argv[2]);
        }
        cJSON_Delete(schema);
        free(schema_text);
        free(text);
        return rc;
}
