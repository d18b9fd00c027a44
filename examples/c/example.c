/* A Borealis C client: open, create, insert with bindings inside a transaction, query, handle
 * errors, close. Build (after scripts/build-c-library):
 *   cc -std=c11 -I../../Include example.c -L../../.build/release -lborealis \
 *      -Wl,-rpath,"$(cd ../../.build/release && pwd)" -o example
 */
#include <borealis.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(borealis *db, const char *what) {
    fprintf(stderr, "%s: %s (SQLSTATE %s)\n", what, borealis_errmsg(db), borealis_sqlstate(db));
    borealis_close(db);
    return 1;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : ":memory:";
    borealis *db = NULL;
    if (borealis_open(path, &db) != BOREALIS_OK) return fail(db, "open");

    char *error = NULL;
    if (borealis_exec(db, "CREATE TABLE IF NOT EXISTS fruit(id SERIAL PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(6,2))",
                      NULL, NULL, &error) != BOREALIS_OK) {
        fprintf(stderr, "create: %s\n", error);
        borealis_free(error);
        return fail(db, "create");
    }

    /* Insert three rows with bindings, in one transaction (one durable commit). */
    const char *names[] = { "apple", "pear", "plum" };
    const double prices[] = { 1.25, 2.5, 0.75 };
    borealis_stmt *insert = NULL;
    if (borealis_exec(db, "BEGIN", NULL, NULL, NULL) != BOREALIS_OK) return fail(db, "begin");
    if (borealis_prepare(db, "INSERT INTO fruit(name, price) VALUES ($1, $2)", -1, &insert, NULL) != BOREALIS_OK)
        return fail(db, "prepare");
    for (int i = 0; i < 3; i++) {
        borealis_bind_text(insert, 1, names[i], -1, BOREALIS_TRANSIENT);
        borealis_bind_double(insert, 2, prices[i]);
        if (borealis_step(insert) != BOREALIS_DONE) return fail(db, "insert");
        borealis_reset(insert);
    }
    borealis_finalize(insert);
    if (borealis_exec(db, "COMMIT", NULL, NULL, NULL) != BOREALIS_OK) return fail(db, "commit");

    /* A constraint violation is an error with a SQLSTATE, and the connection stays usable. */
    if (borealis_exec(db, "INSERT INTO fruit(id, name) VALUES (1, 'dup')", NULL, NULL, NULL) == BOREALIS_CONSTRAINT)
        printf("duplicate rejected: %s\n", borealis_sqlstate(db));

    borealis_stmt *query = NULL;
    if (borealis_prepare(db, "SELECT name, price FROM fruit WHERE price > ? ORDER BY price", -1, &query, NULL) != BOREALIS_OK)
        return fail(db, "prepare");
    borealis_bind_double(query, 1, 1.0);
    int rc;
    while ((rc = borealis_step(query)) == BOREALIS_ROW)
        printf("%s costs %s\n", borealis_column_text(query, 0), borealis_column_text(query, 1));
    if (rc != BOREALIS_DONE) return fail(db, "query");
    borealis_finalize(query);
    return borealis_close(db) == BOREALIS_OK ? 0 : 1;
}
