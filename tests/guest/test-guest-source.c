/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isched-guest's sources: counter parsing, the Prometheus text format,
 * URLs and HTTP responses (guest/guest-source.c). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-source.h"

static void test_counter(void)
{
        static const char *const bad[] = { "", "   ", "-1", "abc", "1e400", "nan", "inf", "0x10", "1,5",
                                           "18446744073709551616" };
        char err[ISCHED_GUEST_ERR_MAX];
        uint64_t v = 0;

        CU_ASSERT_EQUAL(isched_guest_parse_counter("  42\n", 1.0, &v, err), 0);
        CU_ASSERT_EQUAL(v, 42u);
        CU_ASSERT_EQUAL(isched_guest_parse_counter("18446744073709551615 rest", 1.0, &v, err), 0);
        CU_ASSERT_EQUAL(v, UINT64_MAX); /* exact, not through a double */
        CU_ASSERT_EQUAL(isched_guest_parse_counter("12.75", 1.0, &v, err), 0);
        CU_ASSERT_EQUAL(v, 12u);
        CU_ASSERT_EQUAL(isched_guest_parse_counter("1.5e3", 2.0, &v, err), 0);
        CU_ASSERT_EQUAL(v, 3000u);
        CU_ASSERT_EQUAL(isched_guest_parse_counter("7", 1000.0, &v, err), 0);
        CU_ASSERT_EQUAL(v, 7000u);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                CU_ASSERT(isched_guest_parse_counter(bad[i], 1.0, &v, err) < 0);
                CU_ASSERT(strlen(err) > 0);
        }
        CU_ASSERT_EQUAL(isched_guest_parse_counter("1e19", 10.0, &v, err), -ERANGE);
}

static const char exposition[] =
        "# HELP http_requests_total Requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"get\",code=\"200\"} 1027 1395066363000\n"
        "http_requests_total{method=\"post\",code=\"200\"} 3\n"
        "http_requests_total{method=\"get\",code=\"500\",path=\"a\\\"b\\\\c\"} 2.5e1\n"
        "http_requests_totally 999\n"
        "   \n"
        "jobs_done 12\r\n"
        "lat_seconds_sum{} 1.25\n";

static void test_prometheus(void)
{
        char err[ISCHED_GUEST_ERR_MAX];
        double v = 0.0;

        CU_ASSERT_EQUAL(isched_guest_prom_value(exposition, "http_requests_total", &v, err), 0);
        CU_ASSERT_DOUBLE_EQUAL(v, 1027.0 + 3.0 + 25.0, 1e-9);
        CU_ASSERT_EQUAL(isched_guest_prom_value(exposition, "http_requests_total{code=\"200\"}", &v, err), 0);
        CU_ASSERT_DOUBLE_EQUAL(v, 1030.0, 1e-9);
        CU_ASSERT_EQUAL(isched_guest_prom_value(exposition, "http_requests_total{method=\"get\", code=\"200\"}", &v,
                                                err), 0);
        CU_ASSERT_DOUBLE_EQUAL(v, 1027.0, 1e-9);
        CU_ASSERT_EQUAL(isched_guest_prom_value(exposition, "http_requests_total{path=\"a\\\"b\\\\c\"}", &v, err), 0);
        CU_ASSERT_DOUBLE_EQUAL(v, 25.0, 1e-9);
        CU_ASSERT_EQUAL(isched_guest_prom_value(exposition, "jobs_done", &v, err), 0);
        CU_ASSERT_DOUBLE_EQUAL(v, 12.0, 1e-9);
        CU_ASSERT_EQUAL(isched_guest_prom_value(exposition, "lat_seconds_sum", &v, err), 0);
        CU_ASSERT_DOUBLE_EQUAL(v, 1.25, 1e-9);
        CU_ASSERT_EQUAL(isched_guest_prom_value(exposition, "http_requests_total{code=\"404\"}", &v, err), -ENOENT);
        CU_ASSERT_EQUAL(isched_guest_prom_value(exposition, "missing", &v, err), -ENOENT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "missing"));
        CU_ASSERT_EQUAL(isched_guest_prom_value("x{a=\"1\" 3\n", "x", &v, err), -EBADMSG);
        CU_ASSERT_EQUAL(isched_guest_prom_value("x -3\n", "x", &v, err), -EBADMSG);
        CU_ASSERT_EQUAL(isched_guest_prom_value("x NaN\n", "x", &v, err), -EBADMSG);
        CU_ASSERT_EQUAL(isched_guest_prom_value("x\n", "x", &v, err), -EBADMSG);
        CU_ASSERT_EQUAL(isched_guest_prom_value("1x 3\n", "x", &v, err), -EBADMSG);
        CU_ASSERT(isched_guest_prom_check_selector("x{a=\"1\"", err) < 0);
        CU_ASSERT(isched_guest_prom_check_selector("x y", err) < 0);
        CU_ASSERT(isched_guest_prom_check_selector("", err) < 0);
        CU_ASSERT_EQUAL(isched_guest_prom_check_selector("a_b:c{d=\"e\"}", err), 0);
}

