// SPDX-License-Identifier: Apache-2.0
/*
 * render_install.c: /etc/slipway/install.sh, run on the node after the
 * bundle is unpacked at /. POSIX sh; idempotent; creates the k8s user and
 * the directories, gives every file of the bundle its owner and mode,
 * fetches the node's binaries and images from the appliance (each checked
 * with sha256sum before it is moved into place), reloads systemd and
 * enables the units. It starts nothing: the rollout starts services in the
 * seed's order. SLIPWAY_ROOT=DIR makes it operate under DIR and print (not
 * run) useradd, chown, systemctl and ctr. SLIPWAY_FROM=DIR is a fleet
 * delivery to a running node: the bundle was unpacked under DIR, and each
 * file that differs replaces the installed one by an atomic rename, its
 * owner and mode set first, all renames last and together ("changed PATH"
 * lines); an unchanged file is not touched, and binaries and images are
 * left to the rollout. Must never install a byte whose digest it has not
 * checked.
 */
#include "render.h"
#include "artifact.h"
#include "release.h"

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
	{ SLIPWAY_DIR, "0755", "root", ALL },
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
	    "fi\n"
	    "# no argument: everything; --binaries: the binaries only (the\n"
	    "# rollout's binaries step); --images: the images only, once\n"
	    "# containerd runs (the rollout's containerd step)\n"
	    "MODE=all\n"
	    "case \"${1:-}\" in\n"
	    "\"\") ;;\n"
	    "--binaries) MODE=binaries ;;\n"
	    "--images) MODE=images ;;\n"
	    "*) die \"usage: install.sh [--binaries | --images]\" ;;\n"
	    "esac\n"
	    "# a delivery (SLIPWAY_FROM) replaces files only\n"
	    "[ -z \"$FROM\" ] || [ \"$MODE\" != all ] || MODE=files\n\n");
}

/*
 * Fetching from the appliance: get SHA256 FILE downloads one artifact
 * (resuming a cut transfer), bin and img check it before use.
 */
static void
fetch_functions(struct tmpl *t, const struct rctx *c)
{
	tmpl_printf(t, "# ---- from the appliance: GET /v1/artifacts/<sha256> "
	    "over the pinned\n"
	    "# endpoint with this node's certificate; every file is checked with\n"
	    "# sha256sum before it is used, and a mismatch stops here ----\n"
	    "SLIPWAY_URL=\"%s\"\n"
	    "SLIPWAY_PIN=\"sha256//%s\"\n", c->in->endpoint_url,
	    c->in->endpoint_pin);
	tmpl_puts(t,
	    "NODE_CERT=\"$ROOT" SLIPWAY_DIR "/node.pem\"\n"
	    "NODE_KEY=\"$ROOT" SLIPWAY_DIR "/node-key.pem\"\n"
	    "sha256_of() { sha256sum \"$1\" | cut -d' ' -f1; }\n"
	    "# get SHA256 FILE: the artifact into FILE; a partial FILE of an\n"
	    "# earlier try is resumed (Range)\n"
	    "get() {\n"
	    "\tn=0\n"
	    "\twhile :; do\n"
	    "\t\tif curl -fsS --pinnedpubkey \"$SLIPWAY_PIN\" -k --cert \"$NODE_CERT\" \\\n"
	    "\t\t    --key \"$NODE_KEY\" --connect-timeout 10 -C - -o \"$2\" \\\n"
	    "\t\t    \"$SLIPWAY_URL/v1/artifacts/$1\"; then\n"
	    "\t\t\treturn 0\n"
	    "\t\tfi\n"
	    "\t\tn=$((n + 1))\n"
	    "\t\t[ $n -lt 4 ] || return 1\n"
	    "\t\tsleep $n\n"
	    "\tdone\n"
	    "}\n"
	    "# fetch NAME SHA256 FILE: FILE holds exactly that artifact, checked\n"
	    "fetch() {\n"
	    "\tpart=\"$3.part\"\n"
	    "\tif [ -f \"$part\" ] && [ \"$(sha256_of \"$part\")\" = \"$2\" ]; then\n"
	    "\t\t:\t# complete already\n"
	    "\telif ! get \"$2\" \"$part\"; then\n"
	    "\t\trm -f \"$part\"\n"
	    "\t\tdie \"$1: cannot fetch artifact $2 from $SLIPWAY_URL\"\n"
	    "\tfi\n"
	    "\tgot=$(sha256_of \"$part\")\n"
	    "\tif [ \"$got\" != \"$2\" ]; then\n"
	    "\t\trm -f \"$part\"\n"
	    "\t\tdie \"$1: sha256 mismatch: got $got, expected $2: nothing installed\"\n"
	    "\tfi\n"
	    "\tmv -f \"$part\" \"$3\"\n"
	    "}\n"
	    "# bin NAME SHA256 PATH: PATH is that binary (an identical file stays)\n"
	    "bin() {\n"
	    "\tdest=\"$ROOT$3\"\n"
	    "\tif [ -f \"$dest\" ] && [ \"$(sha256_of \"$dest\")\" = \"$2\" ]; then\n"
	    "\t\tsay \"$1: $3 is current\"\n"
	    "\t\treturn 0\n"
	    "\tfi\n"
	    "\tnew=\"$(dirname \"$dest\")/.$1.$2\"\n"
	    "\tfetch \"$1\" \"$2\" \"$new\"\n"
	    "\tchmod 0755 \"$new\"\n"
	    "\tmv -f \"$new\" \"$dest\"\t# atomic: a rename in one directory\n"
	    "\tsay \"$1: installed $3 (sha256 $2)\"\n"
	    "}\n"
	    "# img NAME SHA256 REF: the image in containerd's k8s.io namespace\n"
	    "img() {\n"
	    "\tf=\"$ROOT/var/lib/slipway/images/$2.tar\"\n"
	    "\tmkdir -p \"$(dirname \"$f\")\"\n"
	    "\tif ! [ -f \"$f\" ] || [ \"$(sha256_of \"$f\")\" != \"$2\" ]; then\n"
	    "\t\tfetch \"$1\" \"$2\" \"$f\"\n"
	    "\tfi\n"
	    "\trun ctr -n k8s.io images import \"$f\" >/dev/null ||\n"
	    "\t    die \"$1: ctr -n k8s.io images import failed\"\n"
	    "\tif [ -z \"$ROOT\" ] && ! ctr -n k8s.io images ls -q | grep -Fxq \"$3\"; then\n"
	    "\t\tdie \"$1: $3 is not in containerd after the import\"\n"
	    "\tfi\n"
	    "\tsay \"$1: imported $3 into containerd (sha256 $2)\"\n"
	    "}\n\n");
}

