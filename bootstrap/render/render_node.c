// SPDX-License-Identifier: Apache-2.0
/*
 * render_node.c: what every node runs: flanneld (etcd v3 backend, vxlan),
 * containerd (the seed's docker, replaced), the CNI config that joins them,
 * kubelet (bootstrap token, config file) and kube-proxy (config file).
 * Flags and fields follow the v1.35-v1.37 reference docs; nothing
 * deprecated. Never writes a CA key.
 */
#include "render.h"
#include "artifact.h"
#include "kubeconfig.h"
#include "release.h"

#include <stdio.h>
#include <string.h>

#define DOC_K8S "https://kubernetes.io/docs/reference/command-line-tools-reference/"

static int
flannel(struct rctx *c)
{
	const struct bjob *j;
	struct tmpl t;
	struct buf net = { 0 };
	int r;

	if ((r = render_job_need(c, ID_FLANNELD, &j)) != 0)
		return r;
	if ((j != NULL && (r = render_add_pair(c->b, j)) != 0) ||
	    (r = bundle_add(c->b, FLANNEL_CERT "/etcd-ca.pem", 0644, "root", 0,
	    c->ca_etcd.data, c->ca_etcd.len)) != 0)
		return r;
	if ((r = render_flannel_network(c->inv, &net)) != 0)
		return r;
	r = bundle_add(c->b, FLANNEL_DIR "/net-conf.json", 0644, "root", 0,
	    net.data, net.len);
	buf_free(&net);
	if (r != 0)
		return r;

	tmpl_init(&t);
	render_unit_head(&t, "flannel overlay network (etcd v3 backend, vxlan)",
	    "https://github.com/flannel-io/flannel");
	tmpl_puts(&t, "After=network-online.target\nWants=network-online.target\n"
	    "After=etcd.service\nBefore=containerd.service kubelet.service\n\n"
	    "[Service]\nType=notify\n");
	tmpl_exec(&t, "ExecStart", K8S_BIN "/flanneld");
	tmpl_arg(&t, "--etcd-endpoints=%s", (const char *)c->etcd_servers.data);
	tmpl_arg(&t, "--etcd-prefix=%s", c->inv->flannel_prefix);
	tmpl_arg(&t, "--etcd-cafile=%s/etcd-ca.pem", FLANNEL_CERT);
	tmpl_arg(&t, "--etcd-certfile=%s/flanneld.pem", FLANNEL_CERT);
	tmpl_arg(&t, "--etcd-keyfile=%s/flanneld-key.pem", FLANNEL_CERT);
	tmpl_arg(&t, "--iface=%s", c->n->ip);
	tmpl_arg(&t, "--ip-masq");
	tmpl_arg(&t, "--subnet-file=/run/flannel/subnet.env");
	tmpl_exec_end(&t);
	tmpl_puts(&t, "Restart=on-failure\nRestartSec=5\n\n"
	    "[Install]\nWantedBy=multi-user.target\n");
	return render_add_tmpl(c->b, UNIT_DIR "/flanneld.service", 0644, "root",
	    0, &t);
}

/*
 * The sandbox image: the pause image imported into the appliance at the
 * inventory's version (install.sh imports it into containerd, so nothing
 * is pulled), else upstream's name for that version.
 */
static void
sandbox_image(const struct rctx *c, const char *pause, char *out, size_t len)
{
	const struct artifact *a = render_fetch_ok(c) ?
	    artifact_list_find(c->in->arts, "pause", pause) : NULL;

	if (a != NULL && a->image[0] != '\0' && tmpl_safe(a->image))
		snprintf(out, len, "%s", a->image);
	else
		snprintf(out, len, "registry.k8s.io/pause:%s", pause);
}

/* containerd 2.x: config version 3 (its CRI plugins split in two). */
static void
containerd_v3(struct tmpl *t, const char *sandbox)
{
	tmpl_puts(t, "# Rendered by slipway: containerd 2.x (config version 3) "
	    "for the kubelet's CRI.\n"
	    "version = 3\nroot = \"/var/lib/containerd\"\n"
	    "state = \"/run/containerd\"\n\n"
	    "[grpc]\n  address = \"/run/containerd/containerd.sock\"\n\n"
	    "[plugins.\"io.containerd.cri.v1.images\".pinned_images]\n");
	tmpl_printf(t, "  sandbox = \"%s\"\n\n", sandbox);
	tmpl_puts(t, "[plugins.\"io.containerd.cri.v1.runtime\".containerd]\n"
	    "  default_runtime_name = \"runc\"\n\n"
	    "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc]\n"
	    "  runtime_type = \"io.containerd.runc.v2\"\n\n"
	    "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc."
	    "options]\n  SystemdCgroup = true\n\n"
	    "[plugins.\"io.containerd.cri.v1.runtime\".cni]\n"
	    "  bin_dirs = [\"/opt/cni/bin\"]\n  conf_dir = \"/etc/cni/net.d\"\n");
}

