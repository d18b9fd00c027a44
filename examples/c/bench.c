/* bench.c: Borealis against SQLite from C (issue 15). The same SQL, as prepared statements, on
 * both engines through their own C APIs (borealis.h and sqlite3.h), engines alternating
 * (B S, S B, …) for N pairs. Every measurement runs in a forked child that opens the engine,
 * runs the workload and reports its timings and its own peak RSS (getrusage) through a pipe,
 * so the two engines never share a process. Every workload checks its answers (against values
 * computed here, and the two engines against each other), so a fast wrong answer fails the run.
 *
 *   make -C examples/c bench
 *   examples/c/bench [--quick] [--pairs N] [--cap SECONDS] [--dir D] [--workload NAME]…
 *
 * The tables a workload reads are built once per engine (untimed, in their own child) under
 * D/<engine>/ and shared by its pairs; bulk_insert builds a fresh database each run and
 * fk_cascade_delete deletes a different range of parents in each pair. A measurement runs its
 * workload's operations until it has done them all or `cap` seconds have passed (at least one
 * operation), and reports the rate: an engine too slow for the full count still gets measured.
 * It is one file of ~1,000 lines on purpose: an example a C user can build with one compiler
 * line, each workload a pair of short functions (one per engine) over the same data.
 * SQLite runs in WAL mode with synchronous=FULL and foreign_keys=ON, and its tables are
 * ANALYZEd after they are built; Borealis with its defaults (synchronous FULL, foreign keys
 * always enforced; it has no ANALYZE). */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include <borealis.h>
#include <sqlite3.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- Sizes ------------------------------------------------------------------------------ */

typedef struct {
    long rows;           /* t and big */
    long groups;         /* distinct big.g */
    long regions, customers, orders;
    long parents;        /* 10 children each */
    long lookups, index_lookups, scans, full_scans, joins, group_bys, order_limits, windows,
         join_aggregates, deletes;
    double cap;          /* seconds per measurement */
} sizes;

static const sizes full_sizes = {
    .rows = 1000000, .groups = 1000, .regions = 100, .customers = 100000, .orders = 1000000,
    .parents = 100000, .lookups = 1000000, .index_lookups = 200000, .scans = 200,
    .full_scans = 20, .joins = 2000, .group_bys = 20, .order_limits = 20, .windows = 5,
    .join_aggregates = 10, .deletes = 1000, .cap = 3.0,
};
static const sizes quick_sizes = {
    .rows = 20000, .groups = 100, .regions = 100, .customers = 2000, .orders = 20000,
    .parents = 2000, .lookups = 20000, .index_lookups = 5000, .scans = 20, .full_scans = 5,
    .joins = 50, .group_bys = 3, .order_limits = 3, .windows = 1, .join_aggregates = 2,
    .deletes = 200, .cap = 0.2,
};

/* ---- Results and failing --------------------------------------------------------------- */

#define MAX_DIGESTS 8

/* What a child sends back through its pipe. */
typedef struct {
    int ok;
    long ops;
    double seconds;
    double first_row_ms;         /* select_star only */
    long peak_rss_kib;
    int ndigests;                /* digests of the first operations, compared across engines */
    uint64_t digests[MAX_DIGESTS];
    char error[512];
} result;

static result *child_result;     /* set in a child: where die() reports */
static int child_fd = -1;

static void write_all(int fd, const void *data, size_t size) {
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(3);
        p += n;
        size -= (size_t)n;
    }
}

