/*
 * cli_commands — every CLI command, each a call to the management API and
 * a rendering of its answer. The API validates; the CLI only asks.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/core_auth.h"
#include "cli.h"

struct cli_cmd {
	const char *group; /* first word */
	const char *verb;  /* second word, NULL for one-word commands */
	const char *usage; /* arguments */
	const char *help;
	int min_args, max_args; /* after the command words, options excluded */
	int (*run)(struct cli *c, int argc, char **argv);
};

/* ---- helpers ---- */

static int call(struct cli *c, const char *method, const char *path, json_t *body, json_t **out)
{
	int st = cli_api(c, method, path, body, out);
	json_decref(body);
	return cli_check(st, *out);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static const char *num(json_t *o, const char *k)
{
	static char buf[8][32];
	static int i;
	char *b = buf[i++ % 8];
	json_t *v = json_object_get(o, k);
	if (json_is_real(v))
		snprintf(b, 32, "%.1f", json_real_value(v));
	else
		snprintf(b, 32, "%lld", (long long)json_integer_value(v));
	return b;
}

static char *join(json_t *arr, const char *key)
{
	static char buf[1024];
	size_t i, o = 0;
	json_t *it;
	buf[0] = '\0';
	json_array_foreach(arr, i, it)
	{
		const char *s = key ? str(it, key) : json_string_value(it);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? ", " : "", s ? s : "");
		if (o >= sizeof(buf))
			break;
	}
	return buf;
}

static char *path_of(const char *fmt, const char *arg)
{
	/* Arguments go into URL paths: keep them to safe characters. */
	static char buf[512];
	char safe[256];
	size_t o = 0;
	for (const char *p = arg; *p && o + 4 < sizeof(safe); p++) {
		if (isalnum((unsigned char)*p) || strchr("-._:", *p))
			safe[o++] = *p;
		else
			o += (size_t)snprintf(safe + o, sizeof(safe) - o, "%%%02X",
					      (unsigned char)*p);
	}
	safe[o] = '\0';
	snprintf(buf, sizeof(buf), fmt, safe);
	return buf;
}

static int print_or(struct cli *c, json_t *ans, const char *done)
{
	if (c->json)
		cli_print_json(ans);
	else if (done)
		printf("%s\n", done);
	json_decref(ans);
	return CLI_OK;
}

/* GETs path for a command that shows something: the answer to render, or
 * NULL when nothing is left to do (an error was printed, or the JSON). */
static json_t *fetch(struct cli *c, const char *path, int *rc)
{
	json_t *a;
	*rc = call(c, "GET", path, NULL, &a);
	if (*rc) {
		json_decref(a);
		return NULL;
	}
	if (c->json) {
		print_or(c, a, NULL);
		return NULL;
	}
	return a;
}

static bool confirm(struct cli *c, const char *question)
{
	if (!c->interactive)
		return false;
	printf("%s [y/N] ", question);
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

/* ---- status ---- */

static int cmd_status(struct cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc;
	json_t *a = fetch(c, "/system", &rc);
	if (!a)
		return rc;
	json_t *ps = json_object_get(a, "phone_systems"), *cpu = json_object_get(a, "cpu"),
	       *mem = json_object_get(a, "memory"), *disk = json_object_get(a, "disk");
	long long up = json_integer_value(json_object_get(a, "uptime_seconds"));
	printf("version        %s\n", str(a, "version"));
	printf("uptime         %lldd %02lld:%02lld:%02lld\n", up / 86400, up / 3600 % 24,
	       up / 60 % 60, up % 60);
	printf("phone systems  %s total: %s running, %s starting, %s stopped, %s failed\n",
	       num(ps, "total"), num(ps, "running"), num(ps, "starting"), num(ps, "stopped"),
	       num(ps, "failed"));
	json_t *load = json_object_get(cpu, "load");
	printf("cpu            %s%% of %s cores, load %.2f %.2f %.2f\n", num(cpu, "used_percent"),
	       num(cpu, "cores"), json_real_value(json_array_get(load, 0)),
	       json_real_value(json_array_get(load, 1)), json_real_value(json_array_get(load, 2)));
	printf("memory         %s%% used, zentrale %.1f MiB\n", num(mem, "used_percent"),
	       (double)json_integer_value(json_object_get(mem, "zentrale_rss_bytes")) / 1048576);
	printf("disk           %s%% used, %.1f GiB free\n", num(disk, "used_percent"),
	       (double)json_integer_value(json_object_get(disk, "free_bytes")) / 1073741824);
	json_decref(a);
	return CLI_OK;
}

/* ---- phone systems ---- */

static int cmd_ps_list(struct cli *c, int argc, char **argv)
{
	size_t i;
	(void)argc;
	(void)argv;
	json_t *it;
	int rc;
	json_t *a = fetch(c, "/phone-systems", &rc);
	if (!a)
		return rc;
	static const char *const h[] = {"NAME", "STATE", "SINCE", "RESTARTS", "PATH"};
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "phone_systems"), i, it)
	{
		json_array_append_new(
			rows, json_pack("[s,s,s,s,s]", str(it, "name"), str(it, "state"),
					cli_ago(json_integer_value(json_object_get(it, "since"))),
					num(it, "restarts"), str(it, "path")));
	}
	if (json_array_size(rows))
		cli_table(stdout, h, 5, rows);
	else
		printf("no phone systems yet; create one with: phone-system create NAME\n");
	json_decref(rows);
	json_decref(a);
	return CLI_OK;
}

static int cmd_ps_show(struct cli *c, int argc, char **argv)
{
	int rc;
	(void)argc;
	json_t *a = fetch(c, path_of("/phone-systems/%s", argv[0]), &rc);
	if (!a)
		return rc;
	printf("name      %s\nstate     %s\nsince     %s\n", str(a, "name"), str(a, "state"),
	       cli_ago(json_integer_value(json_object_get(a, "since"))));
	printf("created   %s\nrestarts  %s\npath      %s\n",
	       cli_ago(json_integer_value(json_object_get(a, "created"))), num(a, "restarts"),
	       str(a, "path"));
	json_decref(a);
	return CLI_OK;
}

static const char *opt_value(int *argc, char **argv, const char *name)
{
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], name) == 0 && i + 1 < *argc) {
			const char *v = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], sizeof(char *) * (size_t)(*argc - i - 2));
			*argc -= 2;
			return v;
		}
	}
	return NULL;
}

static bool opt_flag(int *argc, char **argv, const char *name)
{
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], name) == 0) {
			memmove(&argv[i], &argv[i + 1], sizeof(char *) * (size_t)(*argc - i - 1));
			(*argc)--;
			return true;
		}
	}
	return false;
}

