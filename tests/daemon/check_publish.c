/* SPDX-License-Identifier: MIT */
/*
 * check_publish.c -- tests of daemon/publish.c and the peer count of
 * daemon/listen.c: with no subscriber connected an update is not sent
 * (nor counted as a drop); a subscriber that connects is counted and
 * receives every update published from then on; one that leaves is no
 * longer counted. Real NNG sockets over ipc in a fresh folder.
 */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "publish.h"
#include "testutil.h"
#include "wire.h"

static char *g_dir;
static char g_url[512];
static publisher *g_pub;

static void setup(void)
{
    g_dir = tu_tmpdir();
    snprintf(g_url, sizeof g_url, "ipc://%s/s.pub", g_dir);
    char why[256] = "";
    ck_assert_msg(publish_open(g_url, 0600, &g_pub, why) == SRD_OK, "%s", why);
}

static void teardown(void)
{
    publish_close(g_pub);
    tu_rmtree(g_dir);
    free(g_dir);
}

/* Wait (at most 10 s: a bound on a hang, not a timed assertion) until
 * listen_guard_has_peers says want. */
static bool peers_become(bool want)
{
    for (int i = 0; i < 10000; i++) {
        if (listen_guard_has_peers(publish_guard(g_pub)) == want)
            return true;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static nng_socket sub_dial(void)
{
    nng_socket s;
    ck_assert_int_eq(nng_sub0_open(&s), 0);
    ck_assert_int_eq(nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
    ck_assert_int_eq(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000), 0);
    ck_assert_int_eq(nng_dial(s, g_url, NULL, 0), 0);
    return s;
}

static void publish_range(uint64_t from, uint64_t to)
{
    srdi_wire_update up = {.generation = 1, .from_tail = from,
                           .to_tail = to};
    publish_send(g_pub, &up);
}

/* The next update s receives covers [from, to). */
static void expect_update(nng_socket s, uint64_t from, uint64_t to)
{
    nng_msg *m = NULL;
    ck_assert_int_eq(nng_recvmsg(s, &m, 0), 0);
    srdi_wire_update up;
    char why[SRDI_WIRE_WHY];
    memset(&up, 0, sizeof up);
    ck_srd(srdi_wire_update_decode(nng_msg_body(m), nng_msg_len(m), 0, &up,
                                   why));
    ck_assert_uint_eq(up.from_tail, from);
    ck_assert_uint_eq(up.to_tail, to);
    srdi_wire_update_free(&up);
    nng_msg_free(m);
}

START_TEST(test_no_subscriber_nothing_sent_nor_dropped)
{
    ck_assert(!listen_guard_has_peers(publish_guard(g_pub)));
    publish_range(0, 64);
    publish_range(64, 128);
    ck_assert_uint_eq(publish_drops(g_pub), 0);
}
END_TEST

START_TEST(test_subscriber_counted_served_and_forgotten)
{
    publish_range(0, 64); /* before anyone listens: skipped */
    nng_socket s = sub_dial();
    ck_assert(peers_become(true));
    /* PUB may still be setting the pipe up after its event: the first
     * update a subscriber gets is one published after it was counted */
    publish_range(64, 128);
    expect_update(s, 64, 128);
    publish_range(128, 192);
    expect_update(s, 128, 192);
    /* A second subscriber after the first left: counted afresh (one
     * dialed while s is still counted could miss the update below, its
     * pipe not yet attached) */
    nng_close(s);
    ck_assert(peers_become(false));
    nng_socket s2 = sub_dial();
    ck_assert(peers_become(true));
    publish_range(192, 256);
    expect_update(s2, 192, 256);
    nng_close(s2);
    ck_assert(peers_become(false));
    publish_range(256, 320);
    ck_assert_uint_eq(publish_drops(g_pub), 0);
}
END_TEST

static Suite *publish_suite(void)
{
    Suite *s = suite_create("publish");
    TCase *tc = tcase_create("peers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_no_subscriber_nothing_sent_nor_dropped);
    tcase_add_test(tc, test_subscriber_counted_served_and_forgotten);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(publish_suite());
}