static void die(const char *format, ...) {
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (child_fd >= 0) {
        child_result->ok = 0;
        snprintf(child_result->error, sizeof child_result->error, "%s", message);
        write_all(child_fd, child_result, sizeof *child_result);
        _exit(1);
    }
    fprintf(stderr, "bench: %s\n", message);
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- The two engines behind a few calls, each a direct call into the engine's library ---- */

typedef enum { BOREALIS, SQLITE } engine_kind;
static const char *const engine_names[] = { "borealis", "sqlite" };

typedef struct {
    engine_kind kind;
    borealis *b;
    sqlite3 *s;
} conn;

typedef struct {
    conn *c;
    borealis_stmt *b;
    sqlite3_stmt *s;
    const char *sql;
} stmt;

static const char *conn_error(conn *c) {
    return c->kind == BOREALIS ? borealis_errmsg(c->b) : sqlite3_errmsg(c->s);
}

static void conn_exec(conn *c, const char *sql) {
    int rc = c->kind == BOREALIS ? borealis_exec(c->b, sql, NULL, NULL, NULL)
                                 : sqlite3_exec(c->s, sql, NULL, NULL, NULL);
    if (rc != 0) die("%s: %s: %s", engine_names[c->kind], sql, conn_error(c));
}

static conn conn_open(engine_kind kind, const char *path) {
    conn c = { kind, NULL, NULL };
    if (kind == BOREALIS) {
        /* The continuous archive is on by default; BOREALIS_BENCH_ARCHIVE=0 measures without it. */
        const char *archive = getenv("BOREALIS_BENCH_ARCHIVE");
        int flags = BOREALIS_OPEN_READWRITE | BOREALIS_OPEN_CREATE;
        if (archive && strcmp(archive, "0") == 0) flags |= BOREALIS_OPEN_NOARCHIVE;
        if (borealis_open_v2(path, &c.b, flags, NULL) != BOREALIS_OK)
            die("borealis open %s: %s", path, c.b ? borealis_errmsg(c.b) : "out of memory");
    } else {
        if (sqlite3_open_v2(path, &c.s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
            die("sqlite open %s: %s", path, c.s ? sqlite3_errmsg(c.s) : "out of memory");
        conn_exec(&c, "PRAGMA journal_mode=WAL");
        conn_exec(&c, "PRAGMA synchronous=FULL");
        conn_exec(&c, "PRAGMA foreign_keys=ON");
    }
    return c;
}

static void conn_close(conn *c) {
    int rc = c->kind == BOREALIS ? borealis_close(c->b) : sqlite3_close(c->s);
    if (rc != 0) die("%s close failed", engine_names[c->kind]);
}

static stmt prepare(conn *c, const char *sql) {
    stmt st = { c, NULL, NULL, sql };
    int rc = c->kind == BOREALIS ? borealis_prepare(c->b, sql, -1, &st.b, NULL)
                                 : sqlite3_prepare_v2(c->s, sql, -1, &st.s, NULL);
    if (rc != 0) die("%s prepare: %s: %s", engine_names[c->kind], sql, conn_error(c));
    return st;
}

static void finalize(stmt *st) {
    if (st->c->kind == BOREALIS) borealis_finalize(st->b); else sqlite3_finalize(st->s);
}

static void reset(stmt *st) {
    if (st->c->kind == BOREALIS) borealis_reset(st->b); else sqlite3_reset(st->s);
}

static void bind_int(stmt *st, int index, int64_t value) {
    int rc = st->c->kind == BOREALIS ? borealis_bind_int64(st->b, index, value)
                                     : sqlite3_bind_int64(st->s, index, value);
    if (rc != 0) die("%s bind: %s: %s", engine_names[st->c->kind], st->sql, conn_error(st->c));
}

static void bind_text(stmt *st, int index, const char *text) {
    int rc = st->c->kind == BOREALIS ? borealis_bind_text(st->b, index, text, -1, BOREALIS_TRANSIENT)
                                     : sqlite3_bind_text(st->s, index, text, -1, SQLITE_TRANSIENT);
    if (rc != 0) die("%s bind: %s: %s", engine_names[st->c->kind], st->sql, conn_error(st->c));
}

/* 1 when a row is ready, 0 when done; any error ends the run. */
static int step(stmt *st) {
    if (st->c->kind == BOREALIS) {
        int rc = borealis_step(st->b);
        if (rc == BOREALIS_ROW) return 1;
        if (rc == BOREALIS_DONE) return 0;
    } else {
        int rc = sqlite3_step(st->s);
        if (rc == SQLITE_ROW) return 1;
        if (rc == SQLITE_DONE) return 0;
    }
    die("%s step: %s: %s", engine_names[st->c->kind], st->sql, conn_error(st->c));
    return 0;
}

static void run_to_end(stmt *st) {
    reset(st);
    while (step(st)) {}
}

static int64_t col_int(stmt *st, int column) {
    return st->c->kind == BOREALIS ? borealis_column_int64(st->b, column) : sqlite3_column_int64(st->s, column);
}

static double col_double(stmt *st, int column) {
    return st->c->kind == BOREALIS ? borealis_column_double(st->b, column) : sqlite3_column_double(st->s, column);
}

static const char *col_text(stmt *st, int column) {
    const unsigned char *text = st->c->kind == BOREALIS ? borealis_column_text(st->b, column)
                                                        : sqlite3_column_text(st->s, column);
    return text ? (const char *)text : "";
}

static int col_bytes(stmt *st, int column) {
    return st->c->kind == BOREALIS ? borealis_column_bytes(st->b, column) : sqlite3_column_bytes(st->s, column);
}

enum { K_INTEGER, K_FLOAT, K_TEXT, K_NULL };

static int col_kind(stmt *st, int column) {
    if (st->c->kind == BOREALIS) {
        switch (borealis_column_type(st->b, column)) {
        case BOREALIS_INTEGER: return K_INTEGER;
        case BOREALIS_FLOAT: return K_FLOAT;
        case BOREALIS_NULL: return K_NULL;
        default: return K_TEXT;
        }
    }
    switch (sqlite3_column_type(st->s, column)) {
    case SQLITE_INTEGER: return K_INTEGER;
    case SQLITE_FLOAT: return K_FLOAT;
    case SQLITE_NULL: return K_NULL;
    default: return K_TEXT;
    }
}

static int col_count(stmt *st) {
    return st->c->kind == BOREALIS ? borealis_column_count(st->b) : sqlite3_column_count(st->s);
}

/* One integer result: the first column of the only row. */
static int64_t query_int(conn *c, const char *sql) {
    stmt st = prepare(c, sql);
    if (!step(&st)) die("%s: no row: %s", engine_names[c->kind], sql);
    int64_t value = col_int(&st, 0);
    if (step(&st)) die("%s: more than one row: %s", engine_names[c->kind], sql);
    finalize(&st);
    return value;
}

/* ---- Digests: an answer as a number, the same whichever engine gave it ---------------------
 * Numbers are compared by value (Borealis returns sum(bigint) and avg as NUMERIC text, SQLite as
 * integer and double): integral values as integers, others rounded to 1e-6. Rows are combined by
 * addition, so row order (unspecified without ORDER BY) does not matter. */

static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t number_digest(double d) {
    if (d == floor(d) && fabs(d) < 9e15) return mix((uint64_t)(int64_t)d);
    return mix((uint64_t)llround(d * 1e6) ^ 0x5BD1E995ull);
}

static uint64_t bytes_digest(const char *text, int n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (int i = 0; i < n; i++) h = (h ^ (unsigned char)text[i]) * 0x100000001B3ull;
    return mix(h);
}

static uint64_t value_digest(stmt *st, int column) {
    switch (col_kind(st, column)) {
    case K_NULL: return 0x4E554C4Cull;
    case K_INTEGER: return mix((uint64_t)col_int(st, column));
    case K_FLOAT: return number_digest(col_double(st, column));
    default: {
        const char *text = col_text(st, column);
        char *end;
        errno = 0;
        double d = strtod(text, &end);
        if (*text != 0 && *end == 0 && errno == 0) return number_digest(d);
        return bytes_digest(text, col_bytes(st, column));
    }
    }
}

static uint64_t row_digest(stmt *st) {
    uint64_t h = 0;
    int n = col_count(st);
    for (int i = 0; i < n; i++) h = mix(h * 31 + value_digest(st, i));
    return h;
}

static void note_digest(result *r, long op, uint64_t digest) {
    if (op < MAX_DIGESTS) {
        r->digests[op] = digest;
        if (r->ndigests <= op) r->ndigests = (int)op + 1;
    }
}

/* A number as the engines print it: NUMERIC results come back as text on Borealis. */
static double col_number(stmt *st, int column) {
    return col_kind(st, column) == K_TEXT ? strtod(col_text(st, column), NULL) : col_double(st, column);
}

/* ---- The data ------------------------------------------------------------------------------
 * t(id, k, v): k = id·7919 mod rows (a permutation), v = "v<id>-" padded with x to 100 bytes.
 * big(id, g, x, s): g = id mod groups, x = id·7919 mod 1000003 (distinct), s ~30 bytes.
 * regions(id, name) 100; customers(id, region, name), region = id mod 100;
 * orders(id, cid, amount): cid = id·7919 mod customers (10 orders each), amount = id mod 1000 + 1.
 * parents(id, name); children(id, pid → parents ON DELETE CASCADE, v), pid = id mod parents. */

static uint64_t rng_state;
static uint64_t rng_next(void) {
    rng_state += 0x9E3779B97F4A7C15ull;
    uint64_t z = rng_state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static long t_k(long id, long rows) { return (long)((id * 7919LL) % rows); }
static long big_x(long id) { return (long)((id * 7919LL) % 1000003); }
static long order_cid(long id, long customers) { return (long)((id * 7919LL) % customers); }
static long order_amount(long id) { return id % 1000 + 1; }

static void t_value(char buffer[101], long id) {
    int n = snprintf(buffer, 101, "v%ld-", id);
    memset(buffer + n, 'x', (size_t)(100 - n));
    buffer[100] = 0;
}

static void insert_t(conn *c, long rows) {
    char v[101];
    stmt insert = prepare(c, "INSERT INTO t VALUES ($1, $2, $3)");
    for (long i = 0; i < rows; i++) {
        t_value(v, i);
        reset(&insert);
        bind_int(&insert, 1, i);
        bind_int(&insert, 2, t_k(i, rows));
        bind_text(&insert, 3, v);
        run_to_end(&insert);
    }
    finalize(&insert);
}

static void setup_t(conn *c, const sizes *z) {
    conn_exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)");
    conn_exec(c, "BEGIN");
    insert_t(c, z->rows);
    conn_exec(c, "COMMIT");
    conn_exec(c, "CREATE INDEX t_k ON t(k)");
}

static void setup_big(conn *c, const sizes *z) {
    char s[64];
    conn_exec(c, "CREATE TABLE big(id INTEGER PRIMARY KEY, g INTEGER, x INTEGER, s TEXT)");
    conn_exec(c, "BEGIN");
    stmt insert = prepare(c, "INSERT INTO big VALUES ($1, $2, $3, $4)");
    for (long i = 0; i < z->rows; i++) {
        snprintf(s, sizeof s, "name-%07ld-of-the-big-table", i);
        reset(&insert);
        bind_int(&insert, 1, i);
        bind_int(&insert, 2, i % z->groups);
        bind_int(&insert, 3, big_x(i));
        bind_text(&insert, 4, s);
        run_to_end(&insert);
    }
    finalize(&insert);
    conn_exec(c, "COMMIT");
}

static void setup_shop(conn *c, const sizes *z) {
    char text[64];
    conn_exec(c, "CREATE TABLE regions(id INTEGER PRIMARY KEY, name TEXT)");
    conn_exec(c, "CREATE TABLE customers(id INTEGER PRIMARY KEY, region INTEGER, name TEXT)");
    conn_exec(c, "CREATE TABLE orders(id INTEGER PRIMARY KEY, cid INTEGER, amount INTEGER)");
    conn_exec(c, "BEGIN");
    stmt region = prepare(c, "INSERT INTO regions VALUES ($1, $2)");
    for (long i = 0; i < z->regions; i++) {
        snprintf(text, sizeof text, "region-%ld", i);
        reset(&region);
        bind_int(&region, 1, i);
        bind_text(&region, 2, text);
        run_to_end(&region);
    }
    finalize(&region);
    stmt customer = prepare(c, "INSERT INTO customers VALUES ($1, $2, $3)");
    for (long i = 0; i < z->customers; i++) {
        snprintf(text, sizeof text, "customer-%ld", i);
        reset(&customer);
        bind_int(&customer, 1, i);
        bind_int(&customer, 2, i % z->regions);
        bind_text(&customer, 3, text);
        run_to_end(&customer);
    }
    finalize(&customer);
    stmt order = prepare(c, "INSERT INTO orders VALUES ($1, $2, $3)");
    for (long i = 0; i < z->orders; i++) {
        reset(&order);
        bind_int(&order, 1, i);
        bind_int(&order, 2, order_cid(i, z->customers));
        bind_int(&order, 3, order_amount(i));
        run_to_end(&order);
    }
    finalize(&order);
    conn_exec(c, "COMMIT");
    conn_exec(c, "CREATE INDEX customers_region ON customers(region)");
    conn_exec(c, "CREATE INDEX orders_cid ON orders(cid)");
}

static void setup_fk(conn *c, const sizes *z) {
    char text[64];
    conn_exec(c, "CREATE TABLE parents(id INTEGER PRIMARY KEY, name TEXT)");
    conn_exec(c, "CREATE TABLE children(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL REFERENCES parents(id) ON DELETE CASCADE, v TEXT)");
    conn_exec(c, "CREATE INDEX children_pid ON children(pid)");
    conn_exec(c, "BEGIN");
    stmt parent = prepare(c, "INSERT INTO parents VALUES ($1, $2)");
    for (long i = 0; i < z->parents; i++) {
        snprintf(text, sizeof text, "parent-%ld", i);
        reset(&parent);
        bind_int(&parent, 1, i);
        bind_text(&parent, 2, text);
        run_to_end(&parent);
    }
    finalize(&parent);
    stmt child = prepare(c, "INSERT INTO children VALUES ($1, $2, $3)");
    for (long i = 0; i < z->parents * 10; i++) {
        snprintf(text, sizeof text, "child-%ld", i);
        reset(&child);
        bind_int(&child, 1, i);
        bind_int(&child, 2, i % z->parents);
        bind_text(&child, 3, text);
        run_to_end(&child);
    }
    finalize(&child);
    conn_exec(c, "COMMIT");
}

typedef struct {
    const char *name;
    void (*build)(conn *, const sizes *);
} dataset;

static const dataset datasets[] = {
    { "t", setup_t }, { "big", setup_big }, { "shop", setup_shop }, { "fk", setup_fk },
};
enum { DATA_T, DATA_BIG, DATA_SHOP, DATA_FK, DATA_COUNT, DATA_NONE = -1 };

/* ---- The workloads -------------------------------------------------------------------------- */

typedef struct {
    engine_kind kind;
    const char *dir;       /* this engine's folder */
    const sizes *z;
    int pair;
    result *r;
} context;

static void data_path(char *path, size_t size, const context *x, int data) {
    snprintf(path, size, "%s/%s/db", x->dir, datasets[data].name);
}

static conn open_data(const context *x, int data) {
    char path[4096];
    data_path(path, sizeof path, x, data);
    return conn_open(x->kind, path);
}

/* Whether to start operation i of n: until all are done or the cap has passed (at least one). */
static int more(const context *x, long i, long n, double start) {
    return i < n && (i == 0 || now() - start < x->z->cap);
}

static void finish(const context *x, long ops, double start) {
    x->r->seconds = now() - start;
    x->r->ops = ops;
}

static void wl_bulk_insert(const context *x) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bulk-%d", x->dir, x->pair);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) die("mkdir %s: %s", path, strerror(errno));
    strcat(path, "/db");
    conn c = conn_open(x->kind, path);
    conn_exec(&c, "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)");
    double start = now();
    conn_exec(&c, "BEGIN");
    insert_t(&c, x->z->rows);
    conn_exec(&c, "COMMIT");
    x->r->seconds = now() - start;
    x->r->ops = x->z->rows;
    int64_t count = query_int(&c, "SELECT count(*) FROM t");
    if (count != x->z->rows) die("bulk_insert: count %" PRId64 ", expected %ld", count, x->z->rows);
    note_digest(x->r, 0, mix((uint64_t)count));
    conn_close(&c);
}

static void wl_point_select(const context *x) {
    conn c = open_data(x, DATA_T);
    stmt st = prepare(&c, "SELECT v FROM t WHERE id = $1");
    char prefix[32];
    rng_state = 7;
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->lookups, start); i++) {
        long id = (long)(rng_next() % (uint64_t)x->z->rows);
        reset(&st);
        bind_int(&st, 1, id);
        if (!step(&st)) die("point_select: no row for id %ld", id);
        const char *v = col_text(&st, 0);
        int n = snprintf(prefix, sizeof prefix, "v%ld-", id);
        if (strncmp(v, prefix, (size_t)n) != 0 || col_bytes(&st, 0) != 100) die("point_select: id %ld gave %.20s", id, v);
        note_digest(x->r, i, bytes_digest(v, col_bytes(&st, 0)));
        if (step(&st)) die("point_select: two rows for id %ld", id);
    }
    finish(x, i, start);
    finalize(&st);
    conn_close(&c);
}

