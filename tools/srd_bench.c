/* SPDX-License-Identifier: MIT */
/*
 * srd_bench.c -- srd-bench: embedded-mode srd measured against LMDB.
 * This file is the command line and the run; each section of
 * measurements has its own file (bench_machine.c, bench_gets.c,
 * bench_puts.c, bench_open.c, bench_stream.c, bench_index.c; the common
 * helpers in bench_embed.c), and the daemon and transport sections are
 * bench_daemon.c and bench_transport.c.
 *
 * Each benchmark runs srd and LMDB in the same process, on the same keys
 * ("key%08d") and values, interleaving their repetitions, and prints the
 * absolute figures, the srd/LMDB ratio (> 1 always means srd is better) and
 * the targets of docs/PERFORMANCE.md. Every srd and LMDB call is checked:
 * any failure prints a message and exits non-zero.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <lmdb.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_embed.h"
#include "bench_transport.h"
#include "bench_util.h"
#include "format.h"
#include "srd/srd.h"

enum {
    B_MACHINE = 1u << 0,
    B_GET = 1u << 1,
    B_GET_MANY = 1u << 2,
    B_PUT = 1u << 3,
    B_BATCH = 1u << 4,
    B_OPEN = 1u << 5,
    B_STREAM = 1u << 6,
    B_INDEX = 1u << 7,
    B_DAEMON = 1u << 8,
    B_TRANSPORT = 1u << 9,
    B_ALL = 0x3ffu
};

static const struct {
    const char *name;
    unsigned bit;
    const char *what;
} bench_names[] = {
    {"machine", B_MACHINE, "DRAM miss, memcpy, fdatasync, CRC-32"},
    {"get", B_GET, "random srd_get vs mdb_get, 8 B and 100 B values"},
    {"get_many", B_GET_MANY, "srd_get_many in batches of 16 and 64"},
    {"put", B_PUT, "single puts, sync never and always"},
    {"batch", B_BATCH, "srd_put_batch of 1000 entries"},
    {"open", B_OPEN, "open + first get + close of the N-key store"},
    {"stream", B_STREAM, "streaming write and read of one large value"},
    {"index", B_INDEX, "index and file bytes per live key"},
    {"daemon", B_DAEMON, "srdd + client processes: reads, puts, visibility"},
    {"transport", B_TRANSPORT,
     "request-path candidates: seqpacket+epoll, NNG, shm+futex, Redis"},
};

/* ======================================================================== */
/* Main                                                                     */
/* ======================================================================== */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: srd-bench [--dir DIR] [--keys N] [--quick] "
            "[--only NAME[,NAME]] [--json] [--srdd PATH] [--reps N]\n"
            "  --dir DIR   create the work directory in DIR (default /tmp);\n"
            "              it is removed at the end\n"
            "  --keys N    keys in the get/put stores (default 1000000;\n"
            "              20000 with --quick)\n"
            "  --quick     small sizes, for a CI smoke run (< 30 s)\n"
            "  --only LIST comma-separated benchmarks to run (default all):\n");
    for (size_t i = 0; i < sizeof bench_names / sizeof bench_names[0]; i++)
        fprintf(f, "                %-9s %s\n", bench_names[i].name,
                bench_names[i].what);
    fprintf(f, "  --json      print the results as JSON instead of a table\n"
               "  --srdd PATH srdd for the daemon section (default: the build\n"
               "              tree's daemon/srdd next to srd-bench)\n"
               "  --reps N    repetitions of the short measurements (default\n"
               "              5, 3 with --quick; 1..15): at 10M keys the get\n"
               "              section makes 6 x N passes of 10M gets per size\n");
}

static unsigned parse_only(const char *arg)
{
    unsigned bits = 0;
    char *copy = strdup(arg), *save = NULL;
    if (copy == NULL)
        die("out of memory");
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof bench_names / sizeof bench_names[0]; i++)
            if (strcmp(t, bench_names[i].name) == 0)
                break;
        if (i == sizeof bench_names / sizeof bench_names[0]) {
            fprintf(stderr, "srd-bench: unknown benchmark '%s'\n", t);
            usage(stderr);
            free(copy);
            exit(2);
        }
        bits |= bench_names[i].bit;
    }
    free(copy);
    if (bits == 0) {
        usage(stderr);
        exit(2);
    }
    return bits;
}

