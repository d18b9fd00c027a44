/*
 * borealis.h — the C interface of Borealis, an embeddable SQL database (libborealis.so).
 *
 * Shaped like the sqlite3 API: open a connection, prepare statements, bind parameters, step
 * through rows, read columns, finalize, close. This header is the contract; docs/c-api.md says
 * the same with examples.
 *
 * Threads: one `borealis*` (and its statements) may be used by one thread at a time. Separate
 * connections to the same file from separate threads are fine.
 * Errors: functions return result codes; borealis_errcode/errmsg/sqlstate describe the last
 * failure on a connection. A NULL, closed or finalized handle gives BOREALIS_MISUSE, never a crash.
 * Memory: anything the library hands out that the caller must release is released with
 * borealis_free, and only with it. Other returned pointers belong to the library; each function
 * says how long they stay valid.
 */
#ifndef BOREALIS_H
#define BOREALIS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version this header belongs to; borealis_libversion(_number) give the library's. */
#define BOREALIS_VERSION        "0.2.0"
#define BOREALIS_VERSION_NUMBER 2000     /* MAJOR * 1000000 + MINOR * 1000 + PATCH */

typedef struct borealis borealis;            /* a connection */
typedef struct borealis_stmt borealis_stmt;  /* a prepared statement */

/* Result codes. */
#define BOREALIS_OK          0   /* success */
#define BOREALIS_ERROR       1   /* SQL error (syntax, missing table, …): see borealis_errmsg */
#define BOREALIS_INTERNAL    2   /* an internal error: please report it */
#define BOREALIS_ABORT       4   /* the transaction was rolled back, not committed: COMMIT after an error inside it (SQLSTATE 25P02) */
#define BOREALIS_BUSY        5   /* the write lock is held (busy timeout), another process owns the database (55P03), or a serialization failure (40001) */
#define BOREALIS_NOMEM       7   /* out of memory (53200: a statement past statement_memory) */
#define BOREALIS_READONLY    8   /* a write on a read-only connection or in a READ ONLY transaction (SQLSTATE 25006) */
#define BOREALIS_INTERRUPT   9   /* the statement was interrupted: borealis_interrupt or the progress handler (SQLSTATE 57014) */
#define BOREALIS_IOERR      10   /* an I/O error; after a failed fsync the database refuses writes until reopened */
#define BOREALIS_CORRUPT    11   /* a damaged file: the message names the page or record */
#define BOREALIS_FULL       13   /* the disk is full, or the log reached its hard cap */
#define BOREALIS_CANTOPEN   14   /* the database does not exist and may not be created (read-only open, no BOREALIS_OPEN_CREATE) */
#define BOREALIS_CONSTRAINT 19   /* NOT NULL, UNIQUE, CHECK or FOREIGN KEY violation */
#define BOREALIS_MISMATCH   20   /* a type mismatch */
#define BOREALIS_MISUSE     21   /* the API was used wrongly: NULL or dead handle, wrong order of calls */
#define BOREALIS_RANGE      25   /* a parameter or column index out of range, or a value out of range */
#define BOREALIS_ROW       100   /* borealis_step has a row ready */
#define BOREALIS_DONE      101   /* borealis_step has finished */

/* Column types (borealis_column_type). */
#define BOREALIS_INTEGER 1   /* integers and booleans (0/1) */
#define BOREALIS_FLOAT   2   /* double precision and real */
#define BOREALIS_TEXT    3   /* text, and NUMERIC, dates, times and arrays as PostgreSQL prints them ("2.200", "{1,NULL}") */
#define BOREALIS_BLOB    4   /* bytea */
#define BOREALIS_NULL    5

/* Destructor arguments for borealis_bind_text/_blob. The library always copies the bytes
 * before the bind call returns, so both behave alike; a function pointer is called with the
 * caller's pointer once the copy is made. */
