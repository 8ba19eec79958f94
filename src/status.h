/* --status and --clean. */
#ifndef LOCKBUILD_STATUS_H
#define LOCKBUILD_STATUS_H

#include <stdio.h>

#include "cli.h"

int status_main(const struct cli *c);
int clean_main(const struct cli *c);

/* Writes s as a JSON string (quotes included); invalid UTF-8 as U+FFFD. */
void json_string(FILE *out, const char *s);

#endif