static int cmd_ps_create(struct cli *c, int argc, char **argv)
{
	const char *pw = opt_value(&argc, argv, "--admin-password");
	if (argc != 1) {
		fprintf(stderr, "usage: phone-system create NAME [--admin-password PASSWORD]\n");
		return CLI_USAGE;
	}
	/* Without a password the server generates one and answers it once. */
	json_t *a;
	if (call(c, "POST", "/phone-systems",
		 json_pack("{s:s, s:s?}", "name", argv[0], "admin_password", pw), &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	printf("created phone system %s (%s)\n", str(a, "name"), str(a, "state"));
	if (*str(a, "admin_password"))
		printf("its admin password (shown once): %s\n", str(a, "admin_password"));
	json_decref(a);
	return CLI_OK;
}

static int cmd_ps_admin_password(struct cli *c, int argc, char **argv)
{
	const char *pw = opt_value(&argc, argv, "--password");
	if (argc != 1) {
		fprintf(stderr, "usage: phone-system admin-password NAME [--password PASSWORD]\n");
		return CLI_USAGE;
	}
	char path[600];
	snprintf(path, sizeof(path), "%s/admin-password", path_of("/phone-systems/%s", argv[0]));
	json_t *a;
	if (call(c, "POST", path, json_pack("{s:s?}", "admin_password", pw), &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	printf("new admin password for %s set; its admin's sessions have ended\n", argv[0]);
	if (*str(a, "admin_password"))
		printf("the new admin password (shown once): %s\n", str(a, "admin_password"));
	json_decref(a);
	return CLI_OK;
}

static int ps_action(struct cli *c, const char *name, const char *action, const char *done)
{
	char path[512], msg[160];
	json_t *a;
	snprintf(path, sizeof(path), "%s/%s", path_of("/phone-systems/%s", name), action);
	if (call(c, "POST", path, NULL, &a))
		return json_decref(a), CLI_ERROR;
	snprintf(msg, sizeof(msg), "phone system %s %s", name, done);
	return print_or(c, a, msg);
}

static int cmd_ps_start(struct cli *c, int argc, char **argv)
{
	(void)argc;
	return ps_action(c, argv[0], "start", "is running");
}

static int cmd_ps_stop(struct cli *c, int argc, char **argv)
{
	(void)argc;
	return ps_action(c, argv[0], "stop", "is stopped");
}

static int cmd_ps_delete(struct cli *c, int argc, char **argv)
{
	bool yes = opt_flag(&argc, argv, "--yes");
	char q[160], msg[160];
	if (argc != 1) {
		fprintf(stderr, "usage: phone-system delete NAME [--yes]\n");
		return CLI_USAGE;
	}
	snprintf(q, sizeof(q), "Delete phone system %s and all its data?", argv[0]);
	if (!yes && !confirm(c, q)) {
		fprintf(stderr, "error: not deleted%s\n",
			c->interactive ? "" : " (add --yes to delete without asking)");
		return CLI_ERROR;
	}
	json_t *a;
	if (call(c, "DELETE", path_of("/phone-systems/%s", argv[0]), NULL, &a))
		return json_decref(a), CLI_ERROR;
	snprintf(msg, sizeof(msg), "deleted phone system %s", argv[0]);
	return print_or(c, a, msg);
}

/* ---- interfaces and the SBC ---- */

static int cmd_if_list(struct cli *c, int argc, char **argv)
{
	size_t i;
	(void)argc;
	(void)argv;
	json_t *it;
	int rc;
	json_t *a = fetch(c, "/interfaces", &rc);
	if (!a)
		return rc;
	static const char *const h[] = {"INTERFACE", "STATE", "MAC", "ADDRESSES", "SERVICES"};
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "interfaces"), i, it)
	{
		char addrs[512], svcs[512];
		snprintf(addrs, sizeof(addrs), "%s", join(json_object_get(it, "addresses"), NULL));
		snprintf(svcs, sizeof(svcs), "%s",
			 join(json_object_get(it, "services"), "service"));
		json_array_append_new(
			rows, json_pack("[s,s,s,s,s]", str(it, "name"),
					json_is_true(json_object_get(it, "up")) ? "up" : "down",
					str(it, "mac"), addrs, svcs));
	}
	cli_table(stdout, h, 5, rows);
	json_t *l = json_object_get(a, "listen");
	printf("\nmanagement and SSH listen on: %s\n",
	       json_array_size(json_object_get(l, "management"))
		       ? join(json_object_get(l, "management"), NULL)
		       : "all interfaces");
	printf("the SBC listens on: %s\n", json_array_size(json_object_get(l, "sbc"))
						   ? join(json_object_get(l, "sbc"), NULL)
						   : "all interfaces");
	if (json_is_true(json_object_get(a, "fixed_by_command_line")))
		printf("(fixed by --listen on the server's command line)\n");
	json_decref(rows);
	json_decref(a);
	return CLI_OK;
}

static int cmd_if_set(struct cli *c, int argc, char **argv)
{
	const char *which = argv[0];
	if (strcmp(which, "management") != 0 && strcmp(which, "sbc") != 0) {
		fprintf(stderr, "usage: interface set management|sbc INTERFACE...|all\n");
		return CLI_USAGE;
	}
	json_t *list = json_array();
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "all") != 0)
			json_array_append_new(list, json_string(argv[i]));
	json_t *a;
	if (call(c, "PUT", "/interfaces", json_pack("{s:o}", which, list), &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, "listening interfaces changed");
}

/* The relay's range and the calls it holds: RTP on even ports, a pair
 * (RTP, RTCP) per leg, two legs per call: 4 ports a call; with rtcp-mux
 * on both legs, 2. */
static void print_media_ports(json_t *media)
{
	long lo = (long)json_integer_value(json_object_get(media, "port_min"));
	long hi = (long)json_integer_value(json_object_get(media, "port_max"));
	long pairs = hi >= lo + (lo & 1) ? (hi - (lo + (lo & 1)) + 1) / 2 : 0;
	printf("media relay ports: %ld-%ld (%ld calls, 4 ports each; %ld with rtcp-mux, 2 each)\n",
	       lo, hi, pairs / 2, pairs);
}

/* Each interface's NAT settings and the external address the SBC uses. */
static void print_nat(json_t *nat)
{
	size_t i, k;
	json_t *it, *n;
	json_array_foreach(nat, i, it)
	{
		printf("NAT on %s: ", str(it, "interface"));
		if (*str(it, "external_address"))
			printf("external address %s", str(it, "external_address"));
		else
			printf("STUN server %s", str(it, "stun_server"));
		printf(", in use: %s", *str(it, "in_use") ? str(it, "in_use") : "none");
		if (*str(it, "stun_error"))
			printf(" (%s)", str(it, "stun_error"));
		printf("; inside:");
		json_array_foreach(json_object_get(it, "inside"), k, n)
			printf(" %s", json_string_value(n));
		printf("\n");
	}
}

static int cmd_sbc_show(struct cli *c, int argc, char **argv)
{
	json_t *a, *it, *s;
	size_t i, j;
	(void)argc;
	(void)argv;
	if (call(c, "GET", "/interfaces", NULL, &a))
		return json_decref(a), CLI_ERROR;
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "interfaces"), i, it)
	{
		json_array_foreach(json_object_get(it, "services"), j, s)
		{
			if (strncmp(str(s, "service"), "sbc-", 4) == 0 ||
			    strncmp(str(s, "service"), "sip-", 4) == 0)
				json_array_append_new(rows,
						      json_pack("[s,s,s,s]", str(s, "service"),
								str(it, "name"), str(s, "addr"),
								num(s, "port")));
		}
	}
	if (c->json) {
		json_decref(rows);
		return print_or(c,
				json_pack("{s:O}", "sbc",
					  json_object_get(json_object_get(a, "listen"), "sbc")),
				NULL);
	}
	static const char *const h[] = {"SERVICE", "INTERFACE", "ADDRESS", "PORT"};
	cli_table(stdout, h, 4, rows);
	json_t *sbc = NULL;
	if (cli_api(c, "GET", "/sbc", NULL, &sbc) == 200) {
		printf("\nplain SIP on 5060: %s\n",
		       json_is_true(json_object_get(sbc, "plain_sip")) ? "on" : "off");
		print_media_ports(json_object_get(sbc, "media"));
		print_nat(json_object_get(sbc, "nat"));
	}
	json_decref(sbc);
	json_decref(rows);
	json_decref(a);
	return CLI_OK;
}