/* containerd 1.6/1.7 (an inventory's versions.containerd): version 2. */
static void
containerd_v2(struct tmpl *t, const char *sandbox)
{
	tmpl_puts(t, "# Rendered by slipway: containerd 1.x (config version 2) "
	    "for the kubelet's CRI.\n"
	    "version = 2\nroot = \"/var/lib/containerd\"\n"
	    "state = \"/run/containerd\"\n\n"
	    "[grpc]\n  address = \"/run/containerd/containerd.sock\"\n\n"
	    "[plugins.\"io.containerd.grpc.v1.cri\"]\n");
	tmpl_printf(t, "  sandbox_image = \"%s\"\n\n", sandbox);
	tmpl_puts(t, "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
	    "  default_runtime_name = \"runc\"\n\n"
	    "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
	    "  runtime_type = \"io.containerd.runc.v2\"\n\n"
	    "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc."
	    "options]\n  SystemdCgroup = true\n\n"
	    "[plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
	    "  bin_dir = \"/opt/cni/bin\"\n  conf_dir = \"/etc/cni/net.d\"\n");
}

static int
containerd(struct rctx *c)
{
	struct rel_versions v;
	char sandbox[ARTIFACT_REF_MAX];
	struct tmpl t;
	int r;

	if ((r = release_versions(c->inv, &v, c->d)) != 0)
		return r;
	sandbox_image(c, v.v[RC_PAUSE], sandbox, sizeof(sandbox));
	tmpl_init(&t);
	if (v.v[RC_CONTAINERD][0] == '1' && v.v[RC_CONTAINERD][1] == '.')
		containerd_v2(&t, sandbox);
	else
		containerd_v3(&t, sandbox);
	if ((r = render_add_tmpl(c->b, "/etc/containerd/config.toml", 0644,
	    "root", 0, &t)) != 0)
		return r;

	tmpl_init(&t);
	render_unit_head(&t, "containerd container runtime", "https://containerd.io");
	tmpl_puts(&t, "After=network.target local-fs.target\n\n[Service]\n"
	    /* runc and the shim live beside containerd, as docker's did */
	    "Environment=PATH=" K8S_BIN ":/usr/local/sbin:/usr/local/bin:"
	    "/usr/sbin:/usr/bin:/sbin:/bin\n");
	tmpl_exec(&t, "ExecStart", K8S_BIN "/containerd");
	tmpl_arg(&t, "--config=/etc/containerd/config.toml");
	tmpl_exec_end(&t);
	tmpl_puts(&t, "Type=notify\nDelegate=yes\nKillMode=process\n"
	    "Restart=always\nRestartSec=5\nLimitNPROC=infinity\n"
	    "LimitCORE=infinity\nLimitNOFILE=infinity\nTasksMax=infinity\n"
	    "OOMScoreAdjust=-999\n\n[Install]\nWantedBy=multi-user.target\n");
	if ((r = render_add_tmpl(c->b, UNIT_DIR "/containerd.service", 0644,
	    "root", 0, &t)) != 0)
		return r;

	/* flannel's CNI plugin reads /run/flannel/subnet.env */
	tmpl_init(&t);
	tmpl_puts(&t, "{\n  \"name\": \"cbr0\",\n  \"cniVersion\": \"0.3.1\",\n"
	    "  \"plugins\": [\n"
	    "    {\n      \"type\": \"flannel\",\n      \"delegate\": {\n"
	    "        \"hairpinMode\": true,\n        \"isDefaultGateway\": true\n"
	    "      }\n    },\n"
	    "    {\n      \"type\": \"portmap\",\n"
	    "      \"capabilities\": {\n        \"portMappings\": true\n      }\n"
	    "    }\n  ]\n}\n");
	return render_add_tmpl(c->b, "/etc/cni/net.d/10-flannel.conflist", 0644,
	    "root", 0, &t);
}