typedef void (*borealis_destructor)(void *);
#define BOREALIS_STATIC    ((borealis_destructor)0)
#define BOREALIS_TRANSIENT ((borealis_destructor)-1)

/* Flags for borealis_open_v2. */
#define BOREALIS_OPEN_READONLY  0x01   /* refuse every write with BOREALIS_READONLY */
#define BOREALIS_OPEN_READWRITE 0x02
#define BOREALIS_OPEN_CREATE    0x04   /* create the database when absent */
#define BOREALIS_OPEN_ARCHIVE   0x08   /* the default, kept for older programs: a continuous archive in FILENAME-archive/ (docs/backup.md §4), history for borealis_restore_archive */
#define BOREALIS_OPEN_NOARCHIVE 0x10   /* keep no history (no FILENAME-archive/); a read-only open never starts an archive either, and ":memory:" keeps none */

/* borealis_options.synchronous. The numbers agree with SQLite's PRAGMA synchronous where the
 * meanings agree (2 is FULL in both; 1 may lose the latest commits on a crash, as SQLite's
 * NORMAL in WAL mode), and 0 is never "off": it is the default, FULL. */
#define BOREALIS_SYNCHRONOUS_DEFAULT 0   /* FULL */
#define BOREALIS_SYNCHRONOUS_OFF     1   /* commit returns before fdatasync: a crash may lose the latest commits, never corrupts (bulk loads, tests) */
#define BOREALIS_SYNCHRONOUS_FULL    2   /* commit returns after fdatasync */

/* Options for borealis_open_v2; pass NULL for the defaults. Start from BOREALIS_OPTIONS_INIT:
 * `size` tells the library which fields this program knows (fields past it keep their
 * defaults, so a program built against an older header keeps working); zero fields keep their
 * default. A size that is not plausible gives BOREALIS_MISUSE.
 *   borealis_options options = BOREALIS_OPTIONS_INIT;
 *   options.busy_timeout_ms = 200;                                                          */
typedef struct borealis_options {
    size_t  size;               /* sizeof(borealis_options) */
    int64_t cache_bytes;        /* page version cache, per database file (default 48 MiB) */
    int     synchronous;        /* BOREALIS_SYNCHRONOUS_*; per database file: a second connection in the process must agree */
    int     busy_timeout_ms;    /* this connection's wait for the write lock, and for another process to close the database (default 5000) */
    int     page_size;          /* for a new database: 4096 … 65536 (default 4096) */
    int64_t archive_retention_seconds; /* history the continuous archive keeps (default 24 hours); < 0: none */
    int64_t archive_retention_bytes;   /* …or until its compressed log reaches this (default 1 GiB), whichever is smaller; < 0: none */
} borealis_options;
#define BOREALIS_OPTIONS_INIT { sizeof(borealis_options), 0, 0, 0, 0, 0, 0 }

/* The library version, "MAJOR.MINOR.PATCH", and as a number (BOREALIS_VERSION_NUMBER's form).
 * Static storage: never free it. */
const char *borealis_libversion(void);
int borealis_libversion_number(void);

/* Opens (creating when absent) the database at `filename` ("PATH"; ":memory:" makes a temporary
 * database removed on close). On success *db is a new connection; on failure *db is either
 * NULL (out of memory) or a connection that only reports the error: call borealis_errmsg, then
 * borealis_close. */
int borealis_open(const char *filename, borealis **db);
int borealis_open_v2(const char *filename, borealis **db, int flags, const borealis_options *options);

/* Closes the connection and finalizes its statements. Closing NULL is a harmless no-op
 * (BOREALIS_OK); closing twice is BOREALIS_MISUSE. */
int borealis_close(borealis *db);

/* Runs every statement in `sql`. For each result row calls callback(ctx, ncols, values, names)
 * (values as text, NULL for SQL NULL; the strings live until the callback returns); a non-zero
 * return stops with BOREALIS_ERROR ("callback requested abort"). On error and when errmsg is not
 * NULL, *errmsg receives a copy of the message to release with borealis_free (else NULL). */