static void wl_secondary_index(const context *x) {
    conn c = open_data(x, DATA_T);
    stmt st = prepare(&c, "SELECT id FROM t WHERE k = $1");
    rng_state = 11;
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->index_lookups, start); i++) {
        long k = (long)(rng_next() % (uint64_t)x->z->rows);
        reset(&st);
        bind_int(&st, 1, k);
        if (!step(&st)) die("secondary_index: no row for k %ld", k);
        int64_t id = col_int(&st, 0);
        if (t_k(id, x->z->rows) != k) die("secondary_index: k %ld gave id %" PRId64, k, id);
        note_digest(x->r, i, mix((uint64_t)id));
        if (step(&st)) die("secondary_index: two rows for k %ld", k);
    }
    finish(x, i, start);
    finalize(&st);
    conn_close(&c);
}

static void wl_range_scan_agg(const context *x) {
    conn c = open_data(x, DATA_T);
    stmt st = prepare(&c, "SELECT sum(k), count(*) FROM t WHERE id BETWEEN $1 AND $1 + 9999");
    rng_state = 9;
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->scans, start); i++) {
        long from = (long)(rng_next() % (uint64_t)(x->z->rows - 10000));
        reset(&st);
        bind_int(&st, 1, from);
        if (!step(&st)) die("range_scan_agg: no row");
        if (col_int(&st, 1) != 10000) die("range_scan_agg: count %" PRId64, col_int(&st, 1));
        note_digest(x->r, i, row_digest(&st));
        if (step(&st)) die("range_scan_agg: two rows");
    }
    finish(x, i, start);
    finalize(&st);
    conn_close(&c);
}