static int
kube_proxy(struct rctx *c)
{
	const struct bjob *j;
	struct kubeconfig kc;
	struct buf kcb = { 0 };
	struct tmpl t;
	char host[INV_ADDR_MAX + 2];
	int r, v6 = strchr(c->n->ip, ':') != NULL;

	if ((r = render_job_need(c, ID_KUBE_PROXY, &j)) != 0)
		return r;
	if (j == NULL)
		goto config;	/* its kubeconfig embeds its certificate */
	memset(&kc, 0, sizeof(kc));
	kc.server = c->url;
	kc.cluster = "kubernetes";
	kc.user = "system:kube-proxy";
	kc.context = "default";
	kc.ca_pem = &c->ca_kube;
	kc.cert_pem = &j->cert_pem;
	kc.key_pem = &j->key_pem;
	if ((r = kubeconfig_render(&kc, &kcb)) != 0)
		return r;
	r = bundle_add(c->b, K8S_DIR "/kube-proxy.kubeconfig", 0600, "root", 1,
	    kcb.data, kcb.len);
	buf_free(&kcb);
	if (r != 0)
		return r;
 config:
	tmpl_host(c->n->ip, host, sizeof(host));
	tmpl_init(&t);
	tmpl_puts(&t, "# Rendered by slipway.\n"
	    "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
	    "kind: KubeProxyConfiguration\n");
	tmpl_printf(&t, "bindAddress: \"%s\"\n", c->n->ip);
	tmpl_puts(&t, "clientConnection:\n  kubeconfig: \"" K8S_DIR
	    "/kube-proxy.kubeconfig\"\n");
	tmpl_printf(&t, "clusterCIDR: \"%s\"\n", c->inv->cluster_cidr.text);
	tmpl_printf(&t, "healthzBindAddress: \"%s:10256\"\n", host);
	tmpl_printf(&t, "metricsBindAddress: \"%s:10249\"\n",
	    v6 ? "[::1]" : "127.0.0.1");
	tmpl_printf(&t, "hostnameOverride: \"%s\"\n", c->n->name);
	tmpl_printf(&t, "mode: \"%s\"\n", c->inv->proxy_mode);
	/* NodePorts (the apiserver's --service-node-port-range) are served
	 * on the node's own address only */
	tmpl_printf(&t, "nodePortAddresses:\n  - \"%s/%s\"\n", c->n->ip,
	    v6 ? "128" : "32");
	if ((r = render_add_tmpl(c->b, K8S_DIR "/kube-proxy.config.yaml", 0644,
	    "root", 0, &t)) != 0)
		return r;

	tmpl_init(&t);
	render_unit_head(&t, "Kubernetes kube-proxy", DOC_K8S "kube-proxy/");
	tmpl_puts(&t, "After=network-online.target\nWants=network-online.target\n"
	    "\n[Service]\nWorkingDirectory=/var/lib/kube-proxy\n");
	tmpl_exec(&t, "ExecStart", K8S_BIN "/kube-proxy");
	tmpl_arg(&t, "--config=%s/kube-proxy.config.yaml", K8S_DIR);
	tmpl_arg(&t, "--v=2");
	tmpl_exec_end(&t);
	tmpl_puts(&t, "Restart=on-failure\nRestartSec=5\nLimitNOFILE=65536\n\n"
	    "[Install]\nWantedBy=multi-user.target\n");
	return render_add_tmpl(c->b, UNIT_DIR "/kube-proxy.service", 0644,
	    "root", 0, &t);
}