int borealis_exec(borealis *db, const char *sql,
                  int (*callback)(void *ctx, int ncols, char **values, char **names),
                  void *ctx, char **errmsg);

/* Compiles the first statement of `sql` (`nbyte` < 0: up to the NUL). *stmt receives the
 * statement, or NULL when `sql` holds only whitespace or comments. When `tail` is not NULL,
 * *tail points into `sql` just past the statement (also when the statement holds bytes that
 * are not UTF-8, which fail with SQLSTATE 22021). The statement is checked against the schema
 * here: a missing table or column fails the prepare, and the result columns (a SELECT's, or
 * INSERT/UPDATE/DELETE … RETURNING's) are known at once. Release with borealis_finalize. */
int borealis_prepare(borealis *db, const char *sql, int nbyte, borealis_stmt **stmt, const char **tail);

/* Binding parameters: $n, ?, :name and @name parameters are numbered from 1 (each name once,
 * at its first appearance). Out-of-range indexes give BOREALIS_RANGE; binding while a statement
 * is mid-step resets it first. `n` < 0 for text: up to the NUL. */
int borealis_bind_null(borealis_stmt *stmt, int index);
int borealis_bind_int64(borealis_stmt *stmt, int index, int64_t value);
int borealis_bind_double(borealis_stmt *stmt, int index, double value);
int borealis_bind_text(borealis_stmt *stmt, int index, const char *text, int n, borealis_destructor destructor);
int borealis_bind_blob(borealis_stmt *stmt, int index, const void *data, int n, borealis_destructor destructor);
int borealis_bind_parameter_count(borealis_stmt *stmt);
/* The index of the parameter written `name` (with its prefix: ":id", "@id"), 0 when none. */
int borealis_bind_parameter_index(borealis_stmt *stmt, const char *name);
/* The name of parameter `index` as written (":id"), NULL for $n and ? parameters. Valid until
 * the statement is finalized. */
const char *borealis_bind_parameter_name(borealis_stmt *stmt, int index);
int borealis_clear_bindings(borealis_stmt *stmt);

/* Runs the statement: BOREALIS_ROW when a row is ready to read, BOREALIS_DONE when finished,
 * an error code otherwise. After DONE or an error, call borealis_reset before stepping again.
 * A SELECT streams: rows are computed as the steps reach them (a batch at a time), reading one
 * snapshot from the first step until DONE, an error, borealis_reset or borealis_finalize
 * (writes made meanwhile, by this connection too, are not seen); reset or finalize a SELECT
 * you stop reading early so that its snapshot ends. An error in a row is returned by the step
 * that reaches it. Other statements, and a SELECT inside a transaction block that has written,
 * run completely at the first step. */
int borealis_step(borealis_stmt *stmt);

/* Result columns are numbered from 0. borealis_column_count and _name answer right after
 * prepare (0 for statements that return no rows). Pointers from _column_name, _column_text and
 * _column_blob stay valid until the next borealis_step, borealis_reset or borealis_finalize of
 * the statement. A bad index gives 0, 0.0, NULL or BOREALIS_NULL (and errcode BOREALIS_RANGE). */
int borealis_column_count(borealis_stmt *stmt);
const char *borealis_column_name(borealis_stmt *stmt, int column);
/* The type of a result column as PostgreSQL names it ("integer", "text", "numeric",
 * "timestamp", "integer[]", …): a table column's declared type, a CAST's, or the type an expression yields
 * ("bigint" for count(*), "integer" for an integer column + 1); NULL where the type is known
 * only row by row (a NULL literal, a scalar subquery). Valid until the statement is finalized. */
