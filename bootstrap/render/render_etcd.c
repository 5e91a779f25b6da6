// SPDX-License-Identifier: Apache-2.0
/*
 * render_etcd.c: an etcd member: its own server/peer certificate (its IP
 * and 127.0.0.1), a client certificate for etcdctl and health checks, the
 * etcd CA bundle, the etcd CA's CRL, and etcd.service with the whole
 * initial cluster. Mutual TLS for clients and peers, both checked against
 * the CRL (etcd reads the file at every handshake: replacing it is enough);
 * nothing listens on plain http.
 */
#include "render.h"

#include <stdio.h>
#include <string.h>

static void
initial_cluster(struct tmpl *t, const struct inventory *inv)
{
	char host[INV_ADDR_MAX + 2];
	size_t i;
	int first = 1;

	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *e = &inv->nodes[i];

		if (!(e->roles & ROLE_ETCD))
			continue;
		tmpl_host(e->ip, host, sizeof(host));
		tmpl_printf(t, "%s%s=https://%s:%u", first ? "" : ",", e->name,
		    host, e->etcd_peer_port);
		first = 0;
	}
}

int
render_etcd(struct rctx *c)
{
	const struct bjob *member, *client;
	const struct inv_node *n = c->n;
	char host[INV_ADDR_MAX + 2];
	struct tmpl t;
	int r, loop;

	if ((r = render_job_need(c, ID_ETCD_MEMBER, &member)) != 0 ||
	    (r = render_job_need(c, ID_ETCD_CLIENT, &client)) != 0)
		return r;
	if ((r = bundle_add(c->b, ETCD_CERT "/ca.pem", 0644, K8S_USER, 0,
	    c->ca_etcd.data, c->ca_etcd.len)) != 0 ||
	    (r = bundle_add(c->b, ETCD_CRL, 0644, K8S_USER, 0,
	    c->in->etcd_crl->data, c->in->etcd_crl->len)) != 0 ||
	    (member != NULL && (r = render_add_pair(c->b, member)) != 0) ||
	    (client != NULL && (r = render_add_pair(c->b, client)) != 0))
		return r;

	tmpl_host(n->ip, host, sizeof(host));
	/* also on loopback for local clients, unless that is the node's IP */
	loop = strcmp(n->ip, "127.0.0.1") != 0 && strcmp(n->ip, "::1") != 0;
	tmpl_init(&t);
	render_unit_head(&t, "etcd key-value store (member of the Kubernetes cluster)",
	    "https://etcd.io/docs/");
	tmpl_puts(&t, "After=network-online.target\nWants=network-online.target\n"
	    "\n[Service]\nType=notify\nUser=" K8S_USER "\n"
	    "WorkingDirectory=/var/lib/etcd\n");
	tmpl_exec(&t, "ExecStart", K8S_BIN "/etcd");
	tmpl_arg(&t, "--name=%s", n->name);
	tmpl_arg(&t, "--data-dir=/var/lib/etcd");
	tmpl_arg(&t, "--cert-file=%s/etcd.pem", ETCD_CERT);
	tmpl_arg(&t, "--key-file=%s/etcd-key.pem", ETCD_CERT);
	tmpl_arg(&t, "--trusted-ca-file=%s/ca.pem", ETCD_CERT);
	tmpl_arg(&t, "--client-cert-auth=true");
	tmpl_arg(&t, "--client-crl-file=%s", ETCD_CRL);
	tmpl_arg(&t, "--peer-cert-file=%s/etcd.pem", ETCD_CERT);
	tmpl_arg(&t, "--peer-key-file=%s/etcd-key.pem", ETCD_CERT);
	tmpl_arg(&t, "--peer-trusted-ca-file=%s/ca.pem", ETCD_CERT);
	tmpl_arg(&t, "--peer-client-cert-auth=true");
	tmpl_arg(&t, "--peer-crl-file=%s", ETCD_CRL);
	tmpl_arg(&t, "--listen-peer-urls=https://%s:%u", host, n->etcd_peer_port);
	tmpl_arg(&t, "--initial-advertise-peer-urls=https://%s:%u", host,
	    n->etcd_peer_port);
	if (loop)
		tmpl_arg(&t, "--listen-client-urls=https://%s:%u,https://%s:%u",
		    host, n->etcd_client_port,
		    strchr(n->ip, ':') ? "[::1]" : "127.0.0.1",
		    n->etcd_client_port);
	else
		tmpl_arg(&t, "--listen-client-urls=https://%s:%u", host,
		    n->etcd_client_port);
	tmpl_arg(&t, "--advertise-client-urls=https://%s:%u", host,
	    n->etcd_client_port);
	tmpl_arg(&t, "--initial-cluster-token=etcd-%s", c->inv->cluster_name);
	tmpl_puts(&t, " \\\n  --initial-cluster=");
	initial_cluster(&t, c->inv);
	tmpl_arg(&t, "--initial-cluster-state=new");
	tmpl_arg(&t, "--auto-compaction-mode=periodic");
	tmpl_arg(&t, "--auto-compaction-retention=1h");
	tmpl_exec_end(&t);
	tmpl_puts(&t, "Restart=on-failure\nRestartSec=5\nLimitNOFILE=65536\n\n"
	    "[Install]\nWantedBy=multi-user.target\n");
	return render_add_tmpl(c->b, UNIT_DIR "/etcd.service", 0644, "root", 0,
	    &t);
}
