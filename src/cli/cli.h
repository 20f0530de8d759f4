/*
 * cli — the administrator's command line, for SSH sessions and for
 * `zentrale ctl` on the machine itself. Every command is a call to the
 * management API over its local control socket (run/mgmt.sock), so the CLI
 * has exactly the powers and rules of the API and implements none of its
 * own. Output is aligned tables for people, or JSON with --json.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#define CLI_OK	  0
#define CLI_ERROR 1 /* the operation failed; one line on stderr says why */
#define CLI_USAGE 2 /* the command was not understood */

/* The management API's local control socket, relative to the data dir:
 * mgmt serves it, trusted as the administrator; SSH sessions and
 * `zentrale ctl` are its clients (through this library). */
#define CLI_SOCKET "run/mgmt.sock"

struct cli {
	const char *socket; /* the API's control socket */
	const char *client; /* address of the person, for the log and throttling */
	const char *admin;  /* the administrator logged in over SSH (NULL: zentrale ctl) */
	bool removed;	    /* management answered that this administrator is gone */
	bool json;	    /* --json given */
	bool interactive;   /* a person at a terminal */
};

/* cli_client.c: one API call; returns the HTTP status (0 if unreachable),
 * with the JSON answer in *out (NULL if none). */
int cli_api(struct cli *c, const char *method, const char *path, json_t *body, json_t **out);
/* Turns an API answer into an exit code, printing its error if any. */
int cli_check(int status, json_t *answer);

/* cli_commands.c */
int cli_exec(struct cli *c, int argc, char **argv);
/* Words that may follow `words` (for completion), as a NULL-terminated list. */
char **cli_complete(struct cli *c, int nwords, char **words, const char *prefix);
/* Splits a command line like a shell does (quotes, backslashes); -1 if unbalanced. */
int cli_split(const char *line, int max, char **argv);
void cli_free_words(int argc, char **argv);

/* cli_render.c */
/* Prints an aligned table: headers, then rows of strings. */
void cli_table(FILE *f, const char *const *headers, int ncols, json_t *rows);
void cli_print_json(json_t *j);
char *cli_ago(long long unix_time);

/* cli_shell.c: the interactive prompt with line editing, history, completion. */
int cli_shell(struct cli *c);

/* `zentrale ctl [--data-dir DIR] [COMMAND...]` */
int cli_ctl_main(int argc, char **argv);

/* cli_bundle.c: signed release bundles for system updates. */
int cli_bundle_key_main(int argc, char **argv);
int cli_bundle_main(int argc, char **argv);

#endif