static void test_url(void)
{
        char host[64], port[8], err[ISCHED_GUEST_ERR_MAX];
        const char *path;

        CU_ASSERT_EQUAL(isched_guest_parse_url("http://127.0.0.1:9100/metrics", host, sizeof(host), port,
                                               sizeof(port), &path, err), 0);
        CU_ASSERT_STRING_EQUAL(host, "127.0.0.1");
        CU_ASSERT_STRING_EQUAL(port, "9100");
        CU_ASSERT_STRING_EQUAL(path, "/metrics");
        CU_ASSERT_EQUAL(isched_guest_parse_url("http://localhost", host, sizeof(host), port, sizeof(port), &path,
                                               err), 0);
        CU_ASSERT_STRING_EQUAL(port, "80");
        CU_ASSERT_STRING_EQUAL(path, "/");
        CU_ASSERT_EQUAL(isched_guest_parse_url("https://x/", host, sizeof(host), port, sizeof(port), &path, err),
                        -EINVAL);
        CU_ASSERT_EQUAL(isched_guest_parse_url("http://:80/", host, sizeof(host), port, sizeof(port), &path, err),
                        -EINVAL);
        CU_ASSERT_EQUAL(isched_guest_parse_url("http://x:8a/", host, sizeof(host), port, sizeof(port), &path, err),
                        -EINVAL);
}

static void test_http_body(void)
{
        static const char plain[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\njobs 5\n";
        static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      "4\r\njobs\r\n3\r\n 5\n\r\n0\r\n\r\n";
        static const char notfound[] = "HTTP/1.1 404 Not Found\r\n\r\nno";
        static const char broken[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab\r\n";
        char err[ISCHED_GUEST_ERR_MAX], *body = NULL;

        CU_ASSERT_EQUAL_FATAL(isched_guest_http_body(plain, strlen(plain), &body, err), 0);
        CU_ASSERT_STRING_EQUAL(body, "jobs 5\n");
        free(body);
        CU_ASSERT_EQUAL_FATAL(isched_guest_http_body(chunked, strlen(chunked), &body, err), 0);
        CU_ASSERT_STRING_EQUAL(body, "jobs 5\n");
        free(body);
        CU_ASSERT_EQUAL(isched_guest_http_body(notfound, strlen(notfound), &body, err), -EIO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "404"));
        CU_ASSERT_EQUAL(isched_guest_http_body(broken, strlen(broken), &body, err), -EBADMSG);
        CU_ASSERT_EQUAL(isched_guest_http_body("garbage", 7, &body, err), -EBADMSG);
        CU_ASSERT_EQUAL(isched_guest_http_body("HTTP/1.0 200 OK\r\n\r\na\0b", 22, &body, err), -EBADMSG);
}

static void test_command(void)
{
        char err[ISCHED_GUEST_ERR_MAX], *out = NULL;

        CU_ASSERT_EQUAL_FATAL(isched_guest_run_command("echo 99", 2000, &out, err), 0);
        CU_ASSERT_STRING_EQUAL(out, "99\n");
        free(out);
        CU_ASSERT_EQUAL(isched_guest_run_command("echo 1; exit 3", 2000, &out, err), -EIO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "status 3"));
        CU_ASSERT_EQUAL(isched_guest_run_command("sleep 5", 100, &out, err), -ETIMEDOUT);
        CU_ASSERT_EQUAL(isched_guest_read_file("/nonexistent/isched", &out, err), -ENOENT);
}

int isched_test_register(void);
int isched_test_register(void)
{
        CU_pSuite s = CU_add_suite("guest-source", NULL, NULL);

        if (!s)
                return -1;
        if (!CU_add_test(s, "counter parsing", test_counter) ||
            !CU_add_test(s, "Prometheus text format", test_prometheus) ||
            !CU_add_test(s, "URLs", test_url) ||
            !CU_add_test(s, "HTTP responses", test_http_body) ||
            !CU_add_test(s, "commands and files", test_command))
                return -1;
        return 0;
}