static void wl_full_scan(const context *x) {
    conn c = open_data(x, DATA_T);
    stmt st = prepare(&c, "SELECT count(*), sum(length(v)) FROM t");
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->full_scans, start); i++) {
        reset(&st);
        if (!step(&st)) die("full_scan: no row");
        if (col_int(&st, 0) != x->z->rows || (int64_t)col_number(&st, 1) != x->z->rows * 100)
            die("full_scan: got %s, %s", col_text(&st, 0), col_text(&st, 1));
        note_digest(x->r, i, row_digest(&st));
        if (step(&st)) die("full_scan: two rows");
    }
    finish(x, i, start);
    finalize(&st);
    conn_close(&c);
}

/* Per region: the sum of its orders' amounts (computed from the data's formulas). */
static int64_t *region_sums(const sizes *z) {
    int64_t *sums = calloc((size_t)z->regions, sizeof *sums);
    if (!sums) die("out of memory");
    for (long i = 0; i < z->orders; i++) sums[order_cid(i, z->customers) % z->regions] += order_amount(i);
    return sums;
}

static void join_orders(const context *x, const char *name, const char *sql, int by_name) {
    conn c = open_data(x, DATA_SHOP);
    stmt st = prepare(&c, sql);
    int64_t *sums = region_sums(x->z);
    long per_region = x->z->orders / x->z->regions;
    char region_name[32];
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->joins, start); i++) {
        long region = i % x->z->regions;
        reset(&st);
        if (by_name) {
            snprintf(region_name, sizeof region_name, "region-%ld", region);
            bind_text(&st, 1, region_name);
        } else {
            bind_int(&st, 1, region);
        }
        if (!step(&st)) die("%s: no row", name);
        if (col_int(&st, 0) != per_region || (int64_t)col_number(&st, 1) != sums[region])
            die("%s: region %ld gave count %s sum %s, expected %ld and %" PRId64, name, region,
                col_text(&st, 0), col_text(&st, 1), per_region, sums[region]);
        note_digest(x->r, i, row_digest(&st));
        if (step(&st)) die("%s: two rows", name);
    }
    finish(x, i, start);
    free(sums);
    finalize(&st);
    conn_close(&c);
}

