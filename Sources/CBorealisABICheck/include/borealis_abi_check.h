/* Exercises every function of borealis.h from C; the Swift tests call it. */
#ifndef BOREALIS_ABI_CHECK_H
#define BOREALIS_ABI_CHECK_H
/* Runs the checks against a database in `directory`. Returns the number of failed checks and
 * writes a description of the first failures into `report`. */
int borealis_abi_check(const char *directory, char *report, int report_size);
#endif