static int cmd_sbc_plain_sip(struct cli *c, int argc, char **argv)
{
	(void)argc;
	bool on = strcmp(argv[0], "on") == 0;
	if (!on && strcmp(argv[0], "off") != 0) {
		fprintf(stderr, "usage: sbc plain-sip on|off\n");
		return CLI_USAGE;
	}
	json_t *a;
	if (call(c, "PUT", "/sbc", json_pack("{s:b}", "plain_sip", on), &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, on ? "plain SIP on 5060 is on" : "plain SIP on 5060 is off");
}

static int port_arg(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return errno || end == s || *end || v < 0 || v > 65535 ? -1 : (int)v;
}

/* The range is checked where it is applied (the supervisor); here only that
 * both are port numbers. */
static int cmd_sbc_media_ports(struct cli *c, int argc, char **argv)
{
	(void)argc;
	int lo = port_arg(argv[0]), hi = port_arg(argv[1]);
	if (lo < 0 || hi < 0) {
		fprintf(stderr, "usage: sbc media-ports MIN MAX\n");
		return CLI_USAGE;
	}
	json_t *a;
	char done[128];
	if (call(c, "PUT", "/sbc",
		 json_pack("{s:{s:i, s:i}}", "media", "port_min", lo, "port_max", hi), &a))
		return json_decref(a), CLI_ERROR;
	snprintf(done, sizeof(done),
		 "the media relay uses ports %d-%d from now on; calls in progress keep theirs", lo,
		 hi);
	return print_or(c, a, done);
}

/* sbc nat IFACE external ADDRESS|stun HOST:PORT [NETWORK...] | off: the
 * values are checked where they are kept (the supervisor). */
static int cmd_sbc_nat(struct cli *c, int argc, char **argv)
{
	static const char usage[] =
		"usage: sbc nat INTERFACE external ADDRESS|stun HOST:PORT [NETWORK...] | off\n";
	const char *iface = argv[0];
	bool off = argc == 2 && strcmp(argv[1], "off") == 0;
	bool ext = argc >= 3 && strcmp(argv[1], "external") == 0;
	bool stun = argc >= 3 && strcmp(argv[1], "stun") == 0;
	if ((!off && !ext && !stun) || strchr(iface, '/') || strchr(iface, '?') ||
	    strchr(iface, '%') || strlen(iface) > 64) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	char path[96], done[256];
	snprintf(path, sizeof(path), "/sbc/nat/%s", iface);
	json_t *a, *body = NULL;
	if (!off) {
		body = json_pack("{s:s}", ext ? "external_address" : "stun_server", argv[2]);
		if (argc > 3) {
			json_t *nets = json_array();
			for (int i = 3; i < argc; i++)
				json_array_append_new(nets, json_string(argv[i]));
			json_object_set_new(body, "local_networks", nets);
		}
	}
	if (call(c, off ? "DELETE" : "PUT", path, body, &a))
		return json_decref(a), CLI_ERROR;
	if (off)
		snprintf(done, sizeof(done), "NAT on %s is off: peers are told its own address",
			 iface);
	else if (ext)
		snprintf(done, sizeof(done),
			 "peers outside %s's networks are told %s from now on (calls in progress "
			 "keep what they were told)",
			 iface, argv[2]);
	else
		snprintf(done, sizeof(done),
			 "the SBC asks %s for %s's external address ('sbc show' shows it)", argv[2],
			 iface);
	return print_or(c, a, done);
}

/* ---- the phones' VPN ---- */

static int cmd_vpn_show(struct cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc;
	size_t i;
	json_t *it, *a = fetch(c, "/vpn", &rc);
	if (!a)
		return rc;
	if (json_is_true(json_object_get(a, "running")))
		printf("VPN: running on TCP %s, tunnel %s (%s), profiles name %s\n", num(a, "port"),
		       str(a, "address"), str(a, "subnet"),
		       *str(a, "host") ? str(a, "host") : "(no host set)");
	else
		printf("VPN: %s%s%s\n", json_is_true(json_object_get(a, "enabled")) ? "on" : "off",
		       *str(a, "error") ? ", not running: " : "", str(a, "error"));
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "clients"), i, it)
	{
		json_t *k = json_object_get(it, "connected");
		k = json_is_object(k) ? k : NULL;
		json_array_append_new(rows, json_pack("[s,s,s]", str(it, "name"),
						      k ? str(k, "vpn_address") : "-",
						      k ? str(k, "address") : "not connected"));
	}
	static const char *const h[] = {"CLIENT", "VPN ADDRESS", "CONNECTED FROM"};
	if (json_array_size(rows)) {
		printf("\n");
		cli_table(stdout, h, 3, rows);
	}
	json_decref(rows);
	json_decref(a);
	return CLI_OK;
}

