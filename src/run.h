/* The lock-and-run flow (and, with -o, publish) behind the command line. */
#ifndef LOCKBUILD_RUN_H
#define LOCKBUILD_RUN_H

#include "cli.h"

/* Runs the whole thing; returns lockbuild's exit status. */
int run(const struct cli *c);

#endif
