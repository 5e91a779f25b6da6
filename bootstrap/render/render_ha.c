// SPDX-License-Identifier: Apache-2.0
/*
 * render_ha.c: the apiserver VIP on masters, as in the seed: haproxy (VIP
 * port -> every master's apiserver, TLS health checks, a read-only stats
 * page on 127.0.0.1:10080 instead of the seed's admin:123456 on every
 * interface) and keepalived (VRRP: MASTER on the first master, BACKUP with
 * lower priorities on the others, a script that checks haproxy).
 */
#include "render.h"

#include <stdio.h>
#include <string.h>

/* Stable in [1, 255] for a cluster: two clusters on one LAN differ. */
static unsigned int
router_id(const struct inventory *inv)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = inv->cluster_name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (p = inv->vip; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return 1 + h % 255;
}

static int
haproxy(struct rctx *c)
{
	const struct inventory *inv = c->inv;
	char host[INV_ADDR_MAX + 2];
	struct tmpl t;
	size_t i;

	tmpl_init(&t);
	tmpl_printf(&t, "# Rendered by slipway: the kube-apiserver VIP port %u "
	    "-> every master's apiserver.\n", inv->vip_port);
	tmpl_puts(&t, "global\n"
	    "    log /dev/log local0\n"
	    "    log /dev/log local1 notice\n"
	    "    chroot /var/lib/haproxy\n"
	    "    stats socket /run/haproxy/admin.sock mode 600 level admin\n"
	    "    stats timeout 30s\n"
	    "    user haproxy\n"
	    "    group haproxy\n"
	    "    daemon\n\n"
	    "defaults\n"
	    "    log global\n"
	    "    mode tcp\n"
	    "    option tcplog\n"
	    "    option dontlognull\n"
	    "    timeout connect 5s\n"
	    "    timeout client 10m\n"
	    "    timeout server 10m\n\n"
	    "# Read-only status page, on loopback only (no password to leak):\n"
	    "# ssh -L 10080:127.0.0.1:10080 NODE, then http://127.0.0.1:10080/"
	    "status\n"
	    "listen admin_stats\n"
	    "    bind 127.0.0.1:10080\n"
	    "    mode http\n"
	    "    stats enable\n"
	    "    stats uri /status\n"
	    "    stats refresh 30s\n"
	    "    stats hide-version\n\n");
	tmpl_printf(&t, "listen kube-master\n    bind *:%u\n    mode tcp\n"
	    "    option tcplog\n    balance source\n", inv->vip_port);
	/*
	 * health check: GET /readyz (anonymous requests are authenticated
	 * for the health endpoints only: render_master.c), every second,
	 * down after two failures: an apiserver that is shutting down fails
	 * /readyz at once and keeps serving for --shutdown-delay-duration,
	 * so it gets no new connection before it stops listening. A
	 * connection refused anyway is retried on another server.
	 */
	tmpl_puts(&t, "    option httpchk GET /readyz\n"
	    "    http-check expect status 200\n"
	    "    option redispatch\n    retries 3\n"
	    "    default-server inter 1s fall 2 rise 2 "
	    "check-ssl verify none\n");
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *m = &inv->nodes[i];

		if (!(m->roles & ROLE_MASTER))
			continue;
		tmpl_host(m->ip, host, sizeof(host));
		tmpl_printf(&t, "    server %s %s:%u check\n", m->name, host,
		    inv->apiserver_port);
	}
	return render_add_tmpl(c->b, "/etc/haproxy/haproxy.cfg", 0644, "root",
	    0, &t);
}

static int
keepalived(struct rctx *c)
{
	const struct inventory *inv = c->inv;
	const struct inv_node *first = inventory_first(inv, ROLE_MASTER);
	unsigned int prio = 120, rank = 0;
	struct tmpl t;
	size_t i;
	int master;

	if (first == NULL)
		return SLW_ERR_INTERNAL;
	master = strcmp(first->name, c->n->name) == 0;
	if (!master) {
		/* backups: 110, 109, ... in inventory order, all above the
		 * MASTER's 120 - 30 when its haproxy is down */
		for (i = 0; i < inv->n_nodes; i++) {
			const struct inv_node *m = &inv->nodes[i];

			if (!(m->roles & ROLE_MASTER) || m == first)
				continue;
			if (strcmp(m->name, c->n->name) == 0)
				break;
			rank++;
		}
		prio = rank < 100 ? 110 - rank : 10;
	}
	tmpl_init(&t);
	tmpl_printf(&t, "! Rendered by slipway: the kube-apiserver VIP %s on "
	    "%s (%s on %s).\n", inv->vip, inv->vip_interface,
	    master ? "MASTER" : "BACKUP", c->n->name);
	tmpl_printf(&t, "global_defs {\n    router_id slipway-%s\n"
	    "    script_user root\n    enable_script_security\n}\n\n",
	    c->n->name);
	tmpl_puts(&t, "vrrp_script check_haproxy {\n"
	    "    script \"/usr/bin/pgrep -x haproxy\"\n"
	    "    interval 3\n"
	    "    weight -30\n"
	    "    fall 2\n"
	    "    rise 2\n}\n\n");
	tmpl_printf(&t, "vrrp_instance VI_kube_master {\n"
	    "    state %s\n"
	    "    interface %s\n"
	    "    virtual_router_id %u\n"
	    "    priority %u\n"
	    "    advert_int 3\n"
	    "    track_script {\n        check_haproxy\n    }\n"
	    "    virtual_ipaddress {\n        %s dev %s\n    }\n}\n",
	    master ? "MASTER" : "BACKUP", inv->vip_interface, router_id(inv),
	    prio, inv->vip, inv->vip_interface);
	return render_add_tmpl(c->b, "/etc/keepalived/keepalived.conf", 0644,
	    "root", 0, &t);
}

int
render_ha(struct rctx *c)
{
	int r;

	if ((r = haproxy(c)) != 0)
		return r;
	return keepalived(c);
}
