/*  metactl_load_report.c — the load generator's latency histogram, error
    counts and report. */
#include "metactl_load.h"

#include <string.h>

void load_hist_add(load_hist_t *h, uint64_t us)
{
    if (us > UINT32_MAX)
        us = UINT32_MAX;
    h->n++;
    if (us > h->max)
        h->max = us;
    size_t i;
    if (us < 256)
        i = us;
    else {
        int e = 63 - __builtin_clzll(us) - 7;       /* us >> e is in [128, 256) */
        i = 256 + (size_t) (e - 1) * 128 + ((us >> e) - 128);
    }
    h->buckets[i]++;
}

/*  The middle of bucket i. */
static uint64_t bucket_value(size_t i)
{
    if (i < 256)
        return i;
    size_t e = (i - 256) / 128 + 1;
    uint64_t m = (i - 256) % 128 + 128;
    return (m << e) + ((1ull << e) >> 1);
}

uint64_t load_hist_quantile(const load_hist_t *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t) (q * (double) h->n + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < LOAD_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = bucket_value(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

void load_phase_error(load_phase_t *p, const char *code)
{
    p->failed++;
    uint32_t i;
    for (i = 0; i < p->ncodes; i++)
        if (strcmp(p->codes[i].code, code) == 0)
            break;
    if (i == p->ncodes) {
        if (p->ncodes == LOAD_MAX_CODES)
            i = LOAD_MAX_CODES - 1;         /* lump the rest together */
        else {
            p->ncodes++;
            snprintf(p->codes[i].code, sizeof p->codes[i].code, "%s", code);
        }
    }
    p->codes[i].n++;
}

double load_phase_seconds(const load_phase_t *p)
{
    return p->end_us > p->start_us ? (double) (p->end_us - p->start_us) / 1e6 : 0.0;
}

double load_phase_rate(const load_phase_t *p)
{
    double s = load_phase_seconds(p);
    return s > 0 ? (double) p->acked / s : 0.0;
}

static void json_phase(FILE *f, const load_phase_t *p)
{
    fprintf(f, "\"sent\":%llu,\"acked\":%llu,\"failed\":%llu,\"late\":%llu,"
               "\"seconds\":%.3f,\"rate\":%.1f,\"errors\":{",
            (unsigned long long) p->sent, (unsigned long long) p->acked,
            (unsigned long long) p->failed, (unsigned long long) p->late,
            load_phase_seconds(p), load_phase_rate(p));
    for (uint32_t i = 0; i < p->ncodes; i++)
        fprintf(f, "%s\"%s\":%llu", i ? "," : "", p->codes[i].code,
                (unsigned long long) p->codes[i].n);
    fprintf(f, "},\"latency_us\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu}",
            (unsigned long long) load_hist_quantile(&p->lat, 0.50),
            (unsigned long long) load_hist_quantile(&p->lat, 0.90),
            (unsigned long long) load_hist_quantile(&p->lat, 0.99),
            (unsigned long long) p->lat.max);
}

static void table_phase(FILE *f, const load_phase_t *p, const char *what)
{
    fprintf(f, "%-11s %llu sent, %llu acknowledged, %llu failed in %.2f s\n", what,
            (unsigned long long) p->sent, (unsigned long long) p->acked,
            (unsigned long long) p->failed, load_phase_seconds(p));
    fprintf(f, "%-11s %.1f acks/s\n", "rate:", load_phase_rate(p));
    if (p->ncodes) {
        fprintf(f, "%-11s", "errors:");
        for (uint32_t i = 0; i < p->ncodes; i++)
            fprintf(f, " %s=%llu", p->codes[i].code, (unsigned long long) p->codes[i].n);
        if (p->late)
            fprintf(f, " (late replies ignored: %llu)", (unsigned long long) p->late);
        fputc('\n', f);
    }
    fprintf(f, "%-11s p50=%llu p90=%llu p99=%llu max=%llu (µs)\n", "latency:",
            (unsigned long long) load_hist_quantile(&p->lat, 0.50),
            (unsigned long long) load_hist_quantile(&p->lat, 0.90),
            (unsigned long long) load_hist_quantile(&p->lat, 0.99),
            (unsigned long long) p->lat.max);
}

void load_report(FILE *f, const ctl_t *g, const load_args_t *a, const load_phase_t *reg,
                 const load_phase_t *hb, bool interrupted)
{
    if (g->output == CTL_JSON) {
        fprintf(f, "{\"endpoint\":");
        /*  The endpoint is the only free text: escape what JSON needs. */
        fputc('"', f);
        for (const char *s = g->endpoint; *s; s++) {
            if (*s == '"' || *s == '\\')
                fprintf(f, "\\%c", *s);
            else if ((unsigned char) *s < 0x20)
                fprintf(f, "\\u%04x", (unsigned char) *s);
            else
                fputc(*s, f);
        }
        fprintf(f, "\",\"nodes\":%lld,\"target_rate\":%lld,\"duration_s\":%lld,"
                   "\"concurrency\":%lld,\"interrupted\":%s,",
                (long long) a->nodes, (long long) a->rate, (long long) a->duration_s,
                (long long) a->concurrency, interrupted ? "true" : "false");
        json_phase(f, hb);
        if (reg) {
            fprintf(f, ",\"register\":{");
            json_phase(f, reg);
            fputc('}', f);
        }
        fprintf(f, "}\n");
        fflush(f);
        return;
    }
    char target[32];
    if (a->rate)
        snprintf(target, sizeof target, "%lld/s", (long long) a->rate);
    else
        snprintf(target, sizeof target, "unlimited");
    fprintf(f, "load: %lld nodes, target %s heartbeats for %lld s, concurrency %lld, %s%s\n",
            (long long) a->nodes, target, (long long) a->duration_s,
            (long long) a->concurrency, g->endpoint, interrupted ? " (interrupted)" : "");
    if (reg)
        table_phase(f, reg, "register:");
    table_phase(f, hb, "heartbeat:");
    fflush(f);
}