static void cfg_sizes(bench_cfg *c)
{
    if (c->quick) {
        c->reps = 3;
        c->slow_reps = 1;
        c->chase_bytes = 64u << 20;
        c->chase_hops = 1000000;
        c->memcpy_bytes = 32u << 20;
        c->crc_bytes = 16u << 20;
        c->fsync_iters = 20;
        c->single_puts = 20000;
        c->sync_puts = 50;
        c->sync_batch_entries = 5000;
        c->stream_bytes = 16u << 20;
    } else {
        c->reps = 5;
        c->slow_reps = 3;
        c->chase_bytes = 1024u << 20;
        c->chase_hops = 10000000;
        c->memcpy_bytes = 256u << 20;
        c->crc_bytes = 64u << 20;
        c->fsync_iters = 200;
        c->single_puts = 200000;
        c->sync_puts = 2000;
        c->sync_batch_entries = 100000;
        c->stream_bytes = 256u << 20;
    }
    if (c->reps_given) /* --reps: the short measurements' count */
        c->reps = c->reps_given;
}

#ifdef SRD_BENCH_DAEMON
/* The daemon section, with srdd from --srdd or beside srd-bench in the
 * build tree (build/tools/srd-bench -> build/daemon/srdd). */
static void run_daemon_section(const bench_cfg *cfg)
{
    char guess[PATH_MAX + 32];
    const char *srdd = srdd_path(cfg, guess, sizeof guess);
    bench_daemon_cfg d = {
        .srdd = srdd,
        .keys = cfg->quick ? 20000 : 200000,
        .gets = cfg->quick ? 200000 : 2000000,
        .rtts = cfg->quick ? 2000 : 20000,
        .puts = cfg->quick ? 50000 : 1000000,
        .visibility = cfg->quick ? 200 : 2000,
        .seconds = cfg->quick ? 0.5 : 2.0,
        .reps = cfg->slow_reps,
    };
    bench_daemon(&d);
}
#endif

/* One line describing the machine, for the header and the JSON. */
static void machine_line(char *out, size_t cap)
{
    char model[128] = "unknown CPU", line[256], thp[64] = "?";
    struct utsname u;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *c = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && c) {
                snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        }
        fclose(f);
    }
    f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (fgets(line, sizeof line, f)) {
            char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
            if (a && b)
                snprintf(thp, sizeof thp, "%.*s", (int)(b - a - 1), a + 1);
        }
        fclose(f);
    }
    if (uname(&u) != 0)
        snprintf(u.release, sizeof u.release, "?");
    double mem = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    snprintf(out, cap, "%s, %ld cores, %.1f GiB RAM, Linux %s, THP %s", model,
             sysconf(_SC_NPROCESSORS_ONLN), mem / (MIB * 1024), u.release, thp);
}

/* Parse the command line into *cfg. Returns -1 to go on, or the exit
 * status to leave with (0 after --help, 2 after a usage error). */
