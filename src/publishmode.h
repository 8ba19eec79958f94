/*
 * Publish mode's steps around COMMAND (-o DEST): checks before the lock,
 * staging once the lock is ours, and the verdict after COMMAND.
 * Each returns an exit status, or CARRY_ON (exitcode.h).
 */
#ifndef LOCKBUILD_PUBLISHMODE_H
#define LOCKBUILD_PUBLISHMODE_H

#include <sys/types.h>

#include "cli.h"
#include "owner.h"
#include "stage.h"

/* Before locking: validate DEST; --once with DEST present ends here. */
int publish_precheck(const struct cli *c, struct stage *s);

/*
 * With the lock held: --once re-check, leftovers swept, staging created,
 * environment set, and *argv set to COMMAND with -I substituted (free
 * with publish_free_argv).  rec gets dest and staging.
 */
int publish_prepare(const struct cli *c, struct stage *s, struct owner *rec,
    char ***argv);

/*
 * After COMMAND ended with wait status st: --check, output present,
 * publish or discard.  rec and the write callback let the owner record
 * say "publishing"; the callback's -1 (errno) says the lock is lost, and
 * then nothing is published (EXIT_LOCKLOST).  Returns the exit status.
 */
int publish_finish(const struct cli *c, struct stage *s, int st,
    int (*set_state)(const char *state, void *arg), void *arg);

/*
 * After a publish (publish_finish returned 0 or 128+N with DEST done),
 * removes the staging container and the replaced DEST in it: called
 * once the key is released.  An interrupted removal leaves a container
 * that the next publish of DEST sweeps (no live lockbuild holds its
 * flock any more).
 */
void publish_cleanup(const struct cli *c, struct stage *s);

void publish_free_argv(const struct cli *c, char **argv);

/* Prints one line about a removed (or unremovable) leftover. */
void report_leftover(const char *path, int err);

/*
 * Removes the staging leftovers next to a dead holder's recorded DEST,
 * when we wrote the record: record_uid is owner_read()'s writer, known
 * only for a lock file that no one but its owner may write.
 */
void publish_sweep_recorded(const struct owner *o, uid_t record_uid,
    void (*found)(const char *path, int err));

#endif
