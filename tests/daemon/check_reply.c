/* SPDX-License-Identifier: MIT */
/*
 * check_reply.c -- tests of daemon/reply.c: a status reply decodes to the
 * sequence, error, message and tail it was built from; an error with no
 * message of its own carries srd_strerror's; a success carries none; a
 * cached reply is an exact copy of its bytes.
 */
#include <string.h>

#include <nng/nng.h>

#include "reply.h"
#include "testutil.h"
#include "wire.h"

static void decode(nng_msg *m, srdi_wire_response *rs)
{
    char why[SRDI_WIRE_WHY];
    ck_assert_ptr_nonnull(m);
    ck_srd(srdi_wire_response_decode(nng_msg_body(m), nng_msg_len(m),
                                     SRDI_WIRE_MAX_DEFAULT, rs, why));
}

START_TEST(test_reply_status_carries_its_fields)
{
    nng_msg *m = reply_status(77, SRD_ENOSPC, "disk full at 4096", 123456);
    srdi_wire_response rs;
    decode(m, &rs);
    ck_assert_uint_eq(rs.seq, 77);
    ck_assert_int_eq(rs.error, SRD_ENOSPC);
    ck_assert_str_eq(rs.message, "disk full at 4096");
    ck_assert_uint_eq(rs.committed_tail, 123456);
    ck_assert_uint_eq(rs.n_entries, 0);
    ck_assert(!rs.has_hello && !rs.has_stats && !rs.has_compact);
    srdi_wire_response_free(&rs);
    nng_msg_free(m);
}
END_TEST

START_TEST(test_reply_status_without_message_uses_strerror)
{
    static const char *const empty[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        nng_msg *m = reply_status(1, SRD_EPERM, empty[i], 0);
        srdi_wire_response rs;
        decode(m, &rs);
        ck_assert_str_eq(rs.message, srd_strerror(SRD_EPERM));
        srdi_wire_response_free(&rs);
        nng_msg_free(m);
    }
}
END_TEST

START_TEST(test_reply_status_ok_has_no_message)
{
    nng_msg *m = reply_status(5, SRD_OK, "ignored", 64);
    srdi_wire_response rs;
    decode(m, &rs);
    ck_assert_int_eq(rs.error, SRD_OK);
    ck_assert(rs.message == NULL || rs.message[0] == '\0');
    ck_assert_uint_eq(rs.committed_tail, 64);
    srdi_wire_response_free(&rs);
    nng_msg_free(m);
}
END_TEST

START_TEST(test_reply_bytes_is_an_exact_copy)
{
    nng_msg *orig = reply_status(9, SRD_EBUSY, "stream slots full", 10);
    ck_assert_ptr_nonnull(orig);
    nng_msg *copy = reply_bytes(nng_msg_body(orig), nng_msg_len(orig));
    ck_assert_ptr_nonnull(copy);
    ck_assert_uint_eq(nng_msg_len(copy), nng_msg_len(orig));
    ck_assert(memcmp(nng_msg_body(copy), nng_msg_body(orig),
                     nng_msg_len(orig)) == 0);
    ck_assert(nng_msg_body(copy) != nng_msg_body(orig));
    nng_msg_free(orig);
    nng_msg_free(copy);
}
END_TEST

static Suite *reply_suite(void)
{
    Suite *s = suite_create("reply");
    TCase *tc = tcase_create("reply");
    tcase_add_test(tc, test_reply_status_carries_its_fields);
    tcase_add_test(tc, test_reply_status_without_message_uses_strerror);
    tcase_add_test(tc, test_reply_status_ok_has_no_message);
    tcase_add_test(tc, test_reply_bytes_is_an_exact_copy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(reply_suite());
}
