/* SPDX-License-Identifier: MIT */
/*
 * check_errors.c -- tests of libclient/errors.c: every code in
 * SRD_ERRNO_MAP has its own message and name, srd_strerror() and
 * srd_errname() never return NULL, and OS failures wrapped as
 * SRD_ESYSERR | errno render the OS's own text; srdi_errno (errno_map.h),
 * the one errno translation, maps as its table says.
 */
#define _GNU_SOURCE 1 /* strdup under -std=c11 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errno_map.h"
#include "testutil.h"

/* The table as the header defines it, for comparison with the library. */
typedef struct err_row {
    srd_err code;
    const char *name;
    const char *msg;
} err_row;

static const err_row err_table[] = {
#define ERR_ROW_(name, val, msg) {SRD_##name, "SRD_" #name, msg},
    SRD_ERRNO_MAP(ERR_ROW_)
#undef ERR_ROW_
};
#define ERR_COUNT (sizeof err_table / sizeof err_table[0])

/* A code that is certainly outside the table. */
static int err_is_known(int code)
{
    for (size_t i = 0; i < ERR_COUNT; i++)
        if ((int)err_table[i].code == code)
            return 1;
    return 0;
}

START_TEST(test_every_code_has_its_table_message)
{
    for (size_t i = 0; i < ERR_COUNT; i++) {
        const char *m = srd_strerror(err_table[i].code);
        ck_assert_ptr_nonnull(m);
        ck_assert_msg(m[0] != '\0', "%s has an empty message",
                      err_table[i].name);
        ck_assert_str_eq(m, err_table[i].msg);
        ck_assert_msg(strstr(m, "Unknown error") == NULL,
                      "%s renders as unknown: %s", err_table[i].name, m);
    }
}
END_TEST

START_TEST(test_every_code_has_its_name)
{
    for (size_t i = 0; i < ERR_COUNT; i++) {
        const char *n = srd_errname(err_table[i].code);
        ck_assert_ptr_nonnull(n);
        ck_assert_str_eq(n, err_table[i].name);
    }
}
END_TEST

START_TEST(test_codes_names_and_messages_are_distinct)
{
    for (size_t i = 0; i < ERR_COUNT; i++) {
        ck_assert_int_gt(err_table[i].code, 0);
        ck_assert_int_lt(err_table[i].code, SRD_ESYSERR);
        for (size_t j = i + 1; j < ERR_COUNT; j++) {
            ck_assert_int_ne(err_table[i].code, err_table[j].code);
            ck_assert_str_ne(srd_errname(err_table[i].code),
                             srd_errname(err_table[j].code));
            /* Copy: the second call may reuse a static buffer. */
            char *a = strdup(srd_strerror(err_table[i].code));
            ck_assert_str_ne(a, srd_strerror(err_table[j].code));
            free(a);
        }
    }
}
END_TEST

START_TEST(test_ok_has_a_message_and_name)
{
    ck_assert_int_eq(SRD_OK, 0);
    const char *m = srd_strerror(SRD_OK);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(m[0] != '\0', "SRD_OK has an empty message");
    ck_assert_str_eq(srd_errname(SRD_OK), "SRD_OK");
}
END_TEST

START_TEST(test_unknown_positive_codes_render_unknown_error_n)
{
    const int codes[] = {(int)ERR_COUNT + 1, 21, 99, 1000, 65535,
                         0x0fffffff};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (err_is_known(codes[i]))
            continue;
        char want[64];
        snprintf(want, sizeof want, "Unknown error #%d", codes[i]);
        const char *m = srd_strerror((srd_err)codes[i]);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(m, want);
        const char *n = srd_errname((srd_err)codes[i]);
        ck_assert_ptr_nonnull(n);
        ck_assert_msg(n[0] != '\0', "empty name for %d", codes[i]);
        for (size_t j = 0; j < ERR_COUNT; j++)
            ck_assert_str_ne(n, err_table[j].name);
    }
}
END_TEST

START_TEST(test_negative_and_huge_codes_never_return_null)
{
    const int codes[] = {-1, -2, -5, -1000, INT_MIN, INT_MIN + 1, INT_MAX,
                         0x7ffffff0, 0x20000000, 0x30000001};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *m = srd_strerror((srd_err)codes[i]);
        ck_assert_msg(m != NULL, "srd_strerror(%d) is NULL", codes[i]);
        ck_assert_msg(m[0] != '\0', "srd_strerror(%d) is empty", codes[i]);
        const char *n = srd_errname((srd_err)codes[i]);
        ck_assert_msg(n != NULL, "srd_errname(%d) is NULL", codes[i]);
        ck_assert_msg(n[0] != '\0', "srd_errname(%d) is empty", codes[i]);
        /* None of them may pass for a table entry. */
        for (size_t j = 0; j < ERR_COUNT; j++)
            ck_assert_str_ne(m, err_table[j].msg);
    }
}
END_TEST

