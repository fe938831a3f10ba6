/* `leakshim check --junit FILE`: the verdict as JUnit XML, the format every CI system shows
 * as test results. One test suite; one test case per budget (class leakshim.budget, failed
 * when exceeded) and one per suspect that puts a budget over (class leakshim.suspect, always
 * failed, named after its first frame so that the name stays the same from run to run; the
 * failure's text is the stack). Valid against the Jenkins JUnit schema
 * (tests/schemas/jenkins-junit.xsd), which GitLab and GitHub reporters also read. */
#include <inttypes.h>

#include "check_output.h"
#include "xml.h"

static void attribute(FILE *out, const char *name, const char *value)
{
    fprintf(out, " %s=\"", name);
    xml_text(out, value);
    fputc('"', out);
}

static void budget_case(FILE *out, enum budget_kind kind, const struct budget_result *b)
{
    char text[200];
    check_describe_budget(kind, b, text, sizeof text);
    fputs("    <testcase classname=\"leakshim.budget\"", out);
    attribute(out, "name", gate_budget_name(kind));
    if (b->pass) {
        fputs("/>\n", out);
        return;
    }
    fputs(">\n      <failure", out);
    attribute(out, "type", gate_budget_name(kind));
    attribute(out, "message", text);
    fputs(">", out);
    xml_text(out, text);
    fputs("</failure>\n    </testcase>\n", out);
}

static void suspect_case(FILE *out, size_t rank, const struct gate_suspect *gs)
{
    const struct suspect *s = gs->suspect;
    char name[600], message[600];
    if (s->frame_count)
        check_describe_frame(&s->frames[0], name, sizeof name);
    else
        snprintf(name, sizeof name, "suspect #%zu (no stack recorded)", rank);
    check_describe_suspect(gs, message, sizeof message);
    fputs("    <testcase classname=\"leakshim.suspect\"", out);
    attribute(out, "name", name);
    fputs(">\n      <failure", out);
    attribute(out, "type", gate_budget_name(check_first_offence(gs)));
    attribute(out, "message", message);
    fputs(">", out);
    xml_text(out, message);
    fputc('\n', out);
    for (uint32_t f = 0; f < s->frame_count; f++) {
        check_describe_frame(&s->frames[f], name, sizeof name);
        fputs("    ", out);
        xml_text(out, name);
        fputc('\n', out);
    }
    fputs("</failure>\n    </testcase>\n", out);
}

void check_junit(FILE *out, const struct check_context *c)
{
    const struct gate *g = c->gate;
    size_t tests = 0, failures = 0;
    for (int k = 0; k < BUDGET_KINDS; k++)
        tests += g->budgets[k].set;
    failures = g->failed;
    for (size_t i = 0; i < g->count; i++)
        if (g->suspects[i].offends) {
            tests++;
            failures++;
        }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fprintf(out, "<testsuites name=\"leakshim check\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n",
            tests, failures);
    fputs("  <testsuite name=\"leakshim check\"", out);
    fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n", tests, failures);
    fputs("    <properties>\n      <property name=\"trace\"", out);
    attribute(out, "value", c->trace);
    fputs("/>\n", out);
    if (c->baseline_path) {
        fputs("      <property name=\"baseline\"", out);
        attribute(out, "value", c->baseline_path);
        fputs("/>\n", out);
    }
    fputs("    </properties>\n", out);
    for (int k = 0; k < BUDGET_KINDS; k++)
        if (g->budgets[k].set)
            budget_case(out, (enum budget_kind)k, &g->budgets[k]);
    for (size_t i = 0; i < g->count; i++)
        if (g->suspects[i].offends)
            suspect_case(out, i + 1, &g->suspects[i]);
    fputs("  </testsuite>\n</testsuites>\n", out);
}
