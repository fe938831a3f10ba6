/* Alert files (alerts.c): time (as watch writes it; time_s is read the same) and kind taken
 * from each line whatever else it holds, JSON string escapes decoded (surrogate pairs
 * included), empty lines skipped, and every kind of bad line rejected with its file and line
 * number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerts.h"

/* Writes `text` to a fresh file and reads it; returns alerts_read's result. */
static int read_text(const char *text, struct alert_list *out, char *error, size_t len)
{
    char path[] = "/tmp/leakshim-alerts-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = alerts_read(path, out, error, len);
    /* the message names the file: keep what follows it */
    if (rc < 0 && strncmp(error, path, strlen(path)) == 0)
        memmove(error, error + strlen(path), strlen(error + strlen(path)) + 1);
    unlink(path);
    return rc;
}

static void test_members_taken_and_others_ignored(void **state)
{
    (void)state;
    struct alert_list list;
    char error[256] = "";
    const char *text =
        "{\"time_s\": 1.5, \"kind\": \"growth\", \"stacks\": [[{\"function\": \"f\"}], []]}\n"
        "\n"
        "  {\"extra\": {\"a\": [true, false, null, -1.5e3, \"x\\\"y\"]}, \"kind\": \"rss\", \"time_s\": 2}\r\n"
        "{\"time_s\": 0, \"kind\": \"a\\u00e9\\ud83d\\ude00\\n\\/\\\\\"}\n"
        "{\"kind\": \"growth\", \"time\": 3.605, \"time_s\": 9}\n";
    assert_int_equal(read_text(text, &list, error, sizeof error), 0);
    assert_int_equal(list.count, 4);
    assert_true(list.items[0].time_s == 1.5);
    assert_string_equal(list.items[0].kind, "growth");
    assert_true(list.items[1].time_s == 2.0);
    assert_string_equal(list.items[1].kind, "rss");
    assert_true(list.items[2].time_s == 0.0);
    assert_string_equal(list.items[2].kind, "a\xc3\xa9\xf0\x9f\x98\x80\n/\\");
    assert_true(list.items[3].time_s == 3.605); /* watch's "time"; the first time given counts */
    assert_string_equal(list.items[3].kind, "growth");
    alerts_free(&list);
}

#define NEEDS                                                                                  \
    ":1: an alert needs \"time\" (a number: seconds since the process started) and \"kind\" "   \
    "(a string)"

static void test_bad_lines_named(void **state)
{
    (void)state;
    static const struct {
        const char *text, *error;
    } cases[] = {
        {"{\"time_s\": 1, \"kind\": \"a\"}\n{\"time_s\": 2, \"kind\": }\n", ":2: not valid JSON"},
        {"{\"time_s\": 1}\n", NEEDS},
        {"{\"time_s\": \"1\", \"kind\": \"a\"}\n", NEEDS},
        {"{\"time\": \"1\", \"kind\": \"a\"}\n", NEEDS},
        {"[1]\n", ":1: not a JSON object"},
        {"{\"time_s\": 1, \"kind\": \"a\"} {}\n", ":1: not one JSON object"},
        {"{\"time_s\": 01, \"kind\": \"a\"}\n", ":1: not valid JSON"},
        {"{\"time_s\": 1, \"kind\": \"a\\q\"}\n", ":1: not valid JSON"},
        {"{\"time_s\": 1, \"kind\": \"a\", \"x\": [1,]}\n", ":1: not valid JSON"},
        {"{\"time_s\": 1, \"kind\": \"a\", \"x\": tru}\n", ":1: not valid JSON"},
        {"{\"time_s\": 1, \"kind\": \"a\n", ":1: not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct alert_list list;
        char error[256] = "";
        assert_int_equal(read_text(cases[i].text, &list, error, sizeof error), -1);
        assert_string_equal(error, cases[i].error);
        assert_int_equal(list.count, 0);
        assert_null(list.items);
    }
}

static void test_nesting_is_bounded(void **state)
{
    (void)state;
    char text[400] = "{\"time_s\": 1, \"kind\": \"a\", \"x\": ";
    size_t n = strlen(text);
    for (int i = 0; i < 100; i++)
        text[n++] = '[';
    text[n] = 0;
    strcat(text, "}\n");
    struct alert_list list;
    char error[256] = "";
    assert_int_equal(read_text(text, &list, error, sizeof error), -1);
    assert_string_equal(error, ":1: nested too deeply");
}

static void test_missing_file(void **state)
{
    (void)state;
    struct alert_list list;
    char error[256] = "";
    assert_int_equal(alerts_read("/nonexistent/alerts", &list, error, sizeof error), -1);
    assert_string_equal(error, "/nonexistent/alerts: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_taken_and_others_ignored),
        cmocka_unit_test(test_bad_lines_named),
        cmocka_unit_test(test_nesting_is_bounded),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