START_TEST(test_syserr_renders_the_os_message)
{
    const int errs[] = {ENOSPC, EIO, EACCES, ENOENT, EROFS, EMFILE};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        char *os = strdup(strerror(errs[i]));
        srd_err e = (srd_err)(SRD_ESYSERR | errs[i]);
        const char *m = srd_strerror(e);
        ck_assert_ptr_nonnull(m);
        ck_assert_msg(strstr(m, os) != NULL,
                      "srd_strerror(SRD_ESYSERR|%d) = \"%s\", lacks \"%s\"",
                      errs[i], m, os);
        ck_assert_str_eq(srd_errname(e), "SRD_ESYSERR");
        free(os);
    }
}
END_TEST

START_TEST(test_syserr_enospc_differs_from_srd_enospc_code)
{
    /* SRD_ENOSPC (8) and SRD_ESYSERR|ENOSPC (28) are different codes; the
     * wrapped one must not be mistaken for table entry 28 or for 8. */
    srd_err e = (srd_err)(SRD_ESYSERR | ENOSPC);
    ck_assert_int_ne(e, SRD_ENOSPC);
    char *os = strdup(strerror(ENOSPC));
    ck_assert_ptr_nonnull(strstr(srd_strerror(e), os));
    free(os);
    ck_assert_str_eq(srd_errname(SRD_ENOSPC), "SRD_ENOSPC");
}
END_TEST

START_TEST(test_errname_gives_symbolic_names)
{
    ck_assert_str_eq(srd_errname(SRD_ENOTFOUND), "SRD_ENOTFOUND");
    ck_assert_str_eq(srd_errname(SRD_EINVAL), "SRD_EINVAL");
    ck_assert_str_eq(srd_errname(SRD_EBUSY), "SRD_EBUSY");
    ck_assert_str_eq(srd_errname(SRD_ECORRUPT), "SRD_ECORRUPT");
    ck_assert_str_eq(srd_errname(SRD_ECHECKSUM), "SRD_ECHECKSUM");
    ck_assert_str_eq(srd_errname(SRD_ESTATE), "SRD_ESTATE");
    ck_assert_str_eq(srd_strerror(SRD_ENOTFOUND), "key not found");
}
END_TEST

/* The whole errno -> srd_err table of errno_map.h. */
START_TEST(test_errno_translation_table)
{
    static const struct {
        int e;
        srd_err want;
    } rows[] = {
        {ENOSPC, SRD_ENOSPC}, {EDQUOT, SRD_ENOSPC}, {EACCES, SRD_EPERM},
        {EPERM, SRD_EPERM},   {ENOENT, SRD_ENOENT}, {ENOMEM, SRD_ENOMEM},
        {EIO, SRD_EIO},       {0, SRD_EIO},
        {EROFS, (srd_err)(SRD_ESYSERR | EROFS)},
        {EFBIG, (srd_err)(SRD_ESYSERR | EFBIG)},
        {EAGAIN, (srd_err)(SRD_ESYSERR | EAGAIN)},
        {EISDIR, (srd_err)(SRD_ESYSERR | EISDIR)},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        srd_err got = srdi_errno(rows[i].e);
        ck_assert_msg(got == rows[i].want, "srdi_errno(%s) = %s (%d), "
                      "expected %s (%d)", strerror(rows[i].e),
                      srd_errname(got), (int)got,
                      srd_errname(rows[i].want), (int)rows[i].want);
    }
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_code_has_its_table_message);
    tcase_add_test(tc, test_every_code_has_its_name);
    tcase_add_test(tc, test_codes_names_and_messages_are_distinct);
    tcase_add_test(tc, test_ok_has_a_message_and_name);
    tcase_add_test(tc, test_unknown_positive_codes_render_unknown_error_n);
    tcase_add_test(tc, test_negative_and_huge_codes_never_return_null);
    tcase_add_test(tc, test_syserr_renders_the_os_message);
    tcase_add_test(tc, test_syserr_enospc_differs_from_srd_enospc_code);
    tcase_add_test(tc, test_errname_gives_symbolic_names);
    tcase_add_test(tc, test_errno_translation_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(errors_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
