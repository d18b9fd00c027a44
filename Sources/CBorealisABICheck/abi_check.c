/* A C client of borealis.h that calls every function, including the misuse cases the header
 * promises to survive. Compiled against the hand-written header, so a mismatch between the
 * header and the exported functions fails the build or these checks. */
#include "borealis.h"
#include "borealis_abi_check.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
static char *out;
static int room;

#define CHECK(cond) do { if (!(cond)) { failures++; if (room > 0) { int n = snprintf(out, room, "line %d: %s\n", __LINE__, #cond); if (n > 0) { out += n < room ? n : room; room -= n < room ? n : room; } } } } while (0)

static int rows_seen;
static int count_rows(void *ctx, int ncols, char **values, char **names) {
    (void)ctx;
    rows_seen++;
    if (ncols != 2 || strcmp(names[0], "id") != 0 || values[0] == NULL) failures++;
    return 0;
}
static int stop_at_first(void *ctx, int ncols, char **values, char **names) {
    (void)ctx; (void)ncols; (void)values; (void)names;
    return 1;
}
static int destructor_calls;
static void count_destructor(void *p) { (void)p; destructor_calls++; }

static int progress_calls;
static int stop_after_three(void *ctx) { (void)ctx; return ++progress_calls >= 3; }

/* Statement-level promises of issue 14: columns known at prepare (RETURNING too), errors at
 * prepare, tails past invalid UTF-8, errmsg pointers that survive calls that change nothing,
 * named parameters, declared types, busy timeout, progress handler and interrupt. */
