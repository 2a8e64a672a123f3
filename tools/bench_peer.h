/* SPDX-License-Identifier: MIT */
/*
 * bench_peer.h -- srd-bench's baselines outside srd (bench_peer.c): Redis
 * over a Unix socket, plain Unix-socket round trips, many-process
 * round-trip rates and context-switch counts from /proc.
 */
#ifndef SRD_BENCH_PEER_H
#define SRD_BENCH_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PEER_MSG_LEN 64

/* One connection of a client: its socket and a counter for key names. */
typedef struct peer_conn {
    int fd;
    unsigned n;
} peer_conn;

/* One round trip on c (msg: PEER_MSG_LEN bytes); false on an error. */
typedef bool (*peer_round_fn)(peer_conn *c, uint8_t *msg);

/* Voluntary + involuntary context switches of every thread of pid. */
uint64_t peer_ctxsw(pid_t pid);
/* CPU time (user + system, all threads) of pid so far, in us (tick
 * resolution); NAN when it cannot be read. */
double peer_cpu_us(pid_t pid);
void peer_sleep_us(unsigned us);

/* Connect to a Unix socket of the given type, retrying for about 2 s
 * while the server starts; dies on failure. */
int peer_unix_connect(const char *path, int type);
/* A SOCK_SEQPACKET round trip: send msg, read the reply into it. */
bool peer_seq_round(peer_conn *c, uint8_t *msg);

/* Redis: whether redis-server is installed; start one on a Unix socket
 * in the work dir (no TCP, no RDB; appendfsync always or no) and return
 * its pid; one SET of a 64-byte value (keys key000000000, ...). */
bool redis_available(void);
pid_t redis_start(const char *sock, bool always);
bool redis_set_round(peer_conn *c, uint8_t *msg);
void peer_stop(pid_t pid);

/* Median and p99 of n round trips on c, and context switches per round
 * trip of this process and of server (every thread of each). */
typedef struct peer_rtt {
    double med_us, p99_us;
    double client_cs, server_cs;
} peer_rtt;
void peer_time_rounds(peer_round_fn rt, peer_conn *c, pid_t server, size_t n,
                      peer_rtt *out);

/* The floor: n round trips over a SOCK_SEQPACKET socketpair to a forked
 * process that echoes with blocking read/write. */
void peer_pingpong(size_t n, peer_rtt *out);
/* n SETs against a fresh redis-server (appendfsync always or no); false
 * when redis-server is not installed. */
bool peer_redis_rtt(size_t n, bool always, peer_rtt *out);
/* w processes SETting for `seconds` against a fresh redis-server with
 * appendfsync always: SETs per second, NAN when it is not installed. */
double peer_redis_writers(int w, double seconds);

/* w processes, each connected to sock (SOCK_SEQPACKET or SOCK_STREAM),
 * doing round trips for `seconds`: total round trips per second. */
double peer_writers_rate(int w, double seconds, int type, peer_round_fn rt,
                         const char *sock);

#endif