static int
kubelet(struct rctx *c)
{
	struct kubeconfig kc;
	struct buf kcb = { 0 };
	struct tmpl t;
	int r;

	memset(&kc, 0, sizeof(kc));
	kc.server = c->url;
	kc.cluster = "kubernetes";
	kc.user = "kubelet-bootstrap";
	kc.context = "default";
	kc.ca_pem = &c->ca_kube;
	kc.token = c->in->kubelet_token;
	if ((r = kubeconfig_render(&kc, &kcb)) != 0)
		return r;
	r = bundle_add(c->b, K8S_DIR "/kubelet-bootstrap.kubeconfig", 0600,
	    "root", 1, kcb.data, kcb.len);
	buf_free(&kcb);
	if (r != 0)
		return r;

	/* the seed's kubelet.config.json, for a current kubelet */
	tmpl_init(&t);
	tmpl_puts(&t, "{\n  \"kind\": \"KubeletConfiguration\",\n"
	    "  \"apiVersion\": \"kubelet.config.k8s.io/v1beta1\",\n");
	tmpl_printf(&t, "  \"address\": \"%s\",\n", c->n->ip);
	tmpl_puts(&t, "  \"port\": 10250,\n  \"readOnlyPort\": 0,\n"
	    "  \"healthzBindAddress\": \"127.0.0.1\",\n  \"healthzPort\": 10248,\n"
	    "  \"authentication\": {\n"
	    "    \"anonymous\": {\n      \"enabled\": false\n    },\n"
	    "    \"webhook\": {\n      \"enabled\": true,\n"
	    "      \"cacheTTL\": \"2m0s\"\n    },\n"
	    "    \"x509\": {\n      \"clientCAFile\": \"" K8S_CERT "/ca.pem\"\n"
	    "    }\n  },\n"
	    "  \"authorization\": {\n    \"mode\": \"Webhook\",\n"
	    "    \"webhook\": {\n      \"cacheAuthorizedTTL\": \"5m0s\",\n"
	    "      \"cacheUnauthorizedTTL\": \"30s\"\n    }\n  },\n");
	tmpl_printf(&t, "  \"clusterDomain\": \"%s\",\n", c->domain);
	tmpl_printf(&t, "  \"clusterDNS\": [\n    \"%s\"\n  ],\n", c->inv->dns_ip);
	tmpl_puts(&t, "  \"rotateCertificates\": true,\n"
	    "  \"serverTLSBootstrap\": true,\n"
	    "  \"tlsMinVersion\": \"VersionTLS12\",\n"
	    "  \"cgroupDriver\": \"systemd\",\n"
	    "  \"containerRuntimeEndpoint\": "
	    "\"unix:///run/containerd/containerd.sock\",\n"
	    "  \"failSwapOn\": true,\n"
	    "  \"serializeImagePulls\": false\n}\n");
	if ((r = render_add_tmpl(c->b, K8S_DIR "/kubelet.config.json", 0644,
	    "root", 0, &t)) != 0)
		return r;

	tmpl_init(&t);
	render_unit_head(&t, "Kubernetes kubelet", DOC_K8S "kubelet/");
	tmpl_puts(&t, "After=containerd.service\nRequires=containerd.service\n\n"
	    "[Service]\nWorkingDirectory=/var/lib/kubelet\n");
	tmpl_exec(&t, "ExecStart", K8S_BIN "/kubelet");
	tmpl_arg(&t, "--bootstrap-kubeconfig=%s/kubelet-bootstrap.kubeconfig",
	    K8S_DIR);
	tmpl_arg(&t, "--kubeconfig=%s/kubelet.kubeconfig", K8S_DIR);
	tmpl_arg(&t, "--config=%s/kubelet.config.json", K8S_DIR);
	tmpl_arg(&t, "--cert-dir=%s", K8S_CERT);
	tmpl_arg(&t, "--hostname-override=%s", c->n->name);
	tmpl_arg(&t, "--node-ip=%s", c->n->ip);
	tmpl_arg(&t, "--v=2");
	tmpl_exec_end(&t);
	tmpl_puts(&t, "Restart=on-failure\nRestartSec=5\n\n"
	    "[Install]\nWantedBy=multi-user.target\n");
	return render_add_tmpl(c->b, UNIT_DIR "/kubelet.service", 0644, "root",
	    0, &t);
}

int
render_node(struct rctx *c)
{
	const struct bjob *nj;
	int r;

	if ((r = bundle_add(c->b, K8S_CERT "/ca.pem", 0644, "root", 0,
	    c->ca_kube.data, c->ca_kube.len)) != 0)
		return r;
	/* install.sh's client certificate for GET /v1/artifacts (a delivery
	 * carries it only when it re-issues it) */
	if ((r = render_job_need(c, ID_NODE_CLIENT, &nj)) != 0 ||
	    (nj != NULL && (r = render_add_pair(c->b, nj)) != 0))
		return r;
	if ((r = flannel(c)) != 0 || (r = containerd(c)) != 0 ||
	    (r = kube_proxy(c)) != 0)
		return r;
	return kubelet(c);
}