static void wl_join_orders(const context *x) {
    join_orders(x, "join_orders",
                "SELECT count(*), sum(o.amount) FROM customers c JOIN orders o ON o.cid = c.id WHERE c.region = $1", 0);
}

static void wl_join_orders_3(const context *x) {
    join_orders(x, "join_orders_3",
                "SELECT count(*), sum(o.amount) FROM regions r JOIN customers c ON c.region = r.id "
                "JOIN orders o ON o.cid = c.id WHERE r.name = $1", 1);
}

static void wl_join_aggregate(const context *x) {
    conn c = open_data(x, DATA_SHOP);
    stmt st = prepare(&c, "SELECT c.region, count(*), sum(o.amount) FROM orders o JOIN customers c ON c.id = o.cid GROUP BY c.region");
    int64_t *sums = region_sums(x->z);
    long per_region = x->z->orders / x->z->regions;
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->join_aggregates, start); i++) {
        reset(&st);
        long rows = 0;
        uint64_t digest = 0;
        while (step(&st)) {
            int64_t region = col_int(&st, 0);
            if (region < 0 || region >= x->z->regions || col_int(&st, 1) != per_region || (int64_t)col_number(&st, 2) != sums[region])
                die("join_aggregate: region %" PRId64 " gave count %s sum %s", region, col_text(&st, 1), col_text(&st, 2));
            digest += row_digest(&st);
            rows++;
        }
        if (rows != x->z->regions) die("join_aggregate: %ld groups, expected %ld", rows, x->z->regions);
        note_digest(x->r, i, digest);
    }
    finish(x, i, start);
    free(sums);
    finalize(&st);
    conn_close(&c);
}

