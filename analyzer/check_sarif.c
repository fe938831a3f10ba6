/* `leakshim check --sarif FILE`: the verdict as SARIF 2.1.0, which code review tools (GitHub
 * code scanning, GitLab, IDE viewers) turn into annotations on the source.
 *
 * One run of the tool "leakshim"; one rule per budget kind (the rule ids are the budget
 * names, "max-leaked-bytes", ...); one result per suspect that puts a budget over, with the
 * rule of the first budget it puts over, level "error", located at the suspect's first frame
 * that has a source file and line (the leaking call in the program, usually), with the whole
 * stack in result.stacks and a partial fingerprint of the stack's symbolized identity so that
 * the same leak is the same alert from run to run. File paths under the source root (the
 * working directory unless told) are written relative to the base id SRCROOT, others as
 * file:// URIs. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check_output.h"
#include "json.h"

static const char *const rule_text[BUDGET_KINDS][2] = {
    {"Leaked bytes over budget",
     "The stacks that still hold memory at the end of the run (after suppressions) hold more "
     "bytes than --max-leaked-bytes allows."},
    {"Leaked blocks over budget",
     "The stacks that still hold memory at the end of the run (after suppressions) hold more "
     "blocks than --max-leaked-blocks allows."},
    {"New or grown leak",
     "A stack leaks that did not leak in the baseline, or leaks more than it did by more than "
     "the threshold, and there are more of them than --max-new-suspects allows."},
    {"Heap growth over budget",
     "The leaking stacks grow, in the steady state, faster than --max-growth bytes per second."},
};

/* Writes a URI-reference for a path, percent-encoding what RFC 3986 does not allow as is. */
static void uri_chars(FILE *out, const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/!$&'()*+,;=:@", *p))
            fputc(*p, out);
        else
            fprintf(out, "%%%02X", *p);
    }
}

/* Is `path` inside the directory `root` (absolute, without a trailing slash)? Returns the
 * part after "root/", or NULL. */
static const char *under_root(const char *path, const char *root)
{
    size_t n = root ? strlen(root) : 0;
    if (!n || strncmp(path, root, n) != 0 || path[n] != '/')
        return NULL;
    return path + n + 1;
}

static void artifact_location(FILE *out, const char *path, const char *root)
{
    const char *relative = under_root(path, root);
    fputs("{\"uri\": \"", out);
    if (relative) {
        uri_chars(out, relative);
        fputs("\", \"uriBaseId\": \"SRCROOT\"}", out);
    } else {
        fputs(path[0] == '/' ? "file://" : "", out);
        uri_chars(out, path);
        fputs("\"}", out);
    }
}

/* A location object for one frame: its file and line when known, its function as the
 * logical location. */
static void frame_location(FILE *out, const struct suspect_frame *f, const char *root)
{
    fputc('{', out);
    if (f->sym.file && f->sym.line > 0) {
        fputs("\"physicalLocation\": {\"artifactLocation\": ", out);
        artifact_location(out, f->sym.file, root);
        fprintf(out, ", \"region\": {\"startLine\": %d}}", f->sym.line);
        if (f->sym.function)
            fputs(", ", out);
    }
    if (f->sym.function) {
        fputs("\"logicalLocations\": [{\"name\": ", out);
        json_string(out, f->sym.function);
        fputs(", \"kind\": \"function\"}]", out);
    }
    fputc('}', out);
}

/* FNV-1a, 64 bits, of the stack's identity: the same leak gets the same fingerprint in
 * every run. */
static uint64_t identity_hash(const struct suspect *s)
{
    char *identity = leak_identity(s);
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)(identity ? identity : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    free(identity);
    return h;
}

static void result(FILE *out, const struct gate_suspect *gs, const char *root, int first)
{
    const struct suspect *s = gs->suspect;
    enum budget_kind rule = check_first_offence(gs);
    char message[600];
    check_describe_suspect(gs, message, sizeof message);
    fprintf(out, "%s\n        {\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"error\", "
            "\"message\": {\"text\": ", first ? "" : ",", gate_budget_name(rule), (int)rule);
    json_string(out, message);
    fputs("},\n         \"locations\": [", out);
    const struct suspect_frame *at = gate_source_frame(s);
    if (at) {
        frame_location(out, at, root);
    } else if (s->frame_count && s->frames[0].sym.module) {
        fputs("{\"physicalLocation\": {\"artifactLocation\": ", out);
        artifact_location(out, s->frames[0].sym.module, root);
        fputs("}}", out);
    }
    fprintf(out, "],\n         \"partialFingerprints\": {\"leakStack/v1\": \"%016" PRIx64 "\"},\n"
            "         \"stacks\": [{\"message\": {\"text\": \"allocation stack\"}, \"frames\": [",
            identity_hash(s));
    for (uint32_t i = 0; i < s->frame_count; i++) {
        fputs(i ? ",\n           {\"location\": " : "\n           {\"location\": ", out);
        frame_location(out, &s->frames[i], root);
        if (s->frames[i].sym.module) {
            fputs(", \"module\": ", out);
            json_string(out, s->frames[i].sym.module);
        }
        fputc('}', out);
    }
    fprintf(out, "]}],\n         \"properties\": {\"leakedBytes\": %" PRIu64 ", \"leakedBlocks\": %"
            PRIu64 "}}", s->leaked_bytes, s->leaked_blocks);
}

void check_sarif(FILE *out, const struct check_context *c)
{
    const struct gate *g = c->gate;
    fputs("{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
          "  \"version\": \"2.1.0\",\n  \"runs\": [{\n"
          "    \"tool\": {\"driver\": {\"name\": \"leakshim\", \"rules\": [", out);
    for (int k = 0; k < BUDGET_KINDS; k++) {
        fprintf(out, "%s\n      {\"id\": \"%s\", \"shortDescription\": {\"text\": ", k ? "," : "",
                gate_budget_name((enum budget_kind)k));
        json_string(out, rule_text[k][0]);
        fputs("}, \"fullDescription\": {\"text\": ", out);
        json_string(out, rule_text[k][1]);
        fputs("}, \"defaultConfiguration\": {\"level\": \"error\"}}", out);
    }
    fputs("]}},\n", out);
    if (c->source_root) {
        fputs("    \"originalUriBaseIds\": {\"SRCROOT\": {\"uri\": \"file://", out);
        uri_chars(out, c->source_root);
        fputs("/\"}},\n", out);
    }
    fprintf(out, "    \"invocations\": [{\"executionSuccessful\": true, \"exitCode\": %d}],\n",
            g->failed ? 1 : 0);
    fputs("    \"results\": [", out);
    int first = 1;
    for (size_t i = 0; i < g->count; i++)
        if (g->suspects[i].offends) {
            result(out, &g->suspects[i], c->source_root, first);
            first = 0;
        }
    fputs(first ? "]\n  }]\n}\n" : "\n    ]\n  }]\n}\n", out);
}
