/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubeconfig.h: a kubeconfig (clientcmd v1 Config) with everything embedded,
 * as `kubectl config set-cluster/set-credentials --embed-certs=true` made them
 * in the seed: one cluster, one user (client certificate or token), one
 * context, selected.
 */
#ifndef SLW_KUBECONFIG_H
#define SLW_KUBECONFIG_H

#include "buf.h"

struct kubeconfig {
	const char *server;		/* "https://192.168.0.235:8443" */
	const char *cluster;		/* "kubernetes" */
	const char *user;		/* "system:kube-proxy", "kubelet-bootstrap" */
	const char *context;		/* "default" */
	const struct buf *ca_pem;	/* trust bundle (PEM) */
	const struct buf *cert_pem;	/* client certificate, or NULL ... */
	const struct buf *key_pem;	/* ... and its key */
	const char *token;		/* ... or a bearer token */
};

/* Renders k into out (replaced). The result holds a secret: buf_free it. */
int kubeconfig_render(const struct kubeconfig *k, struct buf *out);

#endif