static void wl_group_by(const context *x) {
    conn c = open_data(x, DATA_BIG);
    stmt st = prepare(&c, "SELECT g, count(*), sum(x), avg(x) FROM big GROUP BY g");
    long groups = x->z->groups;
    int64_t *sums = calloc((size_t)groups, sizeof *sums);
    if (!sums) die("out of memory");
    for (long id = 0; id < x->z->rows; id++) sums[id % groups] += big_x(id);
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->group_bys, start); i++) {
        reset(&st);
        long rows = 0;
        uint64_t digest = 0;
        while (step(&st)) {
            int64_t g = col_int(&st, 0), count = col_int(&st, 1);
            int64_t sum = (int64_t)col_number(&st, 2);
            double avg = col_number(&st, 3);
            if (g < 0 || g >= groups || count != x->z->rows / groups || sum != sums[g] || fabs(avg * (double)count - (double)sum) > 1e-3 * (double)count)
                die("group_by: group %" PRId64 " gave count %s sum %s avg %s", g, col_text(&st, 1), col_text(&st, 2), col_text(&st, 3));
            digest += row_digest(&st);
            rows++;
        }
        if (rows != groups) die("group_by: %ld groups, expected %ld", rows, groups);
        note_digest(x->r, i, digest);
    }
    finish(x, i, start);
    free(sums);
    finalize(&st);
    conn_close(&c);
}

static void wl_order_limit(const context *x) {
    conn c = open_data(x, DATA_BIG);
    stmt st = prepare(&c, "SELECT id, x FROM big ORDER BY x DESC LIMIT 10");
    /* The expected ten: the largest x (all distinct), descending. */
    long top[10], count = 0;
    for (long id = 0; id < x->z->rows; id++) {
        long j = count < 10 ? count++ : 10;
        if (j == 10 && big_x(id) <= big_x(top[9])) continue;
        if (j == 10) j = 9;
        while (j > 0 && big_x(top[j - 1]) < big_x(id)) { top[j] = top[j - 1]; j--; }
        top[j] = id;
    }
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->order_limits, start); i++) {
        reset(&st);
        long rows = 0;
        uint64_t digest = 0;
        while (step(&st)) {
            if (rows >= 10 || col_int(&st, 0) != top[rows] || col_int(&st, 1) != big_x(top[rows]))
                die("order_limit: row %ld is (%s, %s), expected (%ld, %ld)", rows, col_text(&st, 0), col_text(&st, 1),
                    rows < 10 ? top[rows] : -1L, rows < 10 ? big_x(top[rows]) : -1L);
            digest += row_digest(&st);
            rows++;
        }
        if (rows != 10) die("order_limit: %ld rows", rows);
        note_digest(x->r, i, digest);
    }
    finish(x, i, start);
    finalize(&st);
    conn_close(&c);
}

static void wl_window_running_sum(const context *x) {
    conn c = open_data(x, DATA_BIG);
    stmt st = prepare(&c, "SELECT id, sum(x) OVER (PARTITION BY g ORDER BY id) FROM big");
    /* The total of all running sums, and of the ids. */
    long groups = x->z->groups;
    int64_t *running = calloc((size_t)groups, sizeof *running);
    if (!running) die("out of memory");
    int64_t expected = 0;
    for (long id = 0; id < x->z->rows; id++) {
        running[id % groups] += big_x(id);
        expected += running[id % groups];
    }
    free(running);
    long i = 0;
    double start = now();
    for (; more(x, i, x->z->windows, start); i++) {
        reset(&st);
        long rows = 0;
        int64_t total = 0, ids = 0;
        while (step(&st)) {
            ids += col_int(&st, 0);
            total += (int64_t)col_number(&st, 1);
            rows++;
        }
        if (rows != x->z->rows || total != expected || ids != (int64_t)x->z->rows * (x->z->rows - 1) / 2)
            die("window_running_sum: %ld rows, total %" PRId64 ", expected %" PRId64, rows, total, expected);
        note_digest(x->r, i, mix((uint64_t)total) + mix((uint64_t)ids));
    }
    finish(x, i, start);
    finalize(&st);
    conn_close(&c);
}

static void wl_fk_cascade_delete(const context *x) {
    conn c = open_data(x, DATA_FK);
    long base = (long)x->pair * x->z->deletes;
    stmt st = prepare(&c, "DELETE FROM parents WHERE id = $1");
    long i = 0;
    double start = now();
    conn_exec(&c, "BEGIN");
    for (; more(x, i, x->z->deletes, start); i++) {
        reset(&st);
        bind_int(&st, 1, base + i);
        run_to_end(&st);
    }
    conn_exec(&c, "COMMIT");
    finish(x, i, start);
    finalize(&st);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM children WHERE pid >= %ld AND pid < %ld", base, base + i);
    int64_t left = query_int(&c, sql);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM parents WHERE id >= %ld AND id < %ld", base, base + x->z->deletes);
    int64_t parents = query_int(&c, sql);
    if (left != 0 || parents != x->z->deletes - i)
        die("fk_cascade_delete: after deleting parents %ld..%ld, %" PRId64 " children and %" PRId64 " parents of the range are left",
            base, base + i - 1, left, parents);
    note_digest(x->r, 0, mix((uint64_t)(left + parents + i)) ^ mix((uint64_t)i));
    conn_close(&c);
    x->r->ndigests = 0;    /* engines stopped by the cap delete different counts: the checks above suffice */
}

