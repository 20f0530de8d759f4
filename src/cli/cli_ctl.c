/*
 * cli_ctl — `zentrale ctl`: the CLI for an administrator already on the
 * machine, against a running server's control socket (root or the server's
 * own account may use it).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_ctl_main(int argc, char **argv)
{
	const char *data = "./var";
	int i = 1;
	/* Our own options come first; everything after is the command. */
	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--json") != 0) {
		if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc) {
			data = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: zentrale ctl [--data-dir DIR] [--json] [COMMAND...]\n"
			       "without a command: an interactive prompt; `help` lists commands\n");
			return CLI_OK;
		} else {
			fprintf(stderr, "usage: zentrale ctl [--data-dir DIR] [COMMAND...]\n");
			return CLI_USAGE;
		}
	}
	char sock[4096];
	snprintf(sock, sizeof(sock), "%s/" CLI_SOCKET, data);
	struct cli c = {.socket = sock, .client = "local"};
	if (i == argc && isatty(STDIN_FILENO))
		return cli_shell(&c);
	return cli_exec(&c, argc - i, argv + i);
}