const char *borealis_column_decltype(borealis_stmt *stmt, int column);
int borealis_column_type(borealis_stmt *stmt, int column);
int64_t borealis_column_int64(borealis_stmt *stmt, int column);
double borealis_column_double(borealis_stmt *stmt, int column);
const unsigned char *borealis_column_text(borealis_stmt *stmt, int column);
const void *borealis_column_blob(borealis_stmt *stmt, int column);
int borealis_column_bytes(borealis_stmt *stmt, int column);

/* Makes the statement ready to run again; bindings are kept. */
int borealis_reset(borealis_stmt *stmt);
/* Destroys the statement. Finalizing NULL is a no-op; finalizing twice is BOREALIS_MISUSE. */
int borealis_finalize(borealis_stmt *stmt);

/* The last result code, message and SQLSTATE of the connection. The strings stay valid until
 * the next call on the connection that changes them (a call that succeeds after a success
 * changes nothing). */
int borealis_errcode(borealis *db);
const char *borealis_errmsg(borealis *db);
const char *borealis_sqlstate(borealis *db);
/* The English text of a result code (static storage). */
const char *borealis_errstr(int code);

/* Rows changed by the last INSERT, UPDATE or DELETE, and the row id of the last inserted row. */
int64_t borealis_changes(borealis *db);
int64_t borealis_last_insert_rowid(borealis *db);

/* Read replicas (docs/replicas.md). A replica is a read-only borealis* with its own page cache
 * and apply thread, following the durable commits of `primary`'s database; every read function
 * accepts it, writes on it fail with BOREALIS_READONLY, and borealis_close closes it (before or
 * after the primary). *replica is NULL on failure (the error is on `primary`). */
int borealis_replica_open(borealis *primary, borealis **replica);
/* The commit LSN of the last write transaction committed on this connection (0 before any). */
int64_t borealis_last_commit_lsn(borealis *db);
/* BOREALIS_OK once the replica's read point has reached `lsn` (at once on a non-replica),
 * BOREALIS_BUSY when timeout_ms passes first; an error if the replica was detached. */
int borealis_replica_wait(borealis *replica, int64_t lsn, int timeout_ms);
/* How far the replica is behind the durable state: log bytes and seconds (either pointer may be
 * NULL). BOREALIS_MISUSE on a non-replica; an error (SQLSTATE 55000) if it was detached. */
int borealis_replica_lag(borealis *replica, int64_t *lag_bytes, double *lag_seconds);
/* Failover: turns the replica into a read-write connection once the writer is closed or has
 * failed; no durable commit is lost. */
int borealis_replica_promote(borealis *replica);

/* Integrity check, online backup and restore (docs/backup.md).
 *
 * Progress callbacks get (ctx, pages done, pages in all) after each run of 256 pages (a
 * point-in-time restore: then every megabyte of log replayed), on the calling thread; a
 * non-zero return cancels with BOREALIS_INTERRUPT (SQLSTATE 57014) and leaves nothing behind.
 * Text the library hands out here is released with borealis_free. */
typedef int (*borealis_backup_progress)(void *ctx, int64_t pages_done, int64_t pages_total);

/* Checks the whole database at one snapshot (writers keep committing): page and log checksums,
 * B+tree invariants, every page owned once, the free list, every index against its table, the
 * catalog. BOREALIS_OK when sound; BOREALIS_CORRUPT (SQLSTATE XX001) when problems were found;
 * another code when the check could not run. When `report` is not NULL, *report receives the
 * report (one line per problem, or one "ok: …" line), or the error message; free it with
 * borealis_free. */
int borealis_check(borealis *db, char **report);
/* Writes a consistent, zstd-compressed copy of the database as of one LSN to `path`, a new file
 * (SQLSTATE 58P02 when it exists), while other connections keep committing. The file is written
 * as `path`.partial and renamed when complete: `path` never names a partial backup. Errors are
 * on `db` (borealis_errmsg). `progress` may be NULL. */
