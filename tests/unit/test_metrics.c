/* Unit tests for leakshim watch's exposition and server pieces: label values escaped as the
 * Prometheus text format 0.0.4 says (backslash, double quote, newline; nothing else), the
 * exact lines of the stack and alert metrics, and the --listen address forms (a bare port is
 * loopback, an implicit wildcard or a host name is refused). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_server.h"
#include "metrics.h"
#include "replay.h"

/* What `write` printed, as a string the caller frees. */
static char *capture(void (*write)(FILE *, const void *), const void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    write(out, arg);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void write_label(FILE *out, const void *arg) { metrics_label_value(out, arg); }
static void write_metrics(FILE *out, const void *arg) { metrics_write(out, arg); }

static void test_label_escaping(void **state)
{
    (void)state;
    char *text = capture(write_label, "a\\b\"c\nd<e>{f}=g,h\tü");
    assert_string_equal(text, "a\\\\b\\\"c\\nd<e>{f}=g,h\tü");
    free(text);
}

static void test_stack_and_alert_lines(void **state)
{
    (void)state;
    static struct replay r;
    assert_int_equal(replay_init(&r), 0);
    r.summary.live_bytes = 4096;
    r.process.pid = 77;
    snprintf(r.process.exe, sizeof r.process.exe, "/srv/a \"b\"");
    const struct metrics_stack stacks[] = {{"leak<handle\"x\"<main", 2048.5, 10240},
                                           {"other\\one", 1, 8}};
    struct metrics_view v = {&r, 12.5, 100, stacks, 2, 0, {1, 0}, {2, 0}};
    char *text = capture(write_metrics, &v);
    static const char *const expected[] = {
        "\nleakshim_live_bytes 4096\n",
        "\nleakshim_process_info{pid=\"77\",exe=\"/srv/a \\\"b\\\"\"} 1\n",
        "\nleakshim_heap_growth_bytes_per_second 12.5\n",
        "\n# TYPE leakshim_stack_growth_bytes_per_second gauge\n"
        "leakshim_stack_growth_bytes_per_second{stack=\"leak<handle\\\"x\\\"<main\"} 2048.5\n"
        "leakshim_stack_growth_bytes_per_second{stack=\"other\\\\one\"} 1\n",
        "\nleakshim_stack_live_bytes{stack=\"leak<handle\\\"x\\\"<main\"} 10240\n",
        "\nleakshim_learning 0\n",
        "\nleakshim_alert_active{kind=\"growth\"} 1\nleakshim_alert_active{kind=\"rate\"} 0\n",
        "\n# TYPE leakshim_alerts_total counter\nleakshim_alerts_total{kind=\"growth\"} 2\n",
    };
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
        if (!strstr(text, expected[i]))
            fail_msg("missing:\n%s\nin:\n%s", expected[i], text);
    free(text);
    replay_free(&r);
}

static void test_listen_addresses(void **state)
{
    (void)state;
    char error[256];
    struct http_server *s = http_server_open("0", error, sizeof error);
    assert_non_null(s);
    assert_true(strncmp(http_server_address(s), "127.0.0.1:", 10) == 0);
    assert_true(atoi(http_server_address(s) + 10) > 0);
    http_server_close(s);
    s = http_server_open("127.0.0.1:0", error, sizeof error);
    assert_non_null(s);
    http_server_close(s);
    static const char *const refused[] = {":9464", "localhost:9464", "1.2.3.4:", "99999",
                                          "[::1:80", "x:y"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        error[0] = 0;
        if (http_server_open(refused[i], error, sizeof error))
            fail_msg("'%s' was accepted", refused[i]);
        assert_true(strstr(error, refused[i]) != NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_stack_and_alert_lines),
        cmocka_unit_test(test_listen_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
