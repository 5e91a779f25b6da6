// SPDX-License-Identifier: Apache-2.0
/*
 * render_install.c: /etc/slipway/install.sh, run on the node after the
 * bundle is unpacked at /. POSIX sh; idempotent; creates the k8s user and
 * the directories, gives every file of the bundle its owner and mode,
 * reloads systemd and enables the units. It starts nothing: the rollout
 * starts services in the seed's order. SLIPWAY_ROOT=DIR makes it operate
 * under DIR and print (not run) useradd, chown and systemctl.
 * SLIPWAY_FROM=DIR is a fleet delivery to a running node: the bundle was
 * unpacked under DIR, and each file that differs replaces the installed
 * one by an atomic rename, its owner and mode set first, all renames last
 * and together ("changed PATH" lines); an unchanged file is not touched.
 */
#include "render.h"

#include <stdio.h>
#include <string.h>

#define INSTALL_SH "/etc/slipway/install.sh"

struct dirspec {
	const char *path;
	const char *mode;
	const char *owner;	/* "k8s" only where a k8s service runs */
	unsigned int roles;
};

#define ALL (ROLE_ETCD | ROLE_MASTER | ROLE_WORKER)

static const struct dirspec dirs[] = {
	{ "/opt/k8s/bin", "0755", "root", ALL },
	{ "/opt/cni/bin", "0755", "root", ALL },
	{ "/etc/cni/net.d", "0755", "root", ALL },
	{ "/etc/containerd", "0755", "root", ALL },
	{ FLANNEL_DIR, "0755", "root", ALL },
	{ FLANNEL_CERT, "0700", "root", ALL },
	{ K8S_DIR, "0755", "root", ALL },
	{ "/var/lib/kubelet", "0700", "root", ALL },
	{ "/var/lib/kube-proxy", "0755", "root", ALL },
	{ "/etc/etcd", "0755", "root", ROLE_ETCD },
	{ ETCD_CERT, "0750", K8S_USER, ROLE_ETCD },
	{ "/var/lib/etcd", "0700", K8S_USER, ROLE_ETCD },
	{ "/var/log/kubernetes", "0750", K8S_USER, ROLE_MASTER },
};

static void
head(struct tmpl *t, const struct rctx *c)
{
	char roles[64];

	inventory_role_names(c->n->roles, roles, sizeof(roles));
	tmpl_printf(t, "#!/bin/sh\n"
	    "# Rendered by slipway for node %s (roles: %s).\n", c->n->name,
	    roles);
	tmpl_puts(t,
	    "# Run after the bundle is unpacked at / (tar -xz -C /): creates the\n"
	    "# k8s user and the directories, gives every file its owner and mode,\n"
	    "# reloads systemd and enables the units. Starts nothing: the rollout\n"
	    "# starts the services in order. Safe to run again.\n"
	    "# SLIPWAY_ROOT=DIR: operate under DIR (a test root) and print the\n"
	    "# useradd, chown and systemctl commands instead of running them.\n"
	    "# SLIPWAY_FROM=DIR: the bundle is unpacked under DIR (a delivery to a\n"
	    "# running node): each file that differs replaces the installed one\n"
	    "# by an atomic rename, with its owner and mode set first.\n"
	    "set -eu\n\n"
	    "ROOT=\"${SLIPWAY_ROOT:-}\"\n"
	    "ROOT=\"${ROOT%/}\"\n"
	    "FROM=\"${SLIPWAY_FROM:-}\"\n"
	    "FROM=\"${FROM%/}\"\n"
	    "NEW=\n\n"
	    "say() { printf 'install.sh: %s\\n' \"$*\"; }\n"
	    "die() { printf 'install.sh: %s\\n' \"$*\" >&2; exit 1; }\n"
	    "run() {\n"
	    "\tif [ -n \"$ROOT\" ]; then\n"
	    "\t\tprintf 'would run: %s\\n' \"$*\"\n"
	    "\telse\n"
	    "\t\t\"$@\"\n"
	    "\tfi\n"
	    "}\n"
	    "have_user() {\n"
	    "\tif [ -n \"$ROOT\" ]; then\n"
	    "\t\tgrep -q \"^$1:\" \"$ROOT/etc/passwd\" 2>/dev/null\n"
	    "\telse\n"
	    "\t\tgetent passwd \"$1\" >/dev/null 2>&1\n"
	    "\tfi\n"
	    "}\n"
	    "# d MODE OWNER DIR: a directory with its mode and owner\n"
	    "d() {\n"
	    "\tmkdir -p \"$ROOT$3\"\n"
	    "\tchmod \"$1\" \"$ROOT$3\"\n"
	    "\trun chown \"$2:$2\" \"$ROOT$3\"\n"
	    "}\n"
	    "# f MODE OWNER FILE: a file of the bundle, already in place; with\n"
	    "# FROM, the new one is prepared beside it (renamed in place by "
	    "commit)\n"
	    "f() {\n"
	    "\tif [ -n \"$FROM\" ] && [ -f \"$FROM$3\" ] &&\n"
	    "\t    ! cmp -s \"$FROM$3\" \"$ROOT$3\" 2>/dev/null; then\n"
	    "\t\tmkdir -p \"${ROOT}$(dirname \"$3\")\"\n"
	    "\t\tcp \"$FROM$3\" \"$ROOT$3.slipway-new\"\n"
	    "\t\tchmod \"$1\" \"$ROOT$3.slipway-new\"\n"
	    "\t\trun chown \"$2:$2\" \"$ROOT$3.slipway-new\"\n"
	    "\t\tNEW=\"$NEW $3\"\n"
	    "\t\treturn 0\n"
	    "\tfi\n"
	    "\t[ -f \"$ROOT$3\" ] || die \"missing $3: unpack the bundle at / "
	    "first\"\n"
	    "\tchmod \"$1\" \"$ROOT$3\"\n"
	    "\trun chown \"$2:$2\" \"$ROOT$3\"\n"
	    "}\n"
	    "# the prepared files replace the installed ones, together\n"
	    "commit() {\n"
	    "\tfor p in $NEW; do mv -f \"$ROOT$p.slipway-new\" \"$ROOT$p\"; "
	    "done\n"
	    "\tfor p in $NEW; do say \"changed $p\"; done\n"
	    "}\n\n"
	    "if [ -z \"$ROOT\" ] && [ \"$(id -u)\" != 0 ]; then\n"
	    "\tdie \"run as root (or set SLIPWAY_ROOT=DIR for a test root)\"\n"
	    "fi\n\n");
}