static int parse_args(int argc, char **argv, bench_cfg *cfg)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"keys", required_argument, NULL, 'k'},
        {"quick", no_argument, NULL, 'q'},
        {"only", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"srdd", required_argument, NULL, 's'},
        {"reps", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool keys_given = false;
    int c;

    while ((c = getopt_long(argc, argv, "d:k:qo:js:r:h", longopts, NULL)) != -1) {
        char *end;
        unsigned long long v;
        switch (c) {
        case 'd':
            cfg->parent = optarg;
            break;
        case 'k':
            errno = 0;
            v = strtoull(optarg, &end, 10);
            if (errno || *end || v < 1 || v > MAX_KEYS) {
                fprintf(stderr, "srd-bench: --keys wants 1..%u\n", MAX_KEYS);
                return 2;
            }
            cfg->keys = (size_t)v;
            keys_given = true;
            break;
        case 'q':
            cfg->quick = true;
            break;
        case 'r':
            errno = 0;
            v = strtoull(optarg, &end, 10);
            if (errno || *end || v < 1 || v > MAX_REPS) {
                fprintf(stderr, "srd-bench: --reps wants 1..%u\n", MAX_REPS);
                return 2;
            }
            cfg->reps_given = (unsigned)v;
            break;
        case 'o':
            cfg->only = parse_only(optarg);
            break;
        case 'j':
            cfg->json = true;
            break;
        case 's':
            cfg->srdd = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!keys_given)
        cfg->keys = cfg->quick ? 20000 : 1000000;
    return -1;
}

/* Run every benchmark cfg->only selects, adding its rows to the table. */
static void run_benchmarks(const bench_cfg *cfg, const kv_data *kv)
{
    double miss = NAN;
    store_pair p8 = {.vlen = 8}, p100 = {.vlen = 100};

    if (cfg->only & B_MACHINE)
        miss = bench_machine(cfg);
    if (cfg->only & (B_GET | B_GET_MANY | B_OPEN | B_INDEX))
        load_pair(&p8, kv);
    if (cfg->only & (B_GET | B_GET_MANY))
        load_pair(&p100, kv);
    if (cfg->only & B_GET) {
        bench_get(cfg, kv, &p8, miss);
        bench_get(cfg, kv, &p100, miss);
    }
    if (cfg->only & B_GET_MANY) {
        bench_get_many(cfg, kv, &p8);
        bench_get_many(cfg, kv, &p100);
    }
    if (cfg->only & B_PUT)
        bench_put(cfg, kv);
    if (cfg->only & B_BATCH)
        bench_batch(cfg, kv);
    if (cfg->only & B_OPEN)
        bench_open(cfg, kv, &p8);
    if (cfg->only & B_STREAM)
        bench_stream(cfg);
    if (cfg->only & B_INDEX)
        bench_index(kv, &p8);
#ifdef SRD_BENCH_DAEMON
    if (cfg->only & B_DAEMON)
        run_daemon_section(cfg);
#else
    if (cfg->only & B_DAEMON)
        progress("daemon: built without client mode: skipped");
#endif
    if (cfg->only & B_TRANSPORT) {
        bench_transport_cfg t = {.rtts = cfg->quick ? 2000 : 20000,
                                 .seconds = cfg->quick ? 0.5 : 2.0};
        bench_transport(&t);
    }
}

/* Print the results (table or JSON), headed by the machine line plus the
 * load average at the start and now. */
static void print_results(const bench_cfg *cfg, char *machine, size_t cap,
                          double load_start)
{
    double load[3] = {NAN, NAN, NAN};
    if (getloadavg(load, 3) < 1)
        load[0] = NAN;
    snprintf(machine + strlen(machine), cap - strlen(machine),
             ", load %.2f at start, %.2f at end", load_start, load[0]);
    if (cfg->json) {
        print_json(cfg->keys, cfg->quick, machine);
    } else {
        printf("srd-bench: %s\n", machine);
        printf("keys %zu%s; median of %u (short) / %u (long) runs; "
               "srd/base > 1 means srd is better; the baseline is LMDB "
               "unless the row names another\n\n",
               cfg->keys, cfg->quick ? " (--quick: not comparable to targets)" : "",
               cfg->reps, cfg->slow_reps);
        print_table();
    }
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {.parent = "/tmp", .only = B_ALL};
    char machine[512];
    int rc = parse_args(argc, argv, &cfg);
    if (rc >= 0)
        return rc;
    cfg_sizes(&cfg);
    machine_line(machine, sizeof machine);
    workdir_create(cfg.parent);
    progress("%s", machine);
    progress("work directory %s, %zu keys%s", g_workdir, cfg.keys,
             cfg.quick ? ", quick" : "");

    double load_start = NAN;
    if (getloadavg(&load_start, 1) < 1)
        load_start = NAN;
    uint64_t t_start = now_ns();
    kv_data kv;
    kv_init(&kv, cfg.keys);
    run_benchmarks(&cfg, &kv);
    print_results(&cfg, machine, sizeof machine, load_start);
    progress("done in %.1f s", (double)(now_ns() - t_start) / 1e9);
    kv_free(&kv);
    rows_free();
    workdir_remove();
    return 0;
}
