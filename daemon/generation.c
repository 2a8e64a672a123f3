/* SPDX-License-Identifier: MIT */
/*
 * generation.c -- the store generation and its sidecar (see generation.h).
 * A switch is recognised by the store's count of file switches
 * (srdi_file_state): compaction raises it when it publishes the new file,
 * nothing else does on a writer handle. (An index object's address served
 * before; srdd's writer now replaces its table also after a compaction,
 * when it goes back to the shared index file alone, and a freed address
 * may come back.)
 */
#include "srd_features.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery.h"
#include "generation.h"
#include "log.h"
#include "store_impl.h"

#define GEN_SUFFIX ".generation"

struct generation {
    srd_store *st;
    char *abs;
    pthread_mutex_t mu;     /* view and seen */
    gen_view view;
    uint64_t seen;          /* the store's file switches the view knows */
};

/* The store's file switches, committed tail and file identity, read
 * together (srdi_store_file_state). */
static void gen_probe(srd_store *st, uint64_t *switches, gen_view *v)
{
    srdi_file_state fs;
    srdi_store_file_state(st, &fs);
    *switches = fs.switches;
    v->tail = fs.tail;
    v->dev = fs.dev;
    v->ino = fs.ino;
}

static void gen_save(const generation *g)
{
    char buf[128];
    snprintf(buf, sizeof buf,
             "generation=%" PRIu64 "\ndev=%" PRIu64 "\nino=%" PRIu64 "\n",
             g->view.gen, g->view.dev, g->view.ino);
    if (discovery_put(g->abs, GEN_SUFFIX, buf) != 0)
        log_warn("cannot write %s%s: %m (the generation is still bumped "
                 "in memory; a restart detects the new file by its inode)",
                 g->abs, GEN_SUFFIX);
}

/* Parse the line "<name>=<decimal>" at *p (ending in a newline or the end
 * of the text) into *out and move *p past it. False for anything else: a
 * sign, no digits, a value past 2^64 - 1 (which fscanf would not report). */
static bool gen_field(const char **p, const char *name, uint64_t *out)
{
    size_t n = strlen(name);
    if (strncmp(*p, name, n) != 0 || (*p)[n] != '=')
        return false;
    const char *d = *p + n + 1;
    if (*d < '0' || *d > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(d, &end, 10);
    if (errno != 0 || (*end != '\n' && *end != '\0'))
        return false;
    *out = (uint64_t)v;
    *p = *end ? end + 1 : end;
    return true;
}

/* Parse the sidecar (gen_save's three lines); false when missing or
 * malformed. */
static bool gen_load(const char *abs, gen_view *v)
{
    char name[4200], text[128];
    snprintf(name, sizeof name, "%s%s", abs, GEN_SUFFIX);
    FILE *f = fopen(name, "re");
    if (!f)
        return false;
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    const char *p = text;
    gen_view t = {0};
    if (!gen_field(&p, "generation", &t.gen) || !gen_field(&p, "dev", &t.dev) ||
        !gen_field(&p, "ino", &t.ino))
        return false; /* *v untouched: a half-read record counts as none */
    *v = t;
    return true;
}

srd_err generation_open(srd_store *st, const char *abs, generation **out)
{
    generation *g = calloc(1, sizeof *g);
    if (!g || !(g->abs = strdup(abs))) {
        free(g);
        return SRD_ENOMEM;
    }
    g->st = st;
    pthread_mutex_init(&g->mu, NULL);
    gen_view old = {0};
    bool have = gen_load(abs, &old);
    gen_probe(st, &g->seen, &g->view);
    bool same = have && old.dev == g->view.dev && old.ino == g->view.ino;
    g->view.gen = same ? old.gen : old.gen + 1;
    if (!same) {
        log_info("store file %s (generation %" PRIu64 ")",
                 have ? "replaced since the last run" : "seen first",
                 g->view.gen);
        gen_save(g);
    }
    *out = g;
    return SRD_OK;
}

void generation_close(generation *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->mu);
    free(g->abs);
    free(g);
}

uint64_t generation_current(generation *g, bool *changed)
{
    uint64_t idx;
    gen_view now;
    gen_probe(g->st, &idx, &now);
    pthread_mutex_lock(&g->mu);
    bool bump = idx != g->seen;
    if (bump) {
        now.gen = g->view.gen + 1;
        g->view = now;
        g->seen = idx;
        gen_save(g);
        log_info("store file replaced: generation %" PRIu64 ", tail %" PRIu64,
                 now.gen, now.tail);
    }
    uint64_t gen = g->view.gen;
    pthread_mutex_unlock(&g->mu);
    if (changed)
        *changed = bump;
    return gen;
}

void generation_view(generation *g, gen_view *v)
{
    pthread_mutex_lock(&g->mu);
    *v = g->view;
    pthread_mutex_unlock(&g->mu);
}

void generation_raise(generation *g, uint64_t gen, uint64_t tail)
{
    pthread_mutex_lock(&g->mu);
    if (g->view.gen == gen && tail > g->view.tail)
        g->view.tail = tail;
    pthread_mutex_unlock(&g->mu);
}