static void wl_select_star(const context *x) {
    conn c = open_data(x, DATA_BIG);
    stmt st = prepare(&c, "SELECT * FROM big");
    int64_t ids = 0, xs = 0, lengths = 0, expected_x = 0;
    long rows = 0;
    for (long id = 0; id < x->z->rows; id++) expected_x += big_x(id);
    double start = now();
    reset(&st);
    int more_rows = step(&st);
    x->r->first_row_ms = (now() - start) * 1000;
    while (more_rows) {
        ids += col_int(&st, 0);
        col_int(&st, 1);
        xs += col_int(&st, 2);
        if (col_text(&st, 3)[0] != 'n') die("select_star: s is %s", col_text(&st, 3));
        lengths += col_bytes(&st, 3);
        rows++;
        more_rows = step(&st);
    }
    finish(x, rows, start);
    if (rows != x->z->rows || xs != expected_x || ids != (int64_t)x->z->rows * (x->z->rows - 1) / 2)
        die("select_star: %ld rows, sum(x) %" PRId64 ", expected %" PRId64, rows, xs, expected_x);
    note_digest(x->r, 0, mix((uint64_t)ids) + mix((uint64_t)xs) + mix((uint64_t)lengths));
    finalize(&st);
    conn_close(&c);
}

typedef struct {
    const char *name;
    const char *unit;       /* what ops/s counts */
    int data;
    void (*run)(const context *);
} workload;

static const workload workloads[] = {
    { "point_select", "lookups", DATA_T, wl_point_select },
    { "secondary_index", "lookups", DATA_T, wl_secondary_index },
    { "bulk_insert", "rows", DATA_NONE, wl_bulk_insert },
    { "full_scan", "scans", DATA_T, wl_full_scan },
    { "range_scan_agg", "scans", DATA_T, wl_range_scan_agg },
    { "join_orders", "queries", DATA_SHOP, wl_join_orders },
    { "join_orders_3", "queries", DATA_SHOP, wl_join_orders_3 },
    { "group_by", "queries", DATA_BIG, wl_group_by },
    { "order_limit", "queries", DATA_BIG, wl_order_limit },
    { "window_running_sum", "queries", DATA_BIG, wl_window_running_sum },
    { "join_aggregate", "queries", DATA_SHOP, wl_join_aggregate },
    { "fk_cascade_delete", "parents", DATA_FK, wl_fk_cascade_delete },
    { "select_star", "rows", DATA_BIG, wl_select_star },
};
#define WORKLOAD_COUNT ((int)(sizeof workloads / sizeof workloads[0]))

/* ---- Children --------------------------------------------------------------------------- */

typedef void (*child_job)(const context *);

