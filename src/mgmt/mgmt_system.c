/*
 * mgmt_system — figures about the host and Zentrale's processes, read from
 * /proc and statvfs, for GET /api/v1/system and GET /api/v1/interfaces;
 * and the newest-first listing backups and traces share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "../core/core_net.h"
#include "mgmt.h"

/* Host CPU use since the previous call (at least a second apart). */
static double system_cpu_percent(void)
{
	static unsigned long long prev_busy, prev_total;
	static double last = 0;
	static time_t prev_at;
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return 0;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 4)
		return 0;
	unsigned long long idle = v[3] + v[4], total = 0;
	for (int i = 0; i < 8; i++)
		total += v[i];
	time_t now = time(NULL);
	if (prev_total && now > prev_at && total > prev_total)
		last = 100.0 * (double)((total - idle) - prev_busy) / (double)(total - prev_total);
	if (!prev_total || now > prev_at) {
		prev_busy = total - idle;
		prev_total = total;
		prev_at = now;
	}
	return last;
}

static long long meminfo(const char *key)
{
	char line[256];
	long long v = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = atoll(line + n + 1) * 1024;
	fclose(f);
	return v;
}

/* RSS in bytes and CPU seconds used by one process. */
static void process_figures(int pid, long long *rss, double *cpu)
{
	char path[64];
	long pages = 0;
	*rss = 0;
	*cpu = 0;
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%*d %ld", &pages) == 1)
			*rss = (long long)pages * sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f) {
		char buf[1024];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		char *p = strrchr(buf, ')'); /* the command may contain spaces */
		unsigned long ut = 0, st = 0;
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
				&st) == 2)
			*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		fclose(f);
	}
}

json_t *mgmt_system_info(struct mgmt *m)
{
	time_t now = time(NULL);
	json_t *counts = json_pack("{s:i, s:i, s:i, s:i}", "running", 0, "starting", 0, "stopped",
				   0, "failed", 0);
	size_t i;
	json_t *it;
	for (int k = 0; k < m->st.nphone_systems; k++) {
		json_t *c = json_object_get(counts,
					    core_state_ps_state_name(m->st.phone_systems[k].state));
		if (c)
			json_integer_set(c, json_integer_value(c) + 1);
	}
	json_object_set_new(counts, "total", json_integer(m->st.nphone_systems));

	json_t *procs = json_array();
	long long rss_sum = 0;
	json_array_foreach(json_object_get(m->state, "processes"), i, it)
	{
		long long rss;
		double cpu;
		process_figures((int)json_integer_value(json_object_get(it, "pid")), &rss, &cpu);
		rss_sum += rss;
		json_array_append_new(procs, json_pack("{s:O, s:O, s:O, s:I, s:f}", "role",
						       json_object_get(it, "role"), "name",
						       json_object_get(it, "name"), "pid",
						       json_object_get(it, "pid"), "rss_bytes",
						       (json_int_t)rss, "cpu_seconds", cpu));
	}

	struct statvfs vfs;
	long long dtotal = 0, dfree = 0;
	if (statvfs(".", &vfs) == 0) {
		dtotal = (long long)vfs.f_blocks * (long long)vfs.f_frsize;
		dfree = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
	}
	double load[3] = {0};
	if (getloadavg(load, 3) < 0)
		load[0] = load[1] = load[2] = 0;
	long long mtotal = meminfo("MemTotal"), mavail = meminfo("MemAvailable");
	json_int_t started = json_integer_value(json_object_get(m->state, "started"));

	return json_pack("{s:O, s:I, s:I, s:o, s:{s:i, s:f, s:[f,f,f]}, s:{s:I, s:I, s:f, s:I}, "
			 "s:{s:I, s:I, s:f}, s:o}",
			 "version", json_object_get(m->state, "version"), "started", started,
			 "uptime_seconds", (json_int_t)(now - started), "phone_systems", counts,
			 "cpu", "cores", (int)sysconf(_SC_NPROCESSORS_ONLN), "used_percent",
			 system_cpu_percent(), "load", load[0], load[1], load[2], "memory",
			 "total_bytes", (json_int_t)mtotal, "available_bytes", (json_int_t)mavail,
			 "used_percent",
			 mtotal ? 100.0 * (double)(mtotal - mavail) / (double)mtotal : 0.0,
			 "zentrale_rss_bytes", (json_int_t)rss_sum, "disk", "total_bytes",
			 (json_int_t)dtotal, "free_bytes", (json_int_t)dfree, "used_percent",
			 dtotal ? 100.0 * (double)(dtotal - dfree) / (double)dtotal : 0.0,
			 "processes", procs);
}