/*
 * The node's binaries and images: those stored on the appliance at the
 * inventory's versions are fetched; the others are named (the rollout's
 * binaries step then finds them missing unless they were installed).
 */
static int
artifacts(struct tmpl *t, const struct rctx *c)
{
	struct rel_versions v;
	int fetch = render_fetch_ok(c);
	size_t i, n_img = 0;
	int r;

	if ((r = release_versions(c->inv, &v, c->d)) != 0)
		return r;
	if (fetch)
		fetch_functions(t, c);
	tmpl_puts(t, "if [ \"$MODE\" = all ] || [ \"$MODE\" = binaries ]; "
	    "then\n"
	    "\tmkdir -p \"$ROOT" K8S_BIN "\" \"$ROOT/opt/cni/bin\"\n");
	for (i = 0; i < release_binaries_n; i++) {
		const struct rel_binary *b = &release_binaries[i];
		const char *ver = v.v[b->comp];
		const struct artifact *a;

		if (!(b->roles & c->n->roles))
			continue;
		a = fetch ? artifact_list_find(c->in->arts, b->name, ver) : NULL;
		if (b->kind == REL_IMAGE) {
			n_img += a != NULL;
			continue;
		}
		if (a != NULL)
			tmpl_printf(t, "\tbin %s %s %s/%s\n", b->name, a->hex, b->dir,
			    b->name);
		else
			tmpl_printf(t, "\t[ -x \"$ROOT%s/%s\" ] || say \"note: %s "
			    "%s is not on the appliance (slipway artifact import) "
			    "and not in %s\"\n", b->dir, b->name, b->name, ver,
			    b->dir);
	}
	tmpl_puts(t, "fi\n");
	if (n_img == 0)
		return 0;
	tmpl_puts(t, "# images: once containerd answers (the rollout runs\n"
	    "# install.sh --images right after starting it)\n"
	    "if [ \"$MODE\" = images ] || { [ \"$MODE\" = all ] && [ -z \"$ROOT\" ] &&\n"
	    "    PATH=\"" K8S_BIN ":$PATH\" ctr -n k8s.io version >/dev/null 2>&1; }; then\n"
	    "\tPATH=\"" K8S_BIN ":$PATH\"\n");
	for (i = 0; i < release_binaries_n; i++) {
		const struct rel_binary *b = &release_binaries[i];
		const struct artifact *a;

		if (b->kind != REL_IMAGE || !(b->roles & c->n->roles))
			continue;
		a = artifact_list_find(c->in->arts, b->name, v.v[b->comp]);
		if (a != NULL && tmpl_safe(a->image))
			tmpl_printf(t, "\timg %s %s %s\n", b->name, a->hex, a->image);
	}
	tmpl_puts(t, "elif [ \"$MODE\" = all ]; then\n"
	    "\tsay \"note: images are imported once containerd runs "
	    "(install.sh --images)\"\n"
	    "fi\n");
	return 0;
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
	int r;

	tmpl_init(&t);
	head(&t, c);
	tmpl_puts(&t, "if [ \"$MODE\" = all ] || [ \"$MODE\" = files ]; "
	    "then\n");
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
	units(&t, c);
	tmpl_puts(&t, "fi\n\n");
	if ((r = artifacts(&t, c)) != 0) {
		tmpl_free(&t);
		return r;
	}
	tmpl_printf(&t, "\nsay \"node %s: $MODE done; nothing started\"\n",
	    c->n->name);
	return render_add_tmpl(c->b, INSTALL_SH, 0755, "root", 0, &t);
}