static void
units(struct tmpl *t, const struct rctx *c)
{
	tmpl_puts(t, "run systemctl daemon-reload\n"
	    "run systemctl enable");
	if (c->n->roles & ROLE_ETCD)
		tmpl_puts(t, " etcd.service");
	tmpl_puts(t, " flanneld.service containerd.service kubelet.service"
	    " kube-proxy.service");
	if (c->n->roles & ROLE_MASTER)
		tmpl_puts(t, " kube-apiserver.service"
		    " kube-controller-manager.service kube-scheduler.service");
	tmpl_puts(t, "\n");
	if (c->n->roles & ROLE_MASTER)
		tmpl_puts(t, "# haproxy and keepalived come from the distribution's "
		    "packages\n"
		    "for u in haproxy keepalived; do\n"
		    "\tif [ -n \"$ROOT\" ] || systemctl cat \"$u.service\" "
		    ">/dev/null 2>&1; then\n"
		    "\t\trun systemctl enable \"$u.service\"\n"
		    "\telse\n"
		    "\t\tsay \"note: $u is not installed yet; enable $u.service "
		    "once it is\"\n"
		    "\tfi\n"
		    "done\n");
}

int
render_install(struct rctx *c)
{
	const unsigned int roles = c->n->roles;
	int need_k8s = (roles & (ROLE_ETCD | ROLE_MASTER)) != 0;
	struct tmpl t;
	size_t i;

	tmpl_init(&t);
	head(&t, c);
	if (need_k8s)
		tmpl_puts(&t, "if ! have_user " K8S_USER "; then\n"
		    "\trun useradd --system --user-group --no-create-home "
		    "--home-dir /var/lib/k8s --shell /usr/sbin/nologin "
		    K8S_USER "\n"
		    "fi\n\n");
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const struct dirspec *ds = &dirs[i];

		if (roles & ds->roles)
			tmpl_printf(&t, "d %s %s %s\n", ds->mode, ds->owner,
			    ds->path);
	}
	/* /etc/kubernetes/cert belongs to k8s where a k8s service runs */
	tmpl_printf(&t, "d 0755 %s %s\n\n", need_k8s ? K8S_USER : "root",
	    K8S_CERT);
	for (i = 0; i < c->b->n_files; i++) {
		const struct bundle_file *f = &c->b->files[i];

		tmpl_printf(&t, "f %04o %s %s\n", f->mode, f->owner, f->path);
	}
	tmpl_printf(&t, "f 0755 root %s\ncommit\n\n", INSTALL_SH);
	tmpl_puts(&t, "# the binaries the units run are installed by the "
	    "rollout\n"
	    "for b in");
	if (roles & ROLE_ETCD)
		tmpl_puts(&t, " etcd");
	tmpl_puts(&t, " flanneld containerd kubelet kube-proxy");
	if (roles & ROLE_MASTER)
		tmpl_puts(&t, " kube-apiserver kube-controller-manager "
		    "kube-scheduler");
	tmpl_puts(&t, "; do\n"
	    "\t[ -x \"$ROOT" K8S_BIN "/$b\" ] || say \"note: " K8S_BIN
	    "/$b is not installed yet\"\n"
	    "done\n\n");
	units(&t, c);
	tmpl_printf(&t, "say \"node %s: files, owners and units in place; "
	    "nothing started\"\n", c->n->name);
	return render_add_tmpl(c->b, INSTALL_SH, 0755, "root", 0, &t);
}