/* Whether a socket bound to addr serves the given interface addresses. */
static bool socket_on(const char *addr, json_t *iface_addrs)
{
	if (strcmp(addr, "::") == 0 || strcmp(addr, "0.0.0.0") == 0)
		return true;
	size_t i;
	json_t *a;
	json_array_foreach(iface_addrs, i,
			   a) if (strcmp(json_string_value(a), addr) == 0) return true;
	return false;
}

json_t *mgmt_interfaces(struct mgmt *m)
{
	json_t *ifs = core_net_interfaces(), *it, *s;
	json_t *listen = json_object_get(m->state, "listen");
	size_t i, j;
	json_array_foreach(ifs, i, it)
	{
		json_t *svc = json_array();
		/* a socket may be bound to a down interface's address, but it serves
		 * nobody through it */
		bool up = json_is_true(json_object_get(it, "up"));
		json_array_foreach(json_object_get(listen, "sockets"), j, s)
		{
			if (!up || !socket_on(json_string_value(json_object_get(s, "addr")),
					      json_object_get(it, "addresses")))
				continue;
			json_array_append_new(svc, json_pack("{s:O, s:O, s:O}", "service",
							     json_object_get(s, "service"), "addr",
							     json_object_get(s, "addr"), "port",
							     json_object_get(s, "port")));
		}
		json_object_set_new(it, "services", svc);
	}
	return json_pack("{s:o, s:{s:O, s:O}, s:O}", "interfaces", ifs, "listen", "management",
			 json_object_get(listen, "management"), "sbc",
			 json_object_get(listen, "sbc"), "fixed_by_command_line",
			 json_object_get(listen, "fixed"));
}

/* GET /api/v1/health: 200 when all is well, 503 with the reasons otherwise.
 * No token: load balancers and monitoring poll it; it tells nothing but
 * counts and whether something is wrong. */
void mgmt_health(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *problems = json_array();
	int failed = 0, total = m->st.nphone_systems;
	if (!m->state)
		json_array_append_new(problems, json_string("the server is starting"));
	for (int k = 0; k < total; k++)
		failed += m->st.phone_systems[k].state == CORE_PS_FAILED;
	if (failed)
		json_array_append_new(problems, json_sprintf("%d phone system(s) failed", failed));
	if (m->st.vpn.enabled && !m->st.vpn.running)
		json_array_append_new(problems,
				      json_sprintf("the VPN is switched on but does not run: %s",
						   m->st.vpn.error));
	struct statvfs vfs;
	double free_pct = 100;
	if (statvfs(".", &vfs) == 0 && vfs.f_blocks)
		free_pct = 100.0 * (double)vfs.f_bavail / (double)vfs.f_blocks;
	double min_free = mgmt_health_min_free_percent(m);
	if (free_pct < min_free)
		json_array_append_new(problems, json_sprintf("disk nearly full: %.1f%% free (below "
							     "%.0f%%)",
							     free_pct, min_free));
	bool ok = json_array_size(problems) == 0;
	core_httpd_respond_json(req, ok ? 200 : 503,
				json_pack("{s:s, s:o, s:i, s:i, s:f}", "status", ok ? "ok" : "fail",
					  "problems", problems, "phone_systems", total, "failed",
					  failed, "disk_free_percent", free_pct));
}

static int newest_first(const void *a, const void *b, void *key)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, key));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, key));
	return x < y ? 1 : x > y ? -1 : 0;
}

json_t *mgmt_newest_first(json_t **items, size_t n, const char *key)
{
	qsort_r(items, n, sizeof(items[0]), newest_first, (void *)key);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, items[i]);
	return list;
}
