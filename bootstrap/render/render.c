// SPDX-License-Identifier: Apache-2.0
/*
 * render.c: what every renderer (render_<part>.c) shares: finding the
 * node's issued certificate of an identity, adding a template's text or a
 * key pair to the bundle, the header of every unit, flannel's network
 * configuration. Below the renderers: never calls one, never signs.
 */
#include "render.h"

#include <stdio.h>

const struct bjob *
render_job(const struct rctx *c, enum ident which)
{
	size_t i;

	for (i = 0; i < c->n_jobs; i++)
		if (c->jobs[i].which == which)
			return &c->jobs[i];
	return NULL;
}

int
render_job_need(const struct rctx *c, enum ident which,
    const struct bjob **out)
{
	*out = render_job(c, which);
	return *out != NULL || c->partial ? 0 : SLW_ERR_INTERNAL;
}

int
render_add_tmpl(struct bundle *b, const char *path, unsigned int mode,
    const char *owner, int secret, struct tmpl *t)
{
	struct buf tmp = { 0 };
	int r;

	if ((r = tmpl_finish(t, &tmp)) != 0)
		return r;
	return bundle_add_move(b, path, mode, owner, secret, &tmp);
}

int
render_add_pair(struct bundle *b, const struct bjob *j)
{
	char path[BUNDLE_PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/%s.pem", j->dir, j->stem);
	if ((r = bundle_add(b, path, 0644, j->owner, 0, j->cert_pem.data,
	    j->cert_pem.len)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s-key.pem", j->dir, j->stem);
	return bundle_add(b, path, 0600, j->owner, 1, j->key_pem.data,
	    j->key_pem.len);
}

unsigned int
render_k8s_minor(const struct rctx *c)
{
	unsigned int minor = 0;

	if (sscanf(c->inv->k8s_version, "v1.%u.", &minor) != 1)
		return 0;
	return minor;
}

int
render_fetch_ok(const struct rctx *c)
{
	return c->in->arts != NULL && c->in->endpoint_url != NULL &&
	    c->in->endpoint_pin != NULL && tmpl_safe(c->in->endpoint_url) &&
	    tmpl_safe(c->in->endpoint_pin);
}

void
render_unit_head(struct tmpl *t, const char *desc, const char *doc)
{
	tmpl_printf(t, "# Rendered by slipway; changes are overwritten by the "
	    "next bundle.\n[Unit]\nDescription=%s\nDocumentation=%s\n", desc, doc);
}

int
render_flannel_network(const struct inventory *inv, struct buf *out)
{
	struct tmpl t;

	if (!tmpl_safe(inv->cluster_cidr.text))
		return SLW_ERR_INVALID;
	tmpl_init(&t);
	tmpl_printf(&t, "{\"Network\": \"%s\", \"SubnetLen\": 24, "
	    "\"Backend\": {\"Type\": \"vxlan\"}}\n", inv->cluster_cidr.text);
	return tmpl_finish(&t, out);
}