int borealis_backup(borealis *db, const char *path, borealis_backup_progress progress, void *ctx);
/* Reads a whole backup and checks every checksum. BOREALIS_OK when it is complete and intact;
 * BOREALIS_CORRUPT (XX001) when partial, torn or damaged; BOREALIS_CANTOPEN when missing. When
 * `report` is not NULL, *report receives a one-line summary or the error (borealis_free). */
int borealis_check_backup(const char *path, char **report);
/* Restores the backup at `backup` into a new database at `path`, never over an existing one
 * (58P02). A damaged or partial backup is refused (BOREALIS_CORRUPT) and leaves nothing at
 * `path`. Open the result with borealis_open. On error and when errmsg is not NULL, *errmsg
 * receives the message (borealis_free), else NULL. `progress` may be NULL. */
int borealis_restore(const char *backup, const char *path, borealis_backup_progress progress, void *ctx, char **errmsg);
/* Point-in-time restore (docs/backup.md §5): restores `backup`, then replays the log of
 * `source` (the database the backup was taken of, open or closed, which kept its history with
 * retention on) up to the target, into a new database at `path`. `kind`: BOREALIS_RESTORE_LATEST
 * (value ignored), BOREALIS_RESTORE_LSN (the last commit with commit LSN <= value) or
 * BOREALIS_RESTORE_TIME (the last commit at or before value, microseconds since 1970 UTC). A target
 * outside the available window fails with BOREALIS_RANGE (SQLSTATE 22023) and a message naming
 * the window; a gap in the log is never restored past. errmsg as for borealis_restore;
 * `progress` as for borealis_restore_archive. */
#define BOREALIS_RESTORE_LATEST 0
#define BOREALIS_RESTORE_LSN    1
#define BOREALIS_RESTORE_TIME   2
int borealis_restore_to(const char *backup, const char *source, const char *path, int kind, int64_t value,
                        borealis_backup_progress progress, void *ctx, char **errmsg);
/* Point-in-time restore from the continuous archive of `source` (a database opened with the
 * continuous archive on; open or closed), into a new database at `path`: the newest base image
 * at or before the target whose manifest verifies, then the archived and live log replayed up
 * to the target (docs/backup.md §5). No backup is named. `kind` and `value` as for
 * borealis_restore_to. A target outside the window [oldest base image, newest commit] fails
 * with BOREALIS_RANGE (SQLSTATE 22023) and a message naming the window and any missing or
 * damaged archive object; no archive: BOREALIS_CANTOPEN (58P01). On error and when errmsg is
 * not NULL, *errmsg receives the message (free it with borealis_free), else NULL. `progress`
 * (may be NULL) counts the whole restore in pages: the base image's, then the log replayed (a
 * page's worth of log bytes each, reported every megabyte of log). */
int borealis_restore_archive(const char *source, const char *path, int kind, int64_t value,
                             borealis_backup_progress progress, void *ctx, char **errmsg);

/* Makes the statement running on `db` stop with BOREALIS_INTERRUPT (SQLSTATE 57014) at its next
 * page of work; its transaction then behaves as after any failed statement. Safe from any
 * thread (a signal handler should not call it: use a thread that waits for the signal). Does
 * nothing when no statement runs. */
void borealis_interrupt(borealis *db);
/* Calls callback(ctx) on the statement's thread every `units` units of work (a unit is one page
 * read) while a statement of `db` runs; a non-zero return interrupts it (BOREALIS_INTERRUPT).
 * `units` < 1 or a NULL callback removes the handler. */
int borealis_progress_handler(borealis *db, int units, int (*callback)(void *ctx), void *ctx);
/* How long this connection waits for another connection's write transaction (and, when
 * opening, for another process to close the database) before BOREALIS_BUSY. 0: no wait. */
int borealis_busy_timeout(borealis *db, int milliseconds);

/* Releases memory the library handed out (borealis_exec's *errmsg). NULL is a no-op. */
void borealis_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif /* BOREALIS_H */