static void borealis_abi_check_statements(const char *path) {
    borealis *db = NULL;
    CHECK(borealis_open(path, &db) == BOREALIS_OK);
    if (!db) return;
    CHECK(borealis_exec(db, "CREATE TABLE p(id INTEGER PRIMARY KEY, label TEXT, price NUMERIC(8,2))", NULL, NULL, NULL) == BOREALIS_OK);

    borealis_stmt *s = NULL;
    CHECK(borealis_prepare(db, "INSERT INTO p VALUES (:id, @label, :id * 1.5) RETURNING id, label AS name, price::text, id + 1", -1, &s, NULL) == BOREALIS_OK);
    CHECK(borealis_column_count(s) == 4);                       /* before the first step */
    CHECK(borealis_column_name(s, 1) && strcmp(borealis_column_name(s, 1), "name") == 0);
    CHECK(borealis_column_decltype(s, 0) && strcmp(borealis_column_decltype(s, 0), "integer") == 0);
    CHECK(borealis_column_decltype(s, 2) && strcmp(borealis_column_decltype(s, 2), "text") == 0);
    CHECK(borealis_column_decltype(s, 3) && strcmp(borealis_column_decltype(s, 3), "integer") == 0);   /* id + 1 */
    CHECK(borealis_bind_parameter_count(s) == 2);
    CHECK(borealis_bind_parameter_index(s, ":id") == 1);
    CHECK(borealis_bind_parameter_index(s, "@label") == 2);
    CHECK(borealis_bind_parameter_index(s, ":nope") == 0);
    CHECK(borealis_bind_parameter_name(s, 2) && strcmp(borealis_bind_parameter_name(s, 2), "@label") == 0);
    CHECK(borealis_bind_int64(s, borealis_bind_parameter_index(s, ":id"), 4) == BOREALIS_OK);
    CHECK(borealis_bind_text(s, borealis_bind_parameter_index(s, "@label"), "four", -1, BOREALIS_STATIC) == BOREALIS_OK);
    CHECK(borealis_step(s) == BOREALIS_ROW);
    CHECK(borealis_column_int64(s, 0) == 4 && strcmp((const char *)borealis_column_text(s, 2), "6.00") == 0);
    CHECK(borealis_step(s) == BOREALIS_DONE);
    CHECK(borealis_finalize(s) == BOREALIS_OK);
    CHECK(borealis_prepare(db, "DELETE FROM p WHERE id = 99", -1, &s, NULL) == BOREALIS_OK);
    CHECK(borealis_column_count(s) == 0);
    CHECK(borealis_finalize(s) == BOREALIS_OK);
    CHECK(borealis_prepare(db, "SELECT * FROM p", -1, &s, NULL) == BOREALIS_OK);
    CHECK(borealis_column_count(s) == 3);
    CHECK(borealis_column_decltype(s, 2) && strcmp(borealis_column_decltype(s, 2), "numeric") == 0);
    CHECK(borealis_finalize(s) == BOREALIS_OK);
    /* Handles never handed out are misuse, the registry's empty and removed markers (0 and 1)
     * among them, now that finalized statements left removed slots behind. */
    CHECK(borealis_step((borealis_stmt *)1) == BOREALIS_MISUSE);
    CHECK(borealis_column_count((borealis_stmt *)1) == 0);
    CHECK(borealis_step((borealis_stmt *)(uintptr_t)4096) == BOREALIS_MISUSE);

    /* Errors in the SQL text are reported by prepare. */
    s = (borealis_stmt *)1;
    CHECK(borealis_prepare(db, "SELECT * FROM nowhere", -1, &s, NULL) == BOREALIS_ERROR && s == NULL);
    CHECK(strcmp(borealis_sqlstate(db), "42P01") == 0);
    CHECK(borealis_prepare(db, "INSERT INTO p(nope) VALUES (1)", -1, &s, NULL) == BOREALIS_ERROR);
    CHECK(strcmp(borealis_sqlstate(db), "42703") == 0);
    CHECK(borealis_prepare(db, "UPDATE nowhere SET a = 1 RETURNING *", -1, &s, NULL) == BOREALIS_ERROR);

    /* errmsg's pointer survives calls that leave the error alone. */
    const char *message = borealis_errmsg(db);
    CHECK(strstr(message, "nowhere") != NULL);
    (void)borealis_errcode(db);
    (void)borealis_sqlstate(db);
    CHECK(borealis_errmsg(db) == message);

    /* Invalid UTF-8: a clean first statement prepares with the right tail; a bad one fails
     * with 22021 and its tail still points past it. */
    const char clean_then_bad[] = "SELECT 1; SELECT '\xff\xfe'; SELECT 3";
    const char *tail = NULL;
    CHECK(borealis_prepare(db, clean_then_bad, -1, &s, &tail) == BOREALIS_OK);
    CHECK(tail == clean_then_bad + 10);
    CHECK(borealis_finalize(s) == BOREALIS_OK);
    CHECK(borealis_prepare(db, tail, -1, &s, &tail) == BOREALIS_ERROR && s == NULL);
    CHECK(strcmp(borealis_sqlstate(db), "22021") == 0);
    CHECK(tail != NULL && strcmp(tail, "SELECT 3") == 0);

    /* Busy timeout per connection: a second connection waits only its own time. */
    borealis *other = NULL;
    CHECK(borealis_open(path, &other) == BOREALIS_OK);
    CHECK(borealis_busy_timeout(other, 0) == BOREALIS_OK);
    CHECK(borealis_busy_timeout(NULL, 0) == BOREALIS_MISUSE);
    CHECK(borealis_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == BOREALIS_OK);
    CHECK(borealis_exec(other, "INSERT INTO p(id) VALUES (5)", NULL, NULL, NULL) == BOREALIS_BUSY);
    CHECK(borealis_exec(db, "ROLLBACK", NULL, NULL, NULL) == BOREALIS_OK);
    CHECK(borealis_close(other) == BOREALIS_OK);

    /* The progress handler stops a statement; interrupting an idle connection does nothing. */
    CHECK(borealis_exec(db, "INSERT INTO p(id) WITH RECURSIVE g(x) AS (SELECT 10 UNION ALL SELECT x + 1 FROM g WHERE x < 3000) SELECT x FROM g", NULL, NULL, NULL) == BOREALIS_OK);
    CHECK(borealis_progress_handler(db, 5, stop_after_three, NULL) == BOREALIS_OK);
    CHECK(borealis_exec(db, "SELECT count(*) FROM p a, p b", NULL, NULL, NULL) == BOREALIS_INTERRUPT);
    CHECK(strcmp(borealis_sqlstate(db), "57014") == 0);
    CHECK(progress_calls == 3);
    CHECK(borealis_progress_handler(db, 0, NULL, NULL) == BOREALIS_OK);
    borealis_interrupt(db);
    borealis_interrupt(NULL);
    CHECK(borealis_exec(db, "SELECT count(*) FROM p", NULL, NULL, NULL) == BOREALIS_OK);
    CHECK(borealis_exec(db, "DROP TABLE p", NULL, NULL, NULL) == BOREALIS_OK);
    CHECK(borealis_close(db) == BOREALIS_OK);
}