/* Runs job in a forked child and returns what it reported, with its own peak RSS. */
static result run_child(child_job job, const context *x) {
    int fds[2];
    result r;
    memset(&r, 0, sizeof r);
    if (pipe(fds) != 0) die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        child_result = &r;
        child_fd = fds[1];
        context own = *x;
        own.r = &r;
        job(&own);
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        r.peak_rss_kib = usage.ru_maxrss;
        r.ok = 1;
        write_all(fds[1], &r, sizeof r);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fds[0], (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (got != sizeof r) {
        memset(&r, 0, sizeof r);
        if (WIFSIGNALED(status)) snprintf(r.error, sizeof r.error, "child killed by signal %d", WTERMSIG(status));
        else snprintf(r.error, sizeof r.error, "child exited with status %d without a report", WEXITSTATUS(status));
    }
    return r;
}

static int current_data;
static void build_data(const context *x) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", x->dir, datasets[current_data].name);
    if (mkdir(path, 0777) != 0) die("mkdir %s: %s", path, strerror(errno));
    data_path(path, sizeof path, x, current_data);
    conn c = conn_open(x->kind, path);
    double start = now();
    datasets[current_data].build(&c, x->z);
    /* SQLite plans joins well only with statistics (without them it scans all orders for
     * join_orders_3); Borealis has no ANALYZE (nor statistics) yet. */
    if (x->kind == SQLITE) conn_exec(&c, "ANALYZE");
    x->r->seconds = now() - start;
    conn_close(&c);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path) {
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- Reporting ---------------------------------------------------------------------------- */

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int n) {
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* A rate: whole numbers from 100 up, three significant digits below. */
static const char *rate_text(char *buffer, size_t size, double rate) {
    snprintf(buffer, size, rate >= 100 ? "%.0f" : "%.3g", rate);
    return buffer;
}

static void usage(void) {
    fprintf(stderr, "usage: bench [--quick] [--pairs N] [--cap SECONDS] [--dir D] [--workload NAME]…\nworkloads:");
    for (int i = 0; i < WORKLOAD_COUNT; i++) fprintf(stderr, " %s", workloads[i].name);
    fprintf(stderr, "\n");
    exit(2);
}

int main(int argc, char **argv) {
    int quick = 0, pairs = 5, selected[WORKLOAD_COUNT] = { 0 }, any_selected = 0;
    double cap = -1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/borealis-c-bench-%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0) quick = 1;
        else if (strcmp(argv[a], "--pairs") == 0 && a + 1 < argc) pairs = atoi(argv[++a]);
        else if (strcmp(argv[a], "--cap") == 0 && a + 1 < argc) cap = atof(argv[++a]);
        else if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc) snprintf(dir, sizeof dir, "%s/borealis-c-bench-%ld", argv[++a], (long)getpid());
        else if (strcmp(argv[a], "--workload") == 0 && a + 1 < argc) {
            const char *name = argv[++a];
            int found = 0;
            for (int i = 0; i < WORKLOAD_COUNT; i++)
                if (strcmp(workloads[i].name, name) == 0) selected[i] = found = any_selected = 1;
            if (!found) usage();
        } else usage();
    }
    if (pairs < 1) usage();
    sizes z = quick ? quick_sizes : full_sizes;
    if (quick && pairs == 5) pairs = 1;
    if (cap > 0) z.cap = cap;
    if ((long)pairs * z.deletes > z.parents) die("too many pairs for fk_cascade_delete's parents");

    double load[3] = { 0, 0, 0 };
    getloadavg(load, 3);
    printf("Borealis %s vs SQLite %s, %s sizes (%ld rows), %d pair%s, cap %.1f s per measurement, load %.2f %.2f %.2f\n",
           borealis_libversion(), sqlite3_libversion(), quick ? "quick" : "full", z.rows, pairs, pairs == 1 ? "" : "s",
           z.cap, load[0], load[1], load[2]);

    int needed[DATA_COUNT] = { 0 };
    for (int w = 0; w < WORKLOAD_COUNT; w++)
        if ((!any_selected || selected[w]) && workloads[w].data != DATA_NONE) needed[workloads[w].data] = 1;

    char engine_dirs[2][4096 + 16];
    if (mkdir(dir, 0777) != 0) die("mkdir %s: %s", dir, strerror(errno));
    int failed = 0;
    for (int e = 0; e < 2; e++) {
        snprintf(engine_dirs[e], sizeof engine_dirs[e], "%s/%s", dir, engine_names[e]);
        if (mkdir(engine_dirs[e], 0777) != 0) die("mkdir %s: %s", engine_dirs[e], strerror(errno));
        for (int d = 0; d < DATA_COUNT; d++) {
            if (!needed[d]) continue;
            context x = { (engine_kind)e, engine_dirs[e], &z, 0, NULL };
            current_data = d;
            result r = run_child(build_data, &x);
            if (!r.ok) {
                printf("setup %s on %s failed: %s\n", datasets[d].name, engine_names[e], r.error);
                failed = 1;
            } else {
                printf("setup %-5s %-8s %7.1f s\n", datasets[d].name, engine_names[e], r.seconds);
            }
        }
    }
    if (failed) {
        remove_tree(dir);
        return 1;
    }

    printf("\n%-19s %-8s %13s %13s %8s %19s %9s %9s\n", "workload", "unit", "borealis/s", "sqlite/s", "ratio",
           "min-max", "RSS B MiB", "RSS S MiB");
    double rates[2][64], first_row[2][64], ratios[64];
    for (int w = 0; w < WORKLOAD_COUNT; w++) {
        if (any_selected && !selected[w]) continue;
        const workload *wl = &workloads[w];
        long peak[2] = { 0, 0 };
        int ok = 1, n = 0;
        long ops[2] = { 0, 0 };
        for (int pair = 0; pair < pairs && ok && pair < 64; pair++) {
            result r[2];
            for (int k = 0; k < 2; k++) {
                int e = pair % 2 == 0 ? k : 1 - k;
                context x = { (engine_kind)e, engine_dirs[e], &z, pair, NULL };
                r[e] = run_child(wl->run, &x);
                if (!r[e].ok) {
                    printf("%s on %s failed: %s\n", wl->name, engine_names[e], r[e].error);
                    ok = 0;
                    break;
                }
            }
            if (!ok) break;
            int common = r[0].ndigests < r[1].ndigests ? r[0].ndigests : r[1].ndigests;
            for (int i = 0; i < common; i++) {
                if (r[0].digests[i] != r[1].digests[i]) {
                    printf("%s: the engines disagree on the answer of operation %d (pair %d)\n", wl->name, i, pair);
                    ok = 0;
                    break;
                }
            }
            for (int e = 0; e < 2; e++) {
                rates[e][n] = (double)r[e].ops / r[e].seconds;
                first_row[e][n] = r[e].first_row_ms;
                if (r[e].peak_rss_kib > peak[e]) peak[e] = r[e].peak_rss_kib;
                ops[e] += r[e].ops;
            }
            ratios[n] = rates[0][n] / rates[1][n];
            n++;
        }
        if (!ok || n == 0) {
            failed = 1;
            continue;
        }
        double low = ratios[0], high = ratios[0];
        for (int i = 1; i < n; i++) {
            if (ratios[i] < low) low = ratios[i];
            if (ratios[i] > high) high = ratios[i];
        }
        char range[32];
        snprintf(range, sizeof range, "%.3g-%.3g", low, high);
        double borealis_rate = median(rates[0], n), sqlite_rate = median(rates[1], n);
        char borealis_text[32], sqlite_text[32];
        printf("%-19s %-8s %13s %13s %8.3g %19s %9.1f %9.1f\n", wl->name, wl->unit,
               rate_text(borealis_text, sizeof borealis_text, borealis_rate), rate_text(sqlite_text, sizeof sqlite_text, sqlite_rate),
               median(ratios, n), range, peak[0] / 1024.0, peak[1] / 1024.0);
        if (wl->run == wl_select_star)
            printf("%-19s first row: borealis %.2f ms, sqlite %.2f ms (median)\n", "", median(first_row[0], n), median(first_row[1], n));
        if (ops[0] < ops[1])
            printf("%-19s (borealis ran %ld operations in all, sqlite %ld: capped at %.1f s per measurement)\n", "", ops[0], ops[1], z.cap);
        fflush(stdout);
    }
    remove_tree(dir);
    if (failed) printf("FAILED\n");
    return failed ? 1 : 0;
}