static int cmd_vpn_switch(struct cli *c, int argc, char **argv)
{
	(void)argc;
	bool on = strcmp(argv[0], "on") == 0;
	if (!on && strcmp(argv[0], "off") != 0) {
		fprintf(stderr, "usage: vpn switch on|off\n");
		return CLI_USAGE;
	}
	json_t *a;
	if (call(c, "PUT", "/vpn", json_pack("{s:b}", "enabled", on), &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, on ? "the VPN on 8885 is on" : "the VPN on 8885 is off");
}

static int cmd_vpn_set(struct cli *c, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[0], "subnet") != 0 && strcmp(argv[0], "host") != 0) {
		fprintf(stderr, "error: unknown VPN setting '%s' (known: subnet, host)\n", argv[0]);
		return CLI_USAGE;
	}
	json_t *a;
	if (call(c, "PUT", "/vpn", json_pack("{s:s}", argv[0], argv[1]), &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, "saved");
}

static int cmd_vpn_add(struct cli *c, int argc, char **argv)
{
	(void)argc;
	json_t *a;
	if (call(c, "POST", "/vpn/clients", json_pack("{s:s}", "name", argv[0]), &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, "added; its profile: vpn profile NAME");
}

static int cmd_vpn_revoke(struct cli *c, int argc, char **argv)
{
	(void)argc;
	json_t *a;
	if (call(c, "DELETE", path_of("/vpn/clients/%s", argv[0]), NULL, &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, "revoked");
}

static int cmd_vpn_profile(struct cli *c, int argc, char **argv)
{
	(void)argc;
	json_t *a;
	if (call(c, "GET", path_of("/vpn/clients/%s/profile?format=json", argv[0]), NULL, &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	fputs(str(a, "profile"), stdout);
	json_decref(a);
	return CLI_OK;
}

static int cmd_blocked_list(struct cli *c, int argc, char **argv)
{
	size_t i;
	(void)argc;
	(void)argv;
	json_t *it;
	int rc;
	json_t *a = fetch(c, "/blocked", &rc);
	if (!a)
		return rc;
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "blocked"), i, it)
	{
		char left[32];
		snprintf(left, sizeof(left), "%ss", num(it, "seconds_left"));
		json_array_append_new(
			rows, json_pack("[s,s,s]", str(it, "address"), left, str(it, "reason")));
	}
	static const char *const h[] = {"ADDRESS", "BLOCKED FOR", "REASON"};
	if (json_array_size(rows))
		cli_table(stdout, h, 3, rows);
	else
		printf("no address is blocked\n");
	json_decref(rows);
	json_decref(a);
	return CLI_OK;
}

static int cmd_blocked_remove(struct cli *c, int argc, char **argv)
{
	json_t *a;
	(void)argc;
	if (call(c, "DELETE", path_of("/blocked/%s", argv[0]), NULL, &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, "unblocked");
}

/* ---- SSH keys, settings ---- */

static int cmd_key_list(struct cli *c, int argc, char **argv)
{
	size_t i;
	(void)argc;
	(void)argv;
	json_t *it;
	int rc;
	json_t *a = fetch(c, "/ssh", &rc);
	if (!a)
		return rc;
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "authorized_keys"), i, it)
		json_array_append_new(rows, json_pack("[s,s,s,s]", num(it, "id"), str(it, "type"),
						      str(it, "fingerprint"), str(it, "comment")));
	static const char *const h[] = {"ID", "TYPE", "FINGERPRINT", "COMMENT"};
	if (json_array_size(rows))
		cli_table(stdout, h, 4, rows);
	else
		printf("no SSH keys; add one with: ssh-key add 'ssh-ed25519 AAAA... comment'\n");
	json_decref(rows);
	printf("\nhost keys of this server:\n");
	json_array_foreach(json_object_get(a, "host_keys"), i, it)
		printf("  %-20s %s\n", str(it, "type"), str(it, "fingerprint"));
	json_decref(a);
	return CLI_OK;
}

static int cmd_key_add(struct cli *c, int argc, char **argv)
{
	char line[16384] = "";
	size_t o = 0;
	for (int i = 0; i < argc && o < sizeof(line); i++) /* the key may arrive in pieces */
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s", i ? " " : "", argv[i]);
	json_t *a;
	if (call(c, "POST", "/ssh/keys", json_pack("{s:s}", "key", line), &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	printf("added key %s (%s)\n", num(a, "id"), str(a, "fingerprint"));
	json_decref(a);
	return CLI_OK;
}

static int cmd_key_delete(struct cli *c, int argc, char **argv)
{
	json_t *a;
	(void)argc;
	if (call(c, "DELETE", path_of("/ssh/keys/%s", argv[0]), NULL, &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, "deleted");
}

static int cmd_settings_show(struct cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc;
	json_t *a = fetch(c, "/settings", &rc);
	if (!a)
		return rc;
	printf("session-ttl  %s seconds\n", num(a, "session_ttl"));
	json_decref(a);
	return CLI_OK;
}

static int cmd_settings_set(struct cli *c, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[0], "session-ttl") != 0) {
		fprintf(stderr, "error: unknown setting '%s' (known: session-ttl)\n", argv[0]);
		return CLI_USAGE;
	}
	char *end;
	long long v = strtoll(argv[1], &end, 10);
	if (*end) {
		fprintf(stderr, "error: session-ttl takes a number of seconds\n");
		return CLI_USAGE;
	}
	json_t *a;
	if (call(c, "PUT", "/settings", json_pack("{s:I}", "session_ttl", (json_int_t)v), &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, "saved");
}

/* ---- administrators ---- */

static int cmd_admin_list(struct cli *c, int argc, char **argv)
{
	size_t i;
	json_t *it;
	int rc;
	(void)argc;
	(void)argv;
	json_t *a = fetch(c, "/admins", &rc);
	if (!a)
		return rc;
	static const char *const h[] = {"USERNAME", "CREATED", "SESSIONS", ""};
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "admins"), i, it) json_array_append_new(
		rows, json_pack("[s,s,s,s]", str(it, "username"),
				cli_ago(json_integer_value(json_object_get(it, "created"))),
				num(it, "sessions"),
				json_is_true(json_object_get(it, "you")) ? "(you)" : ""));
	cli_table(stdout, h, 4, rows);
	json_decref(rows);
	json_decref(a);
	return CLI_OK;
}

/* The password an answer shows once (generated by the server), if any. */
static void print_password(json_t *a, const char *key, const char *what)
{
	if (*str(a, key))
		printf("%s (shown once): %s\n", what, str(a, key));
}

static int cmd_admin_add(struct cli *c, int argc, char **argv)
{
	const char *pw = opt_value(&argc, argv, "--password");
	if (argc != 1) {
		fprintf(stderr, "usage: admin add NAME [--password PASSWORD]\n");
		return CLI_USAGE;
	}
	json_t *a;
	if (call(c, "POST", "/admins",
		 json_pack("{s:s, s:s?}", "username", argv[0], "password", pw), &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	printf("added the administrator %s\n", str(a, "username"));
	print_password(a, "password", "its password");
	json_decref(a);
	return CLI_OK;
}

static int cmd_admin_remove(struct cli *c, int argc, char **argv)
{
	bool yes = opt_flag(&argc, argv, "--yes");
	char q[160], msg[160];
	if (argc != 1) {
		fprintf(stderr, "usage: admin remove NAME [--yes]\n");
		return CLI_USAGE;
	}
	snprintf(q, sizeof(q), "Remove the administrator %s? Its sessions end.", argv[0]);
	if (!yes && !confirm(c, q)) {
		fprintf(stderr, "error: not removed%s\n",
			c->interactive ? "" : " (add --yes to remove without asking)");
		return CLI_ERROR;
	}
	json_t *a;
	if (call(c, "DELETE", path_of("/admins/%s", argv[0]), NULL, &a))
		return json_decref(a), CLI_ERROR;
	snprintf(msg, sizeof(msg), "removed the administrator %s", argv[0]);
	return print_or(c, a, msg);
}

static int cmd_admin_passwd(struct cli *c, int argc, char **argv)
{
	const char *pw = opt_value(&argc, argv, "--password");
	const char *name = argc == 1 ? argv[0] : c->admin;
	if (argc > 1 || !name || !*name) {
		fprintf(stderr, "usage: admin passwd [NAME] [--password PASSWORD] (NAME: whose; "
				"without it, your own over SSH)\n");
		return CLI_USAGE;
	}
	char path[600];
	snprintf(path, sizeof(path), "%s/password", path_of("/admins/%s", name));
	json_t *a;
	if (call(c, "PUT", path, json_pack("{s:s?}", "password", pw), &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	printf("new password for %s set; its other sessions have ended\n", name);
	print_password(a, "password", "the new password");
	json_decref(a);
	return CLI_OK;
}

/* ---- backups ---- */

/* An option into the request's body, only when it was given. */
static void set_given(json_t *body, const char *key, const char *value)
{
	if (value)
		json_object_set_new(body, key, json_string(value));
}

static int cmd_backup_list(struct cli *c, int argc, char **argv)
{
	size_t i;
	json_t *it;
	int rc;
	(void)argc;
	(void)argv;
	json_t *a = fetch(c, "/backups", &rc);
	if (!a)
		return rc;
	static const char *const h[] = {"ID",	   "KIND", "PHONE SYSTEM",
					"CREATED", "SIZE", "ENCRYPTED"};
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "backups"), i, it)
	{
		char size[32];
		snprintf(size, sizeof(size), "%.1f KiB",
			 (double)json_integer_value(json_object_get(it, "size")) / 1024);
		json_array_append_new(
			rows,
			json_pack("[s,s,s,s,s,s]", str(it, "id"), str(it, "kind"),
				  *str(it, "phone_system") ? str(it, "phone_system") : "-",
				  cli_ago(json_integer_value(json_object_get(it, "created"))), size,
				  json_is_true(json_object_get(it, "encrypted")) ? "yes" : "no"));
	}
	if (json_array_size(rows))
		cli_table(stdout, h, 6, rows);
	else
		printf("no backups yet; make one with: backup create [--phone-system NAME]\n");
	json_decref(rows);
	json_decref(a);
	return CLI_OK;
}

static int cmd_backup_create(struct cli *c, int argc, char **argv)
{
	const char *ps = opt_value(&argc, argv, "--phone-system");
	const char *pass = opt_value(&argc, argv, "--passphrase");
	bool media = opt_flag(&argc, argv, "--media");
	if (argc) {
		fprintf(stderr,
			"usage: backup create [--phone-system NAME] [--passphrase PASSPHRASE] "
			"[--media]\n");
		return CLI_USAGE;
	}
	json_t *a, *b = json_pack("{s:b}", "media", media);
	set_given(b, "phone_system", ps);
	set_given(b, "passphrase", pass);
	if (call(c, "POST", "/backups", b, &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	printf("made backup %s (%s%s%s, %lld bytes)\n", str(a, "id"), str(a, "kind"), ps ? " " : "",
	       ps ? ps : "", (long long)json_integer_value(json_object_get(a, "size")));
	json_decref(a);
	return CLI_OK;
}

static int cmd_backup_restore(struct cli *c, int argc, char **argv)
{
	const char *ps = opt_value(&argc, argv, "--phone-system");
	const char *pass = opt_value(&argc, argv, "--passphrase");
	bool yes = opt_flag(&argc, argv, "--yes");
	char q[200], path[600];
	if (argc != 1) {
		fprintf(stderr, "usage: backup restore ID [--phone-system NAME] [--passphrase "
				"PASSPHRASE] [--yes]\n");
		return CLI_USAGE;
	}
	snprintf(q, sizeof(q),
		 "Restore backup %s? A phone system restored onto its own name is stopped and "
		 "its data replaced.",
		 argv[0]);
	if (!yes && !confirm(c, q)) {
		fprintf(stderr, "error: not restored%s\n",
			c->interactive ? "" : " (add --yes to restore without asking)");
		return CLI_ERROR;
	}
	snprintf(path, sizeof(path), "%s/restore", path_of("/backups/%s", argv[0]));
	json_t *a, *b = json_object();
	set_given(b, "phone_system", ps);
	set_given(b, "passphrase", pass);
	if (call(c, "POST", path, b, &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	printf("restored phone system %s (%s)\n", str(a, "name"), str(a, "state"));
	json_decref(a);
	return CLI_OK;
}

/* ---- system update ---- */

static int cmd_update_status(struct cli *c, int argc, char **argv)
{
	int rc;
	(void)argc;
	(void)argv;
	json_t *a = fetch(c, "/update", &rc);
	if (!a)
		return rc;
	json_t *last = json_object_get(a, "last");
	printf("version       %s\n", str(a, "version"));
	printf("source        %s\n", *str(a, "source") ? str(a, "source") : "(none set)");
	printf("trusted keys  %zu\n", json_array_size(json_object_get(a, "trusted_keys")));
	printf("releases      %s\n", json_array_size(json_object_get(a, "releases"))
					     ? join(json_object_get(a, "releases"), NULL)
					     : "(none installed by an update)");
	if (json_is_true(json_object_get(a, "pending")))
		printf("pending       an update is being tried\n");
	if (json_is_object(last))
		printf("last update   %s -> %s: %s, %s\n", str(last, "from"), str(last, "to"),
		       str(last, "result"),
		       cli_ago(json_integer_value(json_object_get(last, "time"))));
	json_decref(a);
	return CLI_OK;
}

static int cmd_update_install(struct cli *c, int argc, char **argv)
{
	bool yes = opt_flag(&argc, argv, "--yes");
	(void)argv;
	if (argc) {
		fprintf(stderr, "usage: update install [--yes]\n");
		return CLI_USAGE;
	}
	if (!yes && !confirm(c, "Install the newest release from the update source? Every "
				"process restarts; calls drop.")) {
		fprintf(stderr, "error: not installed%s\n",
			c->interactive ? "" : " (add --yes to install without asking)");
		return CLI_ERROR;
	}
	json_t *a;
	if (call(c, "POST", "/update/check", NULL, &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	if (json_is_true(json_object_get(a, "up_to_date")))
		printf("up to date: %s is the newest release offered\n", str(a, "version"));
	else
		printf("installing %s (from %s); the server restarts on it\n", str(a, "to"),
		       str(a, "from"));
	json_decref(a);
	return CLI_OK;
}

/* ---- SIP traces ---- */

static int cmd_trace_list(struct cli *c, int argc, char **argv)
{
	size_t i;
	json_t *it;
	int rc;
	(void)argc;
	(void)argv;
	json_t *a = fetch(c, "/traces", &rc);
	if (!a)
		return rc;
	static const char *const h[] = {"ID", "PHONE SYSTEM", "USER", "STARTED", "BYTES", "STATE"};
	json_t *rows = json_array();
	json_array_foreach(json_object_get(a, "traces"), i, it) json_array_append_new(
		rows,
		json_pack("[s,s,s,s,s,s]", str(it, "id"), str(it, "phone_system"),
			  *str(it, "user") ? str(it, "user") : "-",
			  cli_ago(json_integer_value(json_object_get(it, "started"))),
			  num(it, "bytes"),
			  json_is_true(json_object_get(it, "capturing")) ? "capturing" : "done"));
	if (json_array_size(rows))
		cli_table(stdout, h, 6, rows);
	else
		printf("no SIP traces; start one with: trace start PHONE_SYSTEM\n");
	json_decref(rows);
	json_decref(a);
	return CLI_OK;
}

/* A whole number option, or -1 (absent) / -2 (not a number). */
static long long opt_number(int *argc, char **argv, const char *name)
{
	const char *v = opt_value(argc, argv, name);
	char *end;
	if (!v)
		return -1;
	long long n = strtoll(v, &end, 10);
	return *v && !*end && n >= 0 ? n : -2;
}

static int cmd_trace_start(struct cli *c, int argc, char **argv)
{
	const char *user = opt_value(&argc, argv, "--user");
	long long secs = opt_number(&argc, argv, "--seconds");
	long long bytes = opt_number(&argc, argv, "--max-bytes");
	if (argc != 1 || secs == -2 || bytes == -2) {
		fprintf(stderr, "usage: trace start PHONE_SYSTEM [--user USER] [--seconds N] "
				"[--max-bytes N]\n");
		return CLI_USAGE;
	}
	json_t *b = json_pack("{s:s, s:s?}", "phone_system", argv[0], "user", user);
	if (secs >= 0)
		json_object_set_new(b, "seconds", json_integer(secs));
	if (bytes >= 0)
		json_object_set_new(b, "max_bytes", json_integer(bytes));
	json_t *a;
	if (call(c, "POST", "/traces", b, &a))
		return json_decref(a), CLI_ERROR;
	if (c->json)
		return print_or(c, a, NULL);
	printf("trace %s started for %s; its capture: GET /api/v1/traces/%s/pcap\n", str(a, "id"),
	       argv[0], str(a, "id"));
	json_decref(a);
	return CLI_OK;
}

static int cmd_trace_stop(struct cli *c, int argc, char **argv)
{
	char path[600];
	(void)argc;
	snprintf(path, sizeof(path), "%s/stop", path_of("/traces/%s", argv[0]));
	json_t *a;
	if (call(c, "POST", path, NULL, &a))
		return json_decref(a), CLI_ERROR;
	return print_or(c, a, "stopped");
}

/* ---- logs ---- */

static volatile sig_atomic_t logs_interrupted;

static void logs_on_sigint(int sig)
{
	(void)sig;
	logs_interrupted = 1;
}

static void logs_print(struct cli *c, json_t *lines)
{
	size_t i;
	json_t *l;
	json_array_foreach(lines, i, l)
	{
		if (c->json) {
			char *s = json_dumps(l, JSON_COMPACT);
			printf("%s\n", s ? s : "{}");
			free(s);
		} else if (*str(l, "time")) {
			printf("%s %s%s%s %s: %s\n", str(l, "time"), str(l, "process"),
			       *str(l, "phone_system") ? " " : "", str(l, "phone_system"),
			       str(l, "level"), str(l, "message"));
		} else {
			printf("%s\n", str(l, "message"));
		}
	}
	fflush(stdout);
}

static int cmd_logs(struct cli *c, int argc, char **argv)
{
	const char *n = opt_value(&argc, argv, "-n");
	const char *proc = opt_value(&argc, argv, "--process");
	const char *ps = opt_value(&argc, argv, "--phone-system");
	const char *level = opt_value(&argc, argv, "--level");
	bool follow = opt_flag(&argc, argv, "--follow") | opt_flag(&argc, argv, "-f");
	if (argc) {
		fprintf(stderr, "usage: logs [-n LINES] [--process ROLE] [--phone-system NAME] "
				"[--level LEVEL] [--follow]\n");
		return CLI_USAGE;
	}
	char q[512], path[600];
	snprintf(q, sizeof(q), "level=%s", level ? level : "debug");
	if (proc)
		snprintf(q + strlen(q), sizeof(q) - strlen(q), "&process=%s", path_of("%s", proc));
	if (ps)
		snprintf(q + strlen(q), sizeof(q) - strlen(q), "&phone_system=%s",
			 path_of("%s", ps));
	snprintf(path, sizeof(path), "/logs?%s&lines=%s", q, n ? n : "50");
	json_t *a;
	if (call(c, "GET", path, NULL, &a))
		return json_decref(a), CLI_ERROR;
	logs_print(c, json_object_get(a, "lines"));
	if (!follow) {
		json_decref(a);
		return CLI_OK;
	}
	/* Follow: ask for what came after the last answer, until interrupted. */
	struct sigaction sa = {.sa_handler = logs_on_sigint}, old;
	sigaction(SIGINT, &sa, &old);
	logs_interrupted = 0;
	long long off = json_integer_value(json_object_get(a, "offset"));
	json_decref(a);
	int rc = CLI_OK;
	while (!logs_interrupted) {
		usleep(300 * 1000);
		snprintf(path, sizeof(path), "/logs?%s&lines=5000&after=%lld", q, off);
		int st = cli_api(c, "GET", path, NULL, &a);
		if (st != 200) {
			rc = cli_check(st, a);
			json_decref(a);
			break;
		}
		logs_print(c, json_object_get(a, "lines"));
		off = json_integer_value(json_object_get(a, "offset"));
		json_decref(a);
	}
	sigaction(SIGINT, &old, NULL);
	return rc;
}

/* ---- the table ---- */

static int cmd_help(struct cli *c, int argc, char **argv);

static const struct cli_cmd cli_cmds[] = {
	{"status", NULL, "", "show version, uptime, phone systems, CPU, memory and disk", 0, 0,
	 cmd_status},
	{"phone-system", "list", "", "list the phone systems and their state", 0, 0, cmd_ps_list},
	{"phone-system", "show", "NAME", "show one phone system", 1, 1, cmd_ps_show},
	{"phone-system", "create", "NAME [--admin-password PASSWORD]",
	 "create a phone system (a password is generated if none is given)", 1, 3, cmd_ps_create},
	{"phone-system", "start", "NAME", "start a stopped or failed phone system", 1, 1,
	 cmd_ps_start},
	{"phone-system", "stop", "NAME", "stop a phone system", 1, 1, cmd_ps_stop},
	{"phone-system", "delete", "NAME [--yes]", "delete a phone system and all its data", 1, 2,
	 cmd_ps_delete},
	{"phone-system", "admin-password", "NAME [--password PASSWORD]",
	 "reset a phone system's admin password (generated if none is given)", 1, 3,
	 cmd_ps_admin_password},
	{"interface", "list", "", "list network interfaces and what listens on them", 0, 0,
	 cmd_if_list},
	{"interface", "set", "management|sbc INTERFACE...|all",
	 "choose where management (and SSH) or the SBC listen", 2, 16, cmd_if_set},
	{"sbc", "show", "", "show the SBC's listening sockets and settings", 0, 0, cmd_sbc_show},
	{"sbc", "plain-sip", "on|off", "switch plain SIP (UDP and TCP 5060) on or off", 1, 1,
	 cmd_sbc_plain_sip},
	{"sbc", "media-ports", "MIN MAX",
	 "set the media relay's UDP port range (4 ports a call; calls in progress keep theirs)", 2,
	 2, cmd_sbc_media_ports},
	{"sbc", "nat", "INTERFACE external ADDRESS|stun HOST:PORT [NETWORK...] | off",
	 "behind NAT: the public address peers outside the interface's networks (or those "
	 "given) are told",
	 2, 34, cmd_sbc_nat},
	{"vpn", "show", "", "show the phones' VPN and its clients", 0, 0, cmd_vpn_show},
	{"vpn", "switch", "on|off", "switch the VPN on TCP 8885 on or off", 1, 1, cmd_vpn_switch},
	{"vpn", "set", "subnet|host VALUE", "the tunnel's subnet, or the host profiles name", 2, 2,
	 cmd_vpn_set},
	{"vpn", "add", "NAME", "add a VPN client (a phone)", 1, 1, cmd_vpn_add},
	{"vpn", "revoke", "NAME", "revoke a VPN client: its tunnel is cut", 1, 1, cmd_vpn_revoke},
	{"vpn", "profile", "NAME", "print a client's OpenVPN profile (.ovpn)", 1, 1,
	 cmd_vpn_profile},
	{"blocked", "list", "", "list addresses blocked after failed logins", 0, 0,
	 cmd_blocked_list},
	{"blocked", "remove", "ADDRESS", "lift the block of an address", 1, 1, cmd_blocked_remove},
	{"ssh-key", "list", "", "list the SSH keys that may log in, and the host keys", 0, 0,
	 cmd_key_list},
	{"ssh-key", "add", "'TYPE BASE64 [COMMENT]'", "authorize a public key for admin", 1, 8,
	 cmd_key_add},
	{"ssh-key", "delete", "ID", "remove an authorized key", 1, 1, cmd_key_delete},
	{"admin", "list", "", "list the server's administrators", 0, 0, cmd_admin_list},
	{"admin", "add", "NAME [--password PASSWORD]",
	 "add an administrator (a password is generated if none is given)", 1, 3, cmd_admin_add},
	{"admin", "remove", "NAME [--yes]",
	 "remove an administrator (not the last): its sessions end", 1, 2, cmd_admin_remove},
	{"admin", "passwd", "[NAME] [--password PASSWORD]",
	 "set a new password for an administrator (yours without NAME)", 0, 3, cmd_admin_passwd},
	{"backup", "list", "", "list the backups", 0, 0, cmd_backup_list},
	{"backup", "create", "[--phone-system NAME] [--passphrase PASSPHRASE] [--media]",
	 "back up the whole server, or one phone system", 0, 5, cmd_backup_create},
	{"backup", "restore", "ID [--phone-system NAME] [--passphrase PASSPHRASE] [--yes]",
	 "restore a phone system from a backup", 1, 6, cmd_backup_restore},
	{"update", "status", "", "show the version, update source and last update", 0, 0,
	 cmd_update_status},
	{"update", "install", "[--yes]", "install the newest signed release from the update source",
	 0, 1, cmd_update_install},
	{"trace", "list", "", "list SIP traces", 0, 0, cmd_trace_list},
	{"trace", "start", "PHONE_SYSTEM [--user USER] [--seconds N] [--max-bytes N]",
	 "capture a phone system's SIP (and media headers) at the SBC", 1, 7, cmd_trace_start},
	{"trace", "stop", "ID", "stop a SIP trace (its capture stays)", 1, 1, cmd_trace_stop},
	{"settings", "show", "", "show the settings", 0, 0, cmd_settings_show},
	{"settings", "set", "session-ttl SECONDS", "change a setting", 2, 2, cmd_settings_set},
	{"logs", NULL,
	 "[-n LINES] [--process ROLE] [--phone-system NAME] [--level LEVEL] [--follow]",
	 "show recent log lines, or follow them", 0, 10, cmd_logs},
	{"help", NULL, "[COMMAND]", "explain the commands", 0, 2, cmd_help},
};

#define NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static void help_line(const struct cli_cmd *k)
{
	char words[128];
	snprintf(words, sizeof(words), "%s%s%s %s", k->group, k->verb ? " " : "",
		 k->verb ? k->verb : "", k->usage);
	printf("  %-58s %s\n", words, k->help);
}

static int cmd_help(struct cli *c, int argc, char **argv)
{
	(void)c;
	int shown = 0;
	for (size_t i = 0; i < NCMDS; i++) {
		const struct cli_cmd *k = &cli_cmds[i];
		if (argc >= 1 && strcmp(argv[0], k->group) != 0)
			continue;
		if (argc >= 2 && (!k->verb || strcmp(argv[1], k->verb) != 0))
			continue;
		if (!shown++)
			printf("commands (add --json for machine-readable output):\n");
		help_line(k);
	}
	if (!shown) {
		fprintf(stderr, "error: no command '%s'; type help for the list\n", argv[0]);
		return CLI_USAGE;
	}
	if (c->interactive && argc == 0)
		printf("  %-58s %s\n", "exit", "end the session");
	return CLI_OK;
}

int cli_exec(struct cli *c, int argc, char **words)
{
	/* Options are taken out of a copy: the caller owns and frees the words. */
	char *argv[64];
	if (argc > 64)
		argc = 64;
	memcpy(argv, words, sizeof(char *) * (size_t)argc);
	c->json = opt_flag(&argc, argv, "--json") || c->json;
	if (argc == 0)
		return cmd_help(c, 0, argv);
	bool group_known = false;
	for (size_t i = 0; i < NCMDS; i++) {
		const struct cli_cmd *k = &cli_cmds[i];
		if (strcmp(argv[0], k->group) != 0)
			continue;
		group_known = true;
		int used = 1;
		if (k->verb) {
			if (argc < 2 || strcmp(argv[1], k->verb) != 0)
				continue;
			used = 2;
		}
		int n = argc - used;
		/* Options count as arguments here; each command checks its own. */
		if (n < k->min_args || n > k->max_args) {
			fprintf(stderr, "usage: %s%s%s %s\n", k->group, k->verb ? " " : "",
				k->verb ? k->verb : "", k->usage);
			return CLI_USAGE;
		}
		return k->run(c, n, argv + used);
	}
	if (group_known) {
		fprintf(stderr, "error: '%s' needs one of:", argv[0]);
		for (size_t i = 0; i < NCMDS; i++)
			if (strcmp(argv[0], cli_cmds[i].group) == 0 && cli_cmds[i].verb)
				fprintf(stderr, " %s", cli_cmds[i].verb);
		fprintf(stderr, "\n");
	} else {
		fprintf(stderr, "error: unknown command '%s'; type help for the list\n", argv[0]);
	}
	return CLI_USAGE;
}

/* ---- completion and splitting ---- */

static void add_word(char ***list, size_t *n, const char *w, const char *prefix)
{
	if (strncmp(w, prefix, strlen(prefix)) != 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], w) == 0)
			return;
	char **l = realloc(*list, sizeof(char *) * (*n + 2));
	if (!l)
		return;
	*list = l;
	l[(*n)++] = strdup(w);
	l[*n] = NULL;
}

static void add_names(struct cli *c, char ***list, size_t *n, const char *path, const char *arr,
		      const char *key, const char *prefix)
{
	json_t *a = NULL, *it;
	size_t i;
	if (cli_api(c, "GET", path, NULL, &a) == 200)
		json_array_foreach(json_object_get(a, arr), i, it)
			add_word(list, n, str(it, key), prefix);
	json_decref(a);
}

char **cli_complete(struct cli *c, int nwords, char **words, const char *prefix)
{
	char **list = NULL;
	size_t n = 0;
	for (size_t i = 0; i < NCMDS; i++) {
		const struct cli_cmd *k = &cli_cmds[i];
		if (nwords == 0)
			add_word(&list, &n, k->group, prefix);
		else if (nwords == 1 && k->verb && strcmp(words[0], k->group) == 0)
			add_word(&list, &n, k->verb, prefix);
	}
	if (nwords == 0)
		add_word(&list, &n, "exit", prefix);
	if (nwords == 2 && strcmp(words[0], "phone-system") == 0 && strcmp(words[1], "list") != 0 &&
	    strcmp(words[1], "create") != 0)
		add_names(c, &list, &n, "/phone-systems", "phone_systems", "name", prefix);
	if (nwords == 2 && strcmp(words[0], "interface") == 0 && strcmp(words[1], "set") == 0) {
		add_word(&list, &n, "management", prefix);
		add_word(&list, &n, "sbc", prefix);
	}
	if (nwords >= 3 && strcmp(words[0], "interface") == 0 && strcmp(words[1], "set") == 0) {
		add_names(c, &list, &n, "/interfaces", "interfaces", "name", prefix);
		add_word(&list, &n, "all", prefix);
	}
	if (nwords == 2 && strcmp(words[0], "admin") == 0 &&
	    (strcmp(words[1], "remove") == 0 || strcmp(words[1], "passwd") == 0))
		add_names(c, &list, &n, "/admins", "admins", "username", prefix);
	if (nwords == 2 && strcmp(words[0], "backup") == 0 && strcmp(words[1], "restore") == 0)
		add_names(c, &list, &n, "/backups", "backups", "id", prefix);
	if (nwords == 2 && strcmp(words[0], "trace") == 0 && strcmp(words[1], "start") == 0)
		add_names(c, &list, &n, "/phone-systems", "phone_systems", "name", prefix);
	if (nwords == 2 && strcmp(words[0], "trace") == 0 && strcmp(words[1], "stop") == 0)
		add_names(c, &list, &n, "/traces", "traces", "id", prefix);
	if (nwords == 2 && strcmp(words[0], "blocked") == 0 && strcmp(words[1], "remove") == 0)
		add_names(c, &list, &n, "/blocked", "blocked", "address", prefix);
	if (nwords == 2 && strcmp(words[0], "settings") == 0 && strcmp(words[1], "set") == 0)
		add_word(&list, &n, "session-ttl", prefix);
	if (nwords == 2 && strcmp(words[0], "sbc") == 0 && strcmp(words[1], "plain-sip") == 0) {
		add_word(&list, &n, "on", prefix);
		add_word(&list, &n, "off", prefix);
	}
	if (nwords == 1 && strcmp(words[0], "help") == 0)
		for (size_t i = 0; i < NCMDS; i++)
			add_word(&list, &n, cli_cmds[i].group, prefix);
	return list;
}

int cli_split(const char *line, int max, char **argv)
{
	int argc = 0;
	const char *p = line;
	char *buf = malloc(strlen(line) + 1);
	if (!buf)
		return -1;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		size_t o = 0;
		char quote = 0;
		for (; *p && (quote || !strchr(" \t\n\r", *p)); p++) {
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '\'' || *p == '"'))
				quote = *p;
			else if (*p == '\\' && p[1] && quote != '\'')
				buf[o++] = *++p;
			else
				buf[o++] = *p;
		}
		if (quote || argc >= max) {
			free(buf);
			cli_free_words(argc, argv);
			return -1;
		}
		buf[o] = '\0';
		argv[argc++] = strdup(buf);
	}
	free(buf);
	return argc;
}

void cli_free_words(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}
