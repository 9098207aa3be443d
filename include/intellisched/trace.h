/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file trace.h
 * Counter traces: a recording of the counter snapshots of one or more
 * cpupools, replayed later by the "replay" backend.
 *
 * A trace is a JSON-lines file (docs/trace-format.md): a header line
 * naming the format, its version and the pools, then one line per
 * snapshot.  The writer writes each line whole with one write(2) call, so
 * a crash of the writing process loses at most the line being written;
 * the reader silently drops such a torn last line.
 */
#ifndef INTELLISCHED_TRACE_H
#define INTELLISCHED_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "common.h"
#include "counters.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The "schema" member of the header this library writes (docs/json.md). */
#define ISCHED_TRACE_SCHEMA "isched-trace-v3"

/** The trace format version this library writes; it also reads version 2
 *  (whose header has "format": ISCHED_TRACE_FORMAT_V2, "version": 2). */
#define ISCHED_TRACE_VERSION 3
#define ISCHED_TRACE_FORMAT_V2 "intellisched-trace"

/** The longest line the reader accepts, in bytes (a header listing many pools is the longest). */
#define ISCHED_TRACE_MAX_LINE (1024 * 1024)

/** The most pools a trace may list. */
#define ISCHED_TRACE_MAX_POOLS 1024

struct isched_trace_writer;
struct isched_trace_reader;

/**
 * Create (or replace) a trace file and write its header.
 *
 * The file is created with mode 0600 (subject to the umask), like model
 * files; a symbolic link at @p path is refused.  The header records each
 * pool's id, name, scheduler, pCPU count, arrangement, whether it could be
 * switched and the runqueue counts of each arrangement.
 *
 * @param pools the pools whose snapshots will be appended, e.g. from
 *        isched_backend_list_pools(); ids must be distinct, names non-empty.
 * @param n_pools 1 .. ISCHED_TRACE_MAX_POOLS.
 * @param ret_writer written on success; release with isched_trace_writer_free().
 * @return 0; -EINVAL for a bad argument (the detail names it); -ELOOP if
 *         @p path is a symbolic link; -ENOMEM; other -errno from the file system.
 */
int isched_trace_writer_new(const char *path, const struct isched_pool_info *pools, size_t n_pools,
                            struct isched_trace_writer **ret_writer);

/**
 * Append one snapshot of a pool as one line, written to the file before
 * the call returns (not fsync'ed: a power failure can lose the lines the
 * kernel had not yet written back).  If the write fails, the file is cut
 * back to its last complete line.
 *
 * @param pool_id a pool listed in the header.
 * @param counters the snapshot; its version must be ISCHED_COUNTERS_VERSION,
 *        its arrangement valid and its valid mask made of isched_counter_bit.
 * @return 0; -EINVAL for a bad argument; -ENOENT for a pool not in the
 *         header; -EFBIG past the size limit; -ENOMEM; -errno of the
 *         failed write (e.g. -ENOSPC).
 */
int isched_trace_writer_append(struct isched_trace_writer *writer, uint32_t pool_id,
                               const struct isched_counters *counters);

/**
 * Limit the trace's size: an append that would make the file larger than
 * @p max_bytes is refused with -EFBIG and writes nothing (the trace stays
 * a complete, replayable file).  0, the default, is no limit.
 *
 * @return 0 or -EINVAL.
 */
int isched_trace_writer_set_max_bytes(struct isched_trace_writer *writer, uint64_t max_bytes);

/**
 * Flush the trace to disk (fsync), close it and free the writer.  Every
 * appended line was already written; an fsync failure is not reported.
 * NULL-safe.
 *
 * @return NULL.
 */
struct isched_trace_writer *isched_trace_writer_free(struct isched_trace_writer *writer);

/**
 * Open a trace and check all of it: the header and every record.  A
 * malformed file is refused here, with the line and the field named in
 * the detail, rather than in the middle of a replay.  A last line without
 * its newline that does not parse is a write torn by a crash and is
 * dropped without an error; blank lines are skipped.
 *
 * @param ret_reader written on success; positioned before the first record.
 * @return 0; -EINVAL for a missing argument or a malformed file; -EPROTO
 *         for a trace of another format version; -ENOENT if the file does
 *         not exist; -ENOMEM; other -errno from the file system.
 */
int isched_trace_reader_open(const char *path, struct isched_trace_reader **ret_reader);

/**
 * The pools of the trace header.
 *
 * @param ret_pools written with an array owned by the reader, valid until
 *        it is freed.  Where the header omits them, the arrangement is
 *        "socket" (Xen's default) and the runqueue counts are 0 (unknown).
 * @param ret_n written with the array's length (at least 1).
 * @return 0 or -EINVAL.
 */
int isched_trace_reader_get_pools(const struct isched_trace_reader *reader,
                                  const struct isched_pool_info **ret_pools, size_t *ret_n);

/**
 * Read the next record, in file order.
 *
 * @param ret_pool_id written with the record's pool id.
 * @param ret_counters written with its snapshot.
 * @return 0; -ENODATA at the end of the trace; -EINVAL if the file
 *         changed since it was opened and a line no longer parses (the
 *         detail names it); other -errno from reading.
 */
int isched_trace_reader_next(struct isched_trace_reader *reader, uint32_t *ret_pool_id,
                             struct isched_counters *ret_counters);

/**
 * The line number (from 1, the header) of the record isched_trace_reader_next()
 * returned last; 1 before the first record or for NULL.
 */
unsigned long isched_trace_reader_get_line(const struct isched_trace_reader *reader);

/** Close and free. NULL-safe. @return NULL. */
struct isched_trace_reader *isched_trace_reader_free(struct isched_trace_reader *reader);

#ifdef __cplusplus
}
#endif

#endif
