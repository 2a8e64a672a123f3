/* SPDX-License-Identifier: MIT */
/*
 * io.h -- reads that retry EINTR and short counts, for the code that reads
 * store and side files directly (recovery, the synced-tail record, the
 * writer's reads of trailers, the bytes a cut saves). The writer's writes
 * and syncs go through its srdi_sys table instead (writer.h).
 */
#ifndef SRDI_IO_H
#define SRDI_IO_H

#include <stddef.h>
#include <stdint.h>

/* pread until n bytes at off are in buf, end of file or an error; returns
 * how many bytes were read. *err (may be NULL) receives the errno of a
 * read that failed, 0 when it stopped at the end of the file: a short
 * count alone cannot tell a shorter file from an unreadable one. */
size_t srdi_pread_full(int fd, void *buf, size_t n, uint64_t off, int *err);

#endif
