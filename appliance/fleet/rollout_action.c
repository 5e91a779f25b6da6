// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_action.c: the steps the appliance does itself in the masters
 * phase: flannel's network config written to etcd (v3 API, mTLS with the
 * appliance's etcd client certificate), and, last, the cluster objects
 * slipway owns (per-node bootstrap-token Secrets, the bootstrapper and
 * apiserver-to-kubelet RBAC, nothing that auto-approves CSRs), applied
 * through the API behind the VIP by the Kubernetes API client
 * (kube_cluster.h). Report lines name token ids only, never secrets.
 */
#include "rollout_int.h"
#include "kube_cluster.h"
#include "kube_session.h"

#include <string.h>

#include <mbedtls/base64.h>

static int
b64(const char *in, char *out, size_t len)
{
	size_t olen = 0;

	return mbedtls_base64_encode((unsigned char *)out, len, &olen,
	    (const unsigned char *)in, strlen(in)) == 0 ? 0 : SLW_ERR_TOOBIG;
}

int
rollout_action_flannel_config(struct rollout *ro, struct slw_diag *d)
{
	const struct inventory *inv = ro->inv;
	struct https *id = NULL;
	struct buf body = { 0 };
	char key[200], val[300], kb[300], vb[420], req[800], url[160];
	size_t i;
	long st;
	int r;

	if ((r = fleet_id_etcd(ro->f, &id, d)) != 0)
		return r;
	fleet_fmt(key, sizeof(key), "%s/config", inv->flannel_prefix);
	fleet_fmt(val, sizeof(val), "{\"Network\":\"%s\",\"SubnetLen\":24,"
	    "\"Backend\":{\"Type\":\"vxlan\"}}", inv->cluster_cidr.text);
	if ((r = b64(key, kb, sizeof(kb))) != 0 ||
	    (r = b64(val, vb, sizeof(vb))) != 0)
		return r;
	fleet_fmt(req, sizeof(req), "{\"key\":\"%s\",\"value\":\"%s\"}", kb, vb);
	r = slw_diag(d, SLW_ERR_IO, "no etcd member took flannel's config");
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];

		if (!(n->roles & ROLE_ETCD))
			continue;
		fleet_url(url, sizeof(url), "https", n->ip, n->etcd_client_port,
		    "/v3/kv/put");
		slw_diag_clear(d);
		if (fleet_https(id, "POST", url, req, &st, &body, d) == 0 &&
		    st == 200) {
			slw_diag_set(d, 0, "%s = %s (via %s)", key, val, n->name);
			r = 0;
			break;
		}
		if (d != NULL && d->msg[0] == '\0')
			slw_diag_set(d, SLW_ERR_IO, "%s: HTTP %ld", url, st);
		r = SLW_ERR_IO;
	}
	buf_free(&body);
	return r;
}

struct report_arg {
	struct rollout *ro;
};

static void
report(void *arg, const char *line)
{
	struct report_arg *a = arg;

	fleet_progress(a->ro->f, rollout_phase_name(PH_MASTERS), "appliance",
	    "cluster-objects", "%s", line);
}

int
rollout_action_cluster_objects(struct rollout *ro, struct slw_diag *d)
{
	struct kube *k = NULL;
	struct kube_cluster_counts n;
	struct report_arg ra = { ro };
	int r;

	memset(&n, 0, sizeof(n));
	if ((r = kube_session_open(ro->s, ro->inv, NULL, ro->o->fleet.actor, &k,
	    NULL, d)) != 0)
		return r;
	r = kube_cluster_apply(k, ro->s, ro->inv, 0, ro->o->fleet.actor, report,
	    &ra, &n, d);
	kube_free(k);
	if (r == 0)
		slw_diag_set(d, 0, "%u created, %u updated, %u unchanged, "
		    "%u deleted", n.created, n.updated, n.unchanged, n.deleted);
	return r;
}
