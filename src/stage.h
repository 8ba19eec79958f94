/*
 * A private staging container next to DEST, and the atomic rename of its
 * content onto DEST (stage_publish); publishmode.c decides when.
 * Functions return 0 (or 1 where said) on success, -1 with errno and
 * s->step naming what failed.
 */
#ifndef LOCKBUILD_STAGE_H
#define LOCKBUILD_STAGE_H

#include <limits.h>
#include <stdbool.h>

#define STAGE_PREFIX ".lockbuild."
#define STAGE_RAND_LEN 8
/*
 * Where a directory cannot be exchanged (NFS), DEST is a symbolic link
 * to a version directory .lockbuild-v.XXXXXXXX.<base> next to it.  The
 * prefix must not be STAGE_PREFIX: stage_sweep removes those.
 */
#define STAGE_VERSION_PREFIX ".lockbuild-v."
/* A replaced version is kept at least this long (seconds): a Linux NFS
 * client trusts what it looked up in a directory for up to acdirmax
 * (60 s by default) and can still lead a reader into that version. */
#define STAGE_VERSION_GRACE 60
/* Descriptors kept aside while COMMAND runs, for what comes after. */
#define STAGE_RESERVE 8

struct stage {
	const char *dest;		/* as given */
	int parentfd;			/* DEST's directory */
	char dir[PATH_MAX];		/* DEST's directory, absolute */
	char base[NAME_MAX + 1];	/* DEST's last component */
	char container[NAME_MAX + 1];	/* .lockbuild.XXXXXXXX.<base> */
	int containerfd;		/* -1 when none */
	int reserve[STAGE_RESERVE];	/* -1 when none */
	char path[PATH_MAX];		/* LOCKBUILD_STAGING */
	bool file;			/* -f: output is one file */
	bool existed;			/* DEST existed when staging began */
	char target[NAME_MAX + 1];	/* DEST's version, if DEST is our
					   link (else "") */
	int grace;			/* STAGE_VERSION_GRACE; tests lower it */
	const char *step;		/* what failed, for messages */
};

enum dest_problem {
	DEST_OK,
	DEST_BAD_NAME,		/* empty, ".", "..", trailing '/', reserved */
	DEST_NAME_TOO_LONG,	/* last component over NAME_MAX bytes */
	DEST_NO_PARENT,		/* errno says why */
	DEST_PARENT_NOT_WRITABLE,
	DEST_IS_LINK,		/* a symbolic link lockbuild did not make */
	DEST_WRONG_TYPE		/* a directory where -f goes, or vice versa */
};

/* Checks DEST and opens its directory.  Sets up s; DEST_OK or a problem. */
enum dest_problem stage_init(struct stage *s, const char *dest, bool file);

/* Does DEST exist (as anything)? */
bool dest_exists(const struct stage *s);

/* The same, after making a network filesystem's client look again: for
 * the check after a wait, when another host may have published DEST. */
bool dest_exists_now(const struct stage *s);

/* Is path (which need not exist) DEST itself or inside it? */
bool dest_contains(const struct stage *s, const char *path);

/*
 * Creates the container and, for directory output, the empty staging
 * directory in it.  First it sets aside STAGE_RESERVE descriptors, given
 * back before publishing or removing, so that running short of them is
 * an error here (EMFILE, nothing created) and never one that leaves a
 * container behind.  The container is flock()ed through containerfd so
 * that a sweep by another process can tell it is in use.
 */
int stage_create(struct stage *s);

/* Gives back the descriptors set aside by stage_create (once COMMAND
 * has ended; publishing and removing do it too). */
void stage_release(struct stage *s);

/*
 * Did COMMAND produce output?  1 yes, 0 no: *why says what is missing
 * or wrong ("no file", "empty directory", "not a directory", ...).
 */
int stage_has_output(struct stage *s, bool allow_empty, const char **why);

/*
 * Publishes the staged output onto DEST: flush (unless no_fsync), then
 * rename or exchange, then flush DEST's directory.  With if_changed, an
 * identical DEST is left alone and *published is set false.  Where a
 * directory cannot be exchanged, or DEST is already our link, the tree
 * becomes a new version directory and DEST a link to it, flipped by one
 * rename; versions no longer needed are removed (stage.c says which).
 */
int stage_publish(struct stage *s, bool no_fsync, bool if_changed,
    bool *published);

/* Removes the container (and an old DEST swapped into it). */
int stage_remove(struct stage *s);

/* Closes the container descriptor without removing anything. */
void stage_close(struct stage *s);

/*
 * Removes staging containers of this DEST that no live lockbuild holds
 * (leftovers of killed builds).  Calls found() for each one removed.
 * Returns how many were removed.
 */
int stage_sweep(struct stage *s, void (*found)(const char *path, int err));

#endif