static int backup_progress_calls;
static int count_backup_progress(void *ctx, int64_t done, int64_t total) {
    (void)ctx;
    if (done < 0 || done > total) failures++;
    backup_progress_calls++;
    return 0;
}
static int cancel_backup(void *ctx, int64_t done, int64_t total) { (void)ctx; (void)done; (void)total; return 1; }

/* Integrity check, backup, verification and restore (docs/backup.md). */
static void borealis_abi_check_backup(const char *directory) {
    char path[1024], backup[1024], copy[1024], cancelled[1024];
    snprintf(path, sizeof path, "%s/backup-source.db", directory);
    snprintf(backup, sizeof backup, "%s/backup.bbk", directory);
    snprintf(copy, sizeof copy, "%s/backup-copy.db", directory);
    snprintf(cancelled, sizeof cancelled, "%s/cancelled.bbk", directory);
    borealis *db = NULL;
    CHECK(borealis_open(path, &db) == BOREALIS_OK);
    CHECK(borealis_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v);"
                            "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')", NULL, NULL, NULL) == BOREALIS_OK);
    char *report = NULL;
    CHECK(borealis_check(db, &report) == BOREALIS_OK);
    CHECK(report != NULL && strncmp(report, "ok: ", 4) == 0);
    borealis_free(report);
    CHECK(borealis_check(db, NULL) == BOREALIS_OK);
    CHECK(borealis_check(NULL, &report) == BOREALIS_MISUSE && report == NULL);

    backup_progress_calls = 0;
    CHECK(borealis_backup(db, backup, count_backup_progress, NULL) == BOREALIS_OK);
    CHECK(backup_progress_calls >= 1);
    CHECK(borealis_backup(db, backup, NULL, NULL) == BOREALIS_CANTOPEN);        /* never overwrites */
    CHECK(strcmp(borealis_sqlstate(db), "58P02") == 0);
    CHECK(borealis_backup(db, cancelled, cancel_backup, NULL) == BOREALIS_INTERRUPT);
    CHECK(access(cancelled, F_OK) != 0);
    CHECK(borealis_backup(db, NULL, NULL, NULL) == BOREALIS_MISUSE);
    CHECK(borealis_backup(NULL, backup, NULL, NULL) == BOREALIS_MISUSE);
    CHECK(borealis_close(db) == BOREALIS_OK);

    CHECK(borealis_check_backup(backup, &report) == BOREALIS_OK);
    CHECK(report != NULL && strstr(report, ": ok (LSN ") != NULL);
    borealis_free(report);
    CHECK(borealis_check_backup(path, &report) == BOREALIS_CORRUPT);         /* a database is not a backup */
    CHECK(report != NULL && strstr(report, "manifest") != NULL);
    borealis_free(report);
    CHECK(borealis_check_backup(NULL, NULL) == BOREALIS_MISUSE);

    char *errmsg = NULL;
    CHECK(borealis_restore(backup, path, NULL, NULL, &errmsg) == BOREALIS_CANTOPEN);  /* over a database */
    CHECK(errmsg != NULL);
    borealis_free(errmsg);
    errmsg = NULL;
    backup_progress_calls = 0;
    CHECK(borealis_restore(backup, copy, count_backup_progress, NULL, &errmsg) == BOREALIS_OK && errmsg == NULL);
    CHECK(backup_progress_calls >= 1);
    CHECK(borealis_restore(NULL, copy, NULL, NULL, NULL) == BOREALIS_MISUSE);
    /* Point in time: the source's log from the backup on, to the latest commit and to an LSN. */
    char latest[1024], before[1024];
    snprintf(latest, sizeof latest, "%s/backup-latest.db", directory);
    snprintf(before, sizeof before, "%s/backup-before.db", directory);
    CHECK(borealis_open(path, &db) == BOREALIS_OK);
    CHECK(borealis_exec(db, "INSERT INTO t VALUES (4, 'd')", NULL, NULL, NULL) == BOREALIS_OK);
    int64_t after_backup = borealis_last_commit_lsn(db);
    CHECK(borealis_close(db) == BOREALIS_OK);
    CHECK(borealis_restore_to(backup, path, latest, BOREALIS_RESTORE_LATEST, 0, NULL, NULL, &errmsg) == BOREALIS_OK && errmsg == NULL);
    CHECK(borealis_restore_to(backup, path, before, BOREALIS_RESTORE_LSN, 1, NULL, NULL, &errmsg) == BOREALIS_RANGE);
    CHECK(errmsg != NULL && strstr(errmsg, "outside the available window") != NULL);
    borealis_free(errmsg);
    errmsg = NULL;
    CHECK(borealis_restore_to(backup, path, before, 7, 0, NULL, NULL, NULL) == BOREALIS_MISUSE);
    CHECK(borealis_restore_to(NULL, path, before, 0, 0, NULL, NULL, NULL) == BOREALIS_MISUSE);
    /* A database that keeps a continuous archive restores from it with no backup named. */
    {
        char archived[1024], from_archive[1024];
        snprintf(archived, sizeof archived, "%s/archived.db", directory);
        snprintf(from_archive, sizeof from_archive, "%s/from-archive.db", directory);
        borealis *adb = NULL;
        CHECK(borealis_open(archived, &adb) == BOREALIS_OK);   /* the archive is on by default */
        CHECK(borealis_exec(adb, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b')", NULL, NULL, NULL) == BOREALIS_OK);
        CHECK(borealis_close(adb) == BOREALIS_OK);
        CHECK(borealis_restore_archive(archived, from_archive, BOREALIS_RESTORE_LATEST, 0, NULL, NULL, &errmsg) == BOREALIS_OK && errmsg == NULL);
        borealis_free(errmsg);
        errmsg = NULL;
        CHECK(borealis_open(from_archive, &adb) == BOREALIS_OK);
        rows_seen = 0;
        CHECK(borealis_exec(adb, "SELECT id, v FROM t", count_rows, NULL, NULL) == BOREALIS_OK);
        CHECK(rows_seen == 2);
        CHECK(borealis_close(adb) == BOREALIS_OK);
    }
    /* A database opened with BOREALIS_OPEN_NOARCHIVE, or with no retention, keeps none, so a
     * restore from its archive says so. */
    {
        char unarchived[1024], kept[1024];
        snprintf(unarchived, sizeof unarchived, "%s/unarchived.db", directory);
        borealis *udb = NULL;
        CHECK(borealis_open_v2(unarchived, &udb, BOREALIS_OPEN_NOARCHIVE, NULL) == BOREALIS_CANTOPEN); /* no CREATE */
        CHECK(borealis_close(udb) == BOREALIS_OK);
        CHECK(borealis_open_v2(unarchived, &udb, BOREALIS_OPEN_READWRITE | BOREALIS_OPEN_CREATE | BOREALIS_OPEN_NOARCHIVE, NULL) == BOREALIS_OK);
        CHECK(borealis_exec(udb, "CREATE TABLE t(id INTEGER PRIMARY KEY)", NULL, NULL, NULL) == BOREALIS_OK);
        CHECK(borealis_close(udb) == BOREALIS_OK);
        snprintf(kept, sizeof kept, "%s-archive", unarchived);
        CHECK(access(kept, F_OK) != 0);
        CHECK(borealis_restore_archive(unarchived, before, BOREALIS_RESTORE_LATEST, 0, NULL, NULL, &errmsg) == BOREALIS_CANTOPEN);
        CHECK(errmsg != NULL && strstr(errmsg, "archive") != NULL);
        borealis_free(errmsg);
        errmsg = NULL;
        borealis_options none = BOREALIS_OPTIONS_INIT;
        none.archive_retention_seconds = -1;
        snprintf(unarchived, sizeof unarchived, "%s/no-retention.db", directory);
        CHECK(borealis_open_v2(unarchived, &udb, BOREALIS_OPEN_READWRITE | BOREALIS_OPEN_CREATE, &none) == BOREALIS_OK);
        CHECK(borealis_close(udb) == BOREALIS_OK);
        snprintf(kept, sizeof kept, "%s-archive", unarchived);
        CHECK(access(kept, F_OK) != 0);
    }
    CHECK(borealis_restore_archive(path, before, BOREALIS_RESTORE_LATEST, 0, NULL, NULL, &errmsg) == BOREALIS_OK);
    borealis_free(errmsg);
    errmsg = NULL;
    CHECK(borealis_restore_archive(path, before, 9, 0, NULL, NULL, NULL) == BOREALIS_MISUSE);
    CHECK(borealis_restore_archive(NULL, before, 0, 0, NULL, NULL, NULL) == BOREALIS_MISUSE);
    CHECK(after_backup > 0);
    borealis *at_latest = NULL;
    CHECK(borealis_open(latest, &at_latest) == BOREALIS_OK);
    rows_seen = 0;
    CHECK(borealis_exec(at_latest, "SELECT id, v FROM t", count_rows, NULL, NULL) == BOREALIS_OK);
    CHECK(rows_seen == 4);
    CHECK(borealis_last_commit_lsn(at_latest) == 0);
    CHECK(borealis_close(at_latest) == BOREALIS_OK);

    borealis *restored = NULL;
    CHECK(borealis_open(copy, &restored) == BOREALIS_OK);
    rows_seen = 0;
    CHECK(borealis_exec(restored, "SELECT id, v FROM t", count_rows, NULL, NULL) == BOREALIS_OK);
    CHECK(rows_seen == 3);
    CHECK(borealis_check(restored, NULL) == BOREALIS_OK);
    CHECK(borealis_close(restored) == BOREALIS_OK);
}

int borealis_abi_check(const char *directory, char *report, int report_size) {
    failures = 0; out = report; room = report_size;
    if (report_size > 0) report[0] = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/abi.db", directory);

    CHECK(strcmp(borealis_libversion(), BOREALIS_VERSION) == 0);
    CHECK(borealis_libversion_number() == BOREALIS_VERSION_NUMBER);
    CHECK(strcmp(borealis_errstr(BOREALIS_MISUSE), "bad parameter or other API misuse") == 0);

    /* Misuse of NULL handles never crashes. */
    CHECK(borealis_close(NULL) == BOREALIS_OK);
    CHECK(borealis_finalize(NULL) == BOREALIS_OK);
    CHECK(borealis_step(NULL) == BOREALIS_MISUSE);
    CHECK(borealis_errcode(NULL) == BOREALIS_MISUSE);
    CHECK(borealis_exec(NULL, "SELECT 1", NULL, NULL, NULL) == BOREALIS_MISUSE);
    CHECK(borealis_bind_int64(NULL, 1, 1) == BOREALIS_MISUSE);
    CHECK(borealis_column_text(NULL, 0) == NULL);
    CHECK(borealis_open(NULL, NULL) == BOREALIS_MISUSE);
    borealis_free(NULL);

    /* Opening a missing file without CREATE fails with a message, and the handle closes. */
    borealis *missing = NULL;
    char missing_path[4096];
    snprintf(missing_path, sizeof missing_path, "%s/absent.db", directory);
    CHECK(borealis_open_v2(missing_path, &missing, BOREALIS_OPEN_READWRITE, NULL) == BOREALIS_CANTOPEN);
    CHECK(missing != NULL && strstr(borealis_errmsg(missing), "does not exist") != NULL);
    CHECK(borealis_close(missing) == BOREALIS_OK);
    /* A read-only open never creates the file, even when CREATE is passed along. */
    CHECK(borealis_open_v2(missing_path, &missing, BOREALIS_OPEN_READONLY | BOREALIS_OPEN_CREATE, NULL) == BOREALIS_CANTOPEN);
    CHECK(borealis_close(missing) == BOREALIS_OK);
    CHECK(access(missing_path, F_OK) != 0);

    /* Options: the size field guards the layout; an implausible one, or an unknown
     * synchronous value, is refused rather than guessed at. */
    CHECK(sizeof(borealis_options) == 48);   /* COptions.current in BorealisC.swift */
    borealis_options bad = BOREALIS_OPTIONS_INIT;
    bad.size = 3;
    CHECK(borealis_open_v2(path, &missing, BOREALIS_OPEN_READWRITE | BOREALIS_OPEN_CREATE, &bad) == BOREALIS_MISUSE);
    CHECK(borealis_close(missing) == BOREALIS_OK);
    bad.size = sizeof bad;
    bad.synchronous = 7;
    CHECK(borealis_open_v2(path, &missing, BOREALIS_OPEN_READWRITE | BOREALIS_OPEN_CREATE, &bad) == BOREALIS_MISUSE);
    CHECK(borealis_close(missing) == BOREALIS_OK);
    /* A program built against a shorter struct (only size and cache_bytes) still opens. */
    borealis_options older = BOREALIS_OPTIONS_INIT;
    older.size = offsetof(borealis_options, synchronous);
    older.cache_bytes = 4 << 20;
    older.synchronous = 99;   /* past `size`: never read */
    CHECK(borealis_open_v2(path, &missing, BOREALIS_OPEN_READWRITE | BOREALIS_OPEN_CREATE, &older) == BOREALIS_OK);
    CHECK(borealis_close(missing) == BOREALIS_OK);

    borealis_options options = BOREALIS_OPTIONS_INIT;
    options.cache_bytes = 8 << 20;
    options.synchronous = BOREALIS_SYNCHRONOUS_FULL;
    options.busy_timeout_ms = 2000;
    options.page_size = 4096;
    borealis *db = NULL;
    CHECK(borealis_open_v2(path, &db, BOREALIS_OPEN_READWRITE | BOREALIS_OPEN_CREATE, &options) == BOREALIS_OK);
    if (!db) return failures;

    char *err = NULL;
    CHECK(borealis_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score DOUBLE PRECISION, data BYTEA, price NUMERIC(6,3))", NULL, NULL, &err) == BOREALIS_OK);
    CHECK(err == NULL);
    CHECK(borealis_exec(db, "SELEC nonsense", NULL, NULL, &err) == BOREALIS_ERROR);
    CHECK(err != NULL && strstr(err, "syntax error") != NULL);
    CHECK(strcmp(borealis_sqlstate(db), "42601") == 0);
    CHECK(borealis_errcode(db) == BOREALIS_ERROR);
    borealis_free(err);

    /* Insert with bindings inside a transaction. */
    CHECK(borealis_exec(db, "BEGIN", NULL, NULL, NULL) == BOREALIS_OK);
    borealis_stmt *insert = NULL;
    const char *tail = NULL;
    const char *sql = "INSERT INTO t VALUES ($1, $2, $3, $4, $5); SELECT 1";
    CHECK(borealis_prepare(db, sql, -1, &insert, &tail) == BOREALIS_OK);
    CHECK(insert != NULL && tail != NULL && strcmp(tail + strspn(tail, " "), "SELECT 1") == 0);
    CHECK(borealis_bind_parameter_count(insert) == 5);
    for (int i = 1; i <= 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "name-%d", i);
        unsigned char blob[3] = { 1, 0, (unsigned char)i };
        CHECK(borealis_bind_int64(insert, 1, i) == BOREALIS_OK);
        CHECK(borealis_bind_text(insert, 2, name, -1, BOREALIS_TRANSIENT) == BOREALIS_OK);
        CHECK(borealis_bind_double(insert, 3, i * 1.5) == BOREALIS_OK);
        CHECK(borealis_bind_blob(insert, 4, blob, 3, count_destructor) == BOREALIS_OK);
        CHECK(borealis_bind_text(insert, 5, "2.2", 3, BOREALIS_STATIC) == BOREALIS_OK);
        CHECK(borealis_step(insert) == BOREALIS_DONE);
        CHECK(borealis_changes(db) == 1);
        CHECK(borealis_last_insert_rowid(db) == i);
        CHECK(borealis_reset(insert) == BOREALIS_OK);
    }
    CHECK(destructor_calls == 3);
    CHECK(borealis_bind_int64(insert, 6, 1) == BOREALIS_RANGE);
    CHECK(borealis_bind_int64(insert, 0, 1) == BOREALIS_RANGE);
    CHECK(borealis_clear_bindings(insert) == BOREALIS_OK);
    CHECK(borealis_bind_null(insert, 2) == BOREALIS_OK);
    CHECK(borealis_bind_int64(insert, 1, 1) == BOREALIS_OK);
    CHECK(borealis_step(insert) == BOREALIS_CONSTRAINT);   /* duplicate key */
    CHECK(strcmp(borealis_sqlstate(db), "23505") == 0);
    CHECK(borealis_finalize(insert) == BOREALIS_OK);
    CHECK(borealis_finalize(insert) == BOREALIS_MISUSE);   /* finalized twice */
    CHECK(borealis_step(insert) == BOREALIS_MISUSE);       /* step after finalize */
    CHECK(borealis_exec(db, "COMMIT", NULL, NULL, NULL) == BOREALIS_ABORT);
    CHECK(strcmp(borealis_sqlstate(db), "25P02") == 0);
    CHECK(strncmp(borealis_errmsg(db), "transaction was rolled back", 27) == 0);
    /* The failed insert aborted the block, so COMMIT rolled back: nothing was inserted. */
    rows_seen = 0;
    CHECK(borealis_exec(db, "SELECT id, name FROM t", count_rows, NULL, NULL) == BOREALIS_OK);
    CHECK(rows_seen == 0);

    /* Again, committed. */
    CHECK(borealis_exec(db, "INSERT INTO t VALUES (1, 'one', 1.5, '\\x0102', 2.2), (2, NULL, 3, NULL, 10)", NULL, NULL, NULL) == BOREALIS_OK);
    CHECK(borealis_changes(db) == 2);
    rows_seen = 0;
    CHECK(borealis_exec(db, "SELECT id, name FROM t ORDER BY id", count_rows, NULL, NULL) == BOREALIS_OK);
    CHECK(rows_seen == 2);
    CHECK(borealis_exec(db, "SELECT id, name FROM t", stop_at_first, NULL, &err) == BOREALIS_ERROR);
    CHECK(err != NULL);
    borealis_free(err);

    /* Query and read every column type. */
    borealis_stmt *query = NULL;
    CHECK(borealis_prepare(db, "SELECT id, name, score, data, price FROM t WHERE id >= ? ORDER BY id", -1, &query, NULL) == BOREALIS_OK);
    CHECK(borealis_column_count(query) == 5);
    CHECK(borealis_column_name(query, 1) != NULL && strcmp(borealis_column_name(query, 1), "name") == 0);
    CHECK(borealis_column_name(query, 9) == NULL);
    CHECK(borealis_bind_int64(query, 1, 1) == BOREALIS_OK);
    CHECK(borealis_step(query) == BOREALIS_ROW);
    CHECK(borealis_column_type(query, 0) == BOREALIS_INTEGER);
    CHECK(borealis_column_int64(query, 0) == 1);
    CHECK(borealis_column_type(query, 1) == BOREALIS_TEXT);
    CHECK(strcmp((const char *)borealis_column_text(query, 1), "one") == 0);
    CHECK(borealis_column_bytes(query, 1) == 3);
    CHECK(borealis_column_type(query, 2) == BOREALIS_FLOAT);
    CHECK(borealis_column_double(query, 2) == 1.5);
    CHECK(borealis_column_type(query, 3) == BOREALIS_BLOB);
    CHECK(borealis_column_bytes(query, 3) == 2);
    const unsigned char *blob = borealis_column_blob(query, 3);
    CHECK(blob != NULL && blob[0] == 1 && blob[1] == 2);
    CHECK(borealis_column_type(query, 4) == BOREALIS_TEXT);
    CHECK(strcmp((const char *)borealis_column_text(query, 4), "2.200") == 0);
    CHECK(borealis_column_double(query, 4) == 2.2);
    CHECK(borealis_column_type(query, 7) == BOREALIS_NULL);   /* out of range */
    CHECK(borealis_errcode(db) == BOREALIS_RANGE);
    CHECK(borealis_step(query) == BOREALIS_ROW);
    CHECK(borealis_column_type(query, 1) == BOREALIS_NULL);
    CHECK(borealis_column_text(query, 1) == NULL);
    CHECK(borealis_step(query) == BOREALIS_DONE);
    CHECK(borealis_step(query) == BOREALIS_MISUSE);           /* must reset first */
    CHECK(borealis_reset(query) == BOREALIS_OK);
    CHECK(borealis_step(query) == BOREALIS_ROW);
    /* Statements still open are finalized by close; the handle is dead afterwards. */
    CHECK(borealis_close(db) == BOREALIS_OK);
    CHECK(borealis_step(query) == BOREALIS_MISUSE);
    CHECK(borealis_close(db) == BOREALIS_MISUSE);

    /* Read-only connections refuse writes. */
    borealis *ro = NULL;
    CHECK(borealis_open_v2(path, &ro, BOREALIS_OPEN_READONLY, NULL) == BOREALIS_OK);
    CHECK(borealis_exec(ro, "INSERT INTO t(id) VALUES (9)", NULL, NULL, NULL) == BOREALIS_READONLY);
    rows_seen = 0;
    CHECK(borealis_exec(ro, "SELECT id, name FROM t", count_rows, NULL, NULL) == BOREALIS_OK);
    CHECK(rows_seen == 2);
    CHECK(borealis_close(ro) == BOREALIS_OK);

    /* Replicas: read-your-writes, lag, read-only, promotion after the writer closes. */
    borealis *writer = NULL, *replica = NULL;
    int64_t lag_bytes = -1;
    double lag_seconds = -1;
    CHECK(borealis_replica_open(NULL, &replica) == BOREALIS_MISUSE && replica == NULL);
    CHECK(borealis_open(path, &writer) == BOREALIS_OK);
    CHECK(borealis_replica_open(writer, NULL) == BOREALIS_MISUSE);
    CHECK(borealis_replica_lag(writer, &lag_bytes, &lag_seconds) == BOREALIS_MISUSE);  /* not a replica */
    CHECK(borealis_replica_open(writer, &replica) == BOREALIS_OK && replica != NULL);
    CHECK(borealis_last_commit_lsn(writer) == 0);
    CHECK(borealis_exec(writer, "INSERT INTO t(id, name) VALUES (10, 'ten')", NULL, NULL, NULL) == BOREALIS_OK);
    int64_t lsn = borealis_last_commit_lsn(writer);
    CHECK(lsn > 0);
    CHECK(borealis_replica_wait(replica, lsn, 5000) == BOREALIS_OK);
    CHECK(borealis_replica_wait(replica, lsn + 1000000, 10) == BOREALIS_BUSY);
    CHECK(borealis_replica_wait(replica, -1, 10) == BOREALIS_MISUSE);
    CHECK(borealis_replica_wait(NULL, lsn, 10) == BOREALIS_MISUSE);
    CHECK(borealis_replica_lag(replica, &lag_bytes, &lag_seconds) == BOREALIS_OK);
    CHECK(lag_bytes >= 0 && lag_seconds >= 0);
    CHECK(borealis_replica_lag(replica, NULL, NULL) == BOREALIS_OK);
    rows_seen = 0;
    CHECK(borealis_exec(replica, "SELECT id, name FROM t WHERE id = 10", count_rows, NULL, NULL) == BOREALIS_OK);
    CHECK(rows_seen == 1);
    CHECK(borealis_exec(replica, "INSERT INTO t(id) VALUES (11)", NULL, NULL, NULL) == BOREALIS_READONLY);
    CHECK(borealis_replica_promote(writer) == BOREALIS_MISUSE);  /* not a replica */
    CHECK(borealis_close(writer) == BOREALIS_OK);
    CHECK(borealis_replica_promote(replica) == BOREALIS_OK);
    CHECK(borealis_exec(replica, "INSERT INTO t(id) VALUES (11)", NULL, NULL, NULL) == BOREALIS_OK);
    CHECK(borealis_last_commit_lsn(replica) > lsn);
    CHECK(borealis_close(replica) == BOREALIS_OK);
    CHECK(borealis_replica_promote(NULL) == BOREALIS_MISUSE);
    CHECK(borealis_last_commit_lsn(NULL) == 0);

    borealis_abi_check_statements(path);
    borealis_abi_check_backup(directory);

    /* :memory: databases work and vanish. */
    borealis *memory = NULL;
    CHECK(borealis_open(":memory:", &memory) == BOREALIS_OK);
    CHECK(borealis_exec(memory, "CREATE TABLE m(x INTEGER); INSERT INTO m VALUES (1)", NULL, NULL, NULL) == BOREALIS_OK);
    CHECK(borealis_close(memory) == BOREALIS_OK);
    return failures;
}
