/*
 * main — argument parsing and dispatch to a role. `zentrale server` is the
 * supervisor; the other roles are started by it (re-executing this binary
 * with a private "_role" argument), never by hand.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core_log.h"
#include "core/core_proc.h"
#include "core/core_random.h"
#include "core/core_version.h"
#include "mgmt/mgmt.h"
#include "pbx/pbx.h"
#include "sbc/sbc.h"
#include "ssh/sshd.h"
#include "supervisor/supervisor.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zentrale server [--data-dir DIR] [--port-offset N] [--listen ADDR]...\n"
		"                       [--user USER]\n"
		"       zentrale restore [--data-dir DIR] [--passphrase-file FILE] ARCHIVE\n"
		"       zentrale bundle-key --out PREFIX\n"
		"       zentrale bundle --key PREFIX.key --out FILE [--binary PATH] [--version V]\n"
		"       zentrale version\n"
		"\n"
		"  --data-dir DIR     where all data lives (default ./var)\n"
		"  --port-offset N    add N to every port (8443, 443, ...) and the media range\n"
		"  --listen ADDR      listen on this address only (repeatable); overrides the\n"
		"                     interfaces chosen in management\n"
		"  --user USER        account to run as when started as root (default zentrale)\n");
}

static int server_main(int argc, char **argv)
{
	static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
					     {"port-offset", required_argument, NULL, 'o'},
					     {"listen", required_argument, NULL, 'l'},
					     {"user", required_argument, NULL, 'u'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct sup_options o = {.data_dir = "./var", .user = "zentrale"};
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "d:o:l:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.data_dir = optarg;
			break;
		case 'o':
			o.port_offset = (int)strtol(optarg, &end, 10);
			if (*end || o.port_offset < 0 || o.port_offset > 30000) {
				fprintf(stderr, "zentrale: --port-offset must be 0 to 30000\n");
				return 2;
			}
			break;
		case 'l':
			if (o.nlisten >= SUP_MAX_LISTEN_ADDRS) {
				fprintf(stderr, "zentrale: too many --listen addresses\n");
				return 2;
			}
			o.listen[o.nlisten++] = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	/* The launcher starts the supervisor (of the current release) as its child. */
	const char *sup = getenv("ZENTRALE_SUPERVISOR");
	if (!sup || strcmp(sup, "1") != 0)
		return sup_launch(o.data_dir, o.user, argv - 1);
	unsetenv("ZENTRALE_SUPERVISOR");
	return sup_run(&o);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	/* Random bytes from a buffer, not a system call each (core_random.h);
	 * before anything draws one. */
	if (core_random_install() < 0) {
		fprintf(stderr, "zentrale: cannot set libsodium's source of random bytes\n");
		return 1;
	}
	/* Only the server's processes retitle themselves. */
	if (strcmp(cmd, "server") == 0 || cmd[0] == '_')
		core_proc_title_init(argc, argv);
	if (strcmp(cmd, "server") == 0)
		return server_main(argc - 1, argv + 1);
	if (strcmp(cmd, "ctl") == 0)
		return cli_ctl_main(argc - 1, argv + 1);
	if (strcmp(cmd, "restore") == 0)
		return sup_restore_main(argc - 1, argv + 1);
	if (strcmp(cmd, "bundle") == 0)
		return cli_bundle_main(argc - 1, argv + 1);
	if (strcmp(cmd, "bundle-key") == 0)
		return cli_bundle_key_main(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("zentrale %s\n", ZENTRALE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	/* Roles the supervisor starts. */
	if (strcmp(cmd, "_mgmt") == 0)
		return mgmt_main();
	if (strcmp(cmd, "_sbc") == 0)
		return sbc_main();
	if (strcmp(cmd, "_ssh") == 0)
		return sshd_main();
	if (strcmp(cmd, "_pbx") == 0 && argc == 3)
		return pbx_main(argv[2]);
	fprintf(stderr, "zentrale: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
