// SPDX-License-Identifier: Apache-2.0
/*
 * render_master.c: a master's control plane: kube-apiserver (its serving,
 * etcd-client, kubelet-client and front-proxy certificates, the cluster's
 * service-account key pair and encryption config, an audit policy),
 * kube-controller-manager and kube-scheduler (kubeconfigs, leader
 * election). By default the controller-manager gets no CA key and runs
 * without its CSR signing and approving controllers (slipway signs); only
 * signingMode controller-manager puts the kubernetes CA key on masters.
 */
#include "render.h"
#include "kubeconfig.h"
#include "pem.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#define DOC_K8S "https://kubernetes.io/docs/reference/command-line-tools-reference/"

/* kube-controller-manager --controllers (v1.35+ names) */
#define CONTROLLERS_SEED "*,bootstrap-signer-controller,token-cleaner-controller"
#define CONTROLLERS_APPLIANCE CONTROLLERS_SEED \
	",-certificatesigningrequest-signing-controller" \
	",-certificatesigningrequest-approving-controller"

/* The PEM public key of a DER private key, appended to pub. */
static int
append_public(const struct buf *der, struct buf *pub)
{
	struct key *k = NULL;
	struct buf p = { 0 };
	int r;

	if ((r = key_parse(der->data, der->len, &k, NULL)) == 0 &&
	    (r = key_write_public_pem(k, &p)) == 0)
		r = buf_append(pub, p.data, p.len);
	key_free(k);
	buf_free(&p);
	return r;
}

/*
 * sa.key: the key that signs (the apiserver's
 * --service-account-signing-key-file and the controller-manager's
 * --service-account-private-key-file); sa.pub: the public key of every
 * generation that verifies (--service-account-key-file: "The specified
 * file can contain multiple keys"), the signing one first.
 */
static int
sa_keys(struct rctx *c)
{
	struct key *k = NULL;
	struct buf priv = { 0 }, pub = { 0 };
	int r;

	if ((r = key_parse(c->in->sa_key->data, c->in->sa_key->len, &k,
	    NULL)) != 0)
		return r;
	if ((r = key_write_pem(k, &priv)) != 0 ||
	    (r = key_write_public_pem(k, &pub)) != 0 ||
	    (c->in->sa_key2 != NULL &&
	    (r = append_public(c->in->sa_key2, &pub)) != 0))
		goto out;
	if ((r = bundle_add(c->b, K8S_CERT "/sa.key", 0600, K8S_USER, 1,
	    priv.data, priv.len)) != 0)
		goto out;
	r = bundle_add(c->b, K8S_CERT "/sa.pub", 0644, K8S_USER, 0, pub.data,
	    pub.len);
 out:
	key_free(k);
	buf_free(&priv);
	buf_free(&pub);
	return r;
}

/*
 * The Secrets encryption keys: the first encrypts, every one decrypts
 * (kubernetes/website tasks/administer-cluster/encrypt-data.md, "Rotating
 * a decryption key"); named after their generation.
 */
static int
encryption(struct rctx *c)
{
	struct tmpl t;
	int aescbc = strcmp(c->inv->encryption_provider, "aescbc") == 0;

	tmpl_init(&t);
	tmpl_puts(&t, "# Rendered by slipway. The keys are the cluster's, kept "
	    "sealed on the appliance;\n# the same on every master. The first "
	    "key encrypts, every key decrypts.\n"
	    "apiVersion: apiserver.config.k8s.io/v1\n"
	    "kind: EncryptionConfiguration\n"
	    "resources:\n  - resources:\n      - secrets\n    providers:\n");
	tmpl_printf(&t, "      - %s:\n          keys:\n            - name: key%u\n"
	    "              secret: ", aescbc ? "aescbc" : "secretbox",
	    c->in->enc_gen ? c->in->enc_gen : 1);
	tmpl_base64(&t, c->in->enc_key->data, c->in->enc_key->len);
	if (c->in->enc_key2 != NULL) {
		tmpl_printf(&t, "\n            - name: key%u\n              secret: ",
		    c->in->enc_gen2 ? c->in->enc_gen2 : 1);
		tmpl_base64(&t, c->in->enc_key2->data, c->in->enc_key2->len);
	}
	tmpl_puts(&t, "\n      - identity: {}\n");
	return render_add_tmpl(c->b, K8S_DIR "/encryption-config.yaml", 0600,
	    K8S_USER, 1, &t);
}

/*
 * AuthenticationConfiguration (apiserver.config.k8s.io/v1, GA in v1.34):
 * anonymous requests are authenticated for the health endpoints only
 * (KEP-4633), so a load balancer can ask /readyz without a credential
 * while every other anonymous request is refused as before.
 */
static int
authentication_config(struct rctx *c)
{
	struct tmpl t;

	tmpl_init(&t);
	tmpl_puts(&t, "# Rendered by slipway: anonymous requests only for the "
	    "health endpoints.\n"
	    "apiVersion: apiserver.config.k8s.io/v1\n"
	    "kind: AuthenticationConfiguration\n"
	    "jwt: []\n"
	    "anonymous:\n  enabled: true\n  conditions:\n"
	    "    - path: /livez\n    - path: /readyz\n    - path: /healthz\n");
	return render_add_tmpl(c->b, K8S_DIR "/authentication-config.yaml",
	    0644, K8S_USER, 0, &t);
}

static int
audit_policy(struct rctx *c)
{
	struct tmpl t;

	tmpl_init(&t);
	tmpl_puts(&t, "# Rendered by slipway: who changed what; never the "
	    "content of secrets.\n"
	    "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
	    "omitStages:\n  - RequestReceived\n"
	    "rules:\n"
	    "  # health probes and the components' own heartbeats\n"
	    "  - level: None\n    nonResourceURLs:\n"
	    "      - /healthz*\n      - /livez*\n      - /readyz*\n"
	    "      - /version\n"
	    "  - level: None\n    verbs:\n      - get\n      - update\n"
	    "      - watch\n    resources:\n"
	    "      - group: coordination.k8s.io\n        resources:\n"
	    "          - leases\n"
	    "  - level: None\n    users:\n      - system:kube-proxy\n"
	    "    verbs:\n      - watch\n    resources:\n"
	    "      - group: \"\"\n        resources:\n          - endpoints\n"
	    "          - services\n"
	    "      - group: discovery.k8s.io\n        resources:\n"
	    "          - endpointslices\n"
	    "  # secrets, configmaps and tokens: who and when, never the body\n"
	    "  - level: Metadata\n    resources:\n"
	    "      - group: \"\"\n        resources:\n          - secrets\n"
	    "          - configmaps\n          - serviceaccounts/token\n"
	    "      - group: authentication.k8s.io\n        resources:\n"
	    "          - tokenreviews\n"
	    "  # every other change with its request\n"
	    "  - level: Request\n    verbs:\n      - create\n      - update\n"
	    "      - patch\n      - delete\n      - deletecollection\n"
	    "  - level: Metadata\n");
	return render_add_tmpl(c->b, K8S_DIR "/audit-policy.yaml", 0644,
	    K8S_USER, 0, &t);
}

static int
component_kubeconfig(struct rctx *c, enum ident which, const char *user,
    const char *path)
{
	const struct bjob *j;
	struct kubeconfig kc;
	struct buf out = { 0 };
	int r;

	if ((r = render_job_need(c, which, &j)) != 0 || j == NULL)
		return r;	/* it embeds its certificate */
	memset(&kc, 0, sizeof(kc));
	kc.server = c->url;
	kc.cluster = "kubernetes";
	kc.user = user;
	kc.context = user;
	kc.ca_pem = &c->ca_kube;
	kc.cert_pem = &j->cert_pem;
	kc.key_pem = &j->key_pem;
	if ((r = kubeconfig_render(&kc, &out)) != 0)
		return r;
	r = bundle_add(c->b, path, 0600, K8S_USER, 1, out.data, out.len);
	buf_free(&out);
	return r;
}

static int
apiserver_unit(struct rctx *c)
{
	const struct inventory *inv = c->inv;
	struct tmpl t;

	tmpl_init(&t);
	render_unit_head(&t, "Kubernetes API server", DOC_K8S "kube-apiserver/");
	tmpl_puts(&t, "After=network-online.target etcd.service\n"
	    "Wants=network-online.target\n\n[Service]\nType=notify\n"
	    "User=" K8S_USER "\n");
	tmpl_exec(&t, "ExecStart", K8S_BIN "/kube-apiserver");
	tmpl_arg(&t, "--advertise-address=%s", c->n->ip);
	tmpl_arg(&t, "--bind-address=%s", c->n->ip);
	tmpl_arg(&t, "--secure-port=%u", inv->apiserver_port);
	tmpl_arg(&t, "--allow-privileged=true");
	/* anonymous requests only for the health endpoints (instead of the
	 * seed-era --anonymous-auth=false): haproxy checks /readyz */
	tmpl_arg(&t, "--authentication-config=%s/authentication-config.yaml",
	    K8S_DIR);
	tmpl_arg(&t, "--authorization-mode=Node,RBAC");
	tmpl_arg(&t, "--enable-admission-plugins=NodeRestriction");
	tmpl_arg(&t, "--enable-bootstrap-token-auth=true");
	tmpl_arg(&t, "--client-ca-file=%s/ca.pem", K8S_CERT);
	tmpl_arg(&t, "--tls-cert-file=%s/kubernetes.pem", K8S_CERT);
	tmpl_arg(&t, "--tls-private-key-file=%s/kubernetes-key.pem", K8S_CERT);
	tmpl_arg(&t, "--tls-min-version=VersionTLS12");
	/*
	 * Key exchange: X25519MLKEM768 (4588), X25519 (29), P-256 (23),
	 * crypto/tls CurveIDs. The flag exists from v1.36 on (CHANGELOG-1.36,
	 * kubernetes#137115); v1.35's apiserver would refuse it as unknown.
	 */
	if (render_k8s_minor(c) >= 36)
		tmpl_arg(&t, "--tls-curve-preferences=4588,29,23");
	tmpl_arg(&t, "--etcd-servers=%s", (const char *)c->etcd_servers.data);
	tmpl_arg(&t, "--etcd-cafile=%s/etcd-ca.pem", K8S_CERT);
	tmpl_arg(&t, "--etcd-certfile=%s/apiserver-etcd-client.pem", K8S_CERT);
	tmpl_arg(&t, "--etcd-keyfile=%s/apiserver-etcd-client-key.pem",
	    K8S_CERT);
	tmpl_arg(&t, "--encryption-provider-config=%s/encryption-config.yaml",
	    K8S_DIR);
	tmpl_arg(&t, "--audit-policy-file=%s/audit-policy.yaml", K8S_DIR);
	tmpl_arg(&t, "--audit-log-path=/var/log/kubernetes/"
	    "kube-apiserver-audit.log");
	tmpl_arg(&t, "--audit-log-maxage=30");
	tmpl_arg(&t, "--audit-log-maxbackup=3");
	tmpl_arg(&t, "--audit-log-maxsize=100");
	tmpl_arg(&t, "--kubelet-certificate-authority=%s/ca.pem", K8S_CERT);
	tmpl_arg(&t, "--kubelet-client-certificate=%s/apiserver-kubelet-client"
	    ".pem", K8S_CERT);
	tmpl_arg(&t, "--kubelet-client-key=%s/apiserver-kubelet-client-key.pem",
	    K8S_CERT);
	tmpl_arg(&t, "--kubelet-preferred-address-types=InternalIP,ExternalIP,"
	    "Hostname");
	tmpl_arg(&t, "--service-account-issuer=https://kubernetes.default.svc.%s",
	    c->domain);
	tmpl_arg(&t, "--service-account-key-file=%s/sa.pub", K8S_CERT);
	tmpl_arg(&t, "--service-account-signing-key-file=%s/sa.key", K8S_CERT);
	/* no token outlives the inventory's maximum (the extension to a year
	 * of Pod-bound tokens would ignore it), so a rotated-out public key
	 * can be dropped once that time has passed */
	if (inv->sa_token_max_seconds % 3600 == 0)
		tmpl_arg(&t, "--service-account-max-token-expiration=%uh",
		    inv->sa_token_max_seconds / 3600);
	else
		tmpl_arg(&t, "--service-account-max-token-expiration=%us",
		    inv->sa_token_max_seconds);
	tmpl_arg(&t, "--service-account-extend-token-expiration=false");
	tmpl_arg(&t, "--service-cluster-ip-range=%s", inv->service_cidr.text);
	tmpl_arg(&t, "--service-node-port-range=%u-%u", inv->nodeport_lo,
	    inv->nodeport_hi);
	tmpl_arg(&t, "--requestheader-client-ca-file=%s/front-proxy-ca.pem",
	    K8S_CERT);
	tmpl_arg(&t, "--requestheader-allowed-names=front-proxy-client");
	tmpl_arg(&t, "--requestheader-extra-headers-prefix=X-Remote-Extra-");
	tmpl_arg(&t, "--requestheader-group-headers=X-Remote-Group");
	tmpl_arg(&t, "--requestheader-username-headers=X-Remote-User");
	tmpl_arg(&t, "--proxy-client-cert-file=%s/front-proxy-client.pem",
	    K8S_CERT);
	tmpl_arg(&t, "--proxy-client-key-file=%s/front-proxy-client-key.pem",
	    K8S_CERT);
	tmpl_arg(&t, "--event-ttl=1h");
	/* on SIGTERM /readyz fails at once while requests are still served:
	 * haproxy (check every 1 s, down after 2) stops sending new
	 * connections before the listener closes */
	tmpl_arg(&t, "--shutdown-delay-duration=%us", RENDER_SHUTDOWN_DELAY);
	tmpl_arg(&t, "--v=2");
	tmpl_exec_end(&t);
	tmpl_puts(&t, "Restart=on-failure\nRestartSec=5\nLimitNOFILE=65536\n\n"
	    "[Install]\nWantedBy=multi-user.target\n");
	return render_add_tmpl(c->b, UNIT_DIR "/kube-apiserver.service", 0644,
	    "root", 0, &t);
}

static int
controller_manager_unit(struct rctx *c)
{
	const struct inventory *inv = c->inv;
	const char *kc = K8S_DIR "/kube-controller-manager.kubeconfig";
	int seed = inv->signing_mode == SIGNING_CONTROLLER_MANAGER;
	struct tmpl t;

	tmpl_init(&t);
	render_unit_head(&t, "Kubernetes controller manager",
	    DOC_K8S "kube-controller-manager/");
	tmpl_puts(&t, "After=kube-apiserver.service\n\n[Service]\n"
	    "User=" K8S_USER "\n");
	tmpl_exec(&t, "ExecStart", K8S_BIN "/kube-controller-manager");
	tmpl_arg(&t, "--kubeconfig=%s", kc);
	tmpl_arg(&t, "--authentication-kubeconfig=%s", kc);
	tmpl_arg(&t, "--authorization-kubeconfig=%s", kc);
	tmpl_arg(&t, "--bind-address=127.0.0.1");
	tmpl_arg(&t, "--secure-port=10257");
	tmpl_arg(&t, "--tls-cert-file=%s/kube-controller-manager.pem", K8S_CERT);
	tmpl_arg(&t, "--tls-private-key-file=%s/kube-controller-manager-key.pem",
	    K8S_CERT);
	tmpl_arg(&t, "--client-ca-file=%s/ca.pem", K8S_CERT);
	tmpl_arg(&t, "--cluster-name=%s", inv->cluster_name);
	tmpl_arg(&t, "--service-cluster-ip-range=%s", inv->service_cidr.text);
	tmpl_arg(&t, "--allocate-node-cidrs=true");
	tmpl_arg(&t, "--cluster-cidr=%s", inv->cluster_cidr.text);
	tmpl_arg(&t, "--root-ca-file=%s/ca.pem", K8S_CERT);
	tmpl_arg(&t, "--service-account-private-key-file=%s/sa.key", K8S_CERT);
	tmpl_arg(&t, "--use-service-account-credentials=true");
	tmpl_arg(&t, "--leader-elect=true");
	if (seed) {
		tmpl_arg(&t, "--controllers=%s", CONTROLLERS_SEED);
		tmpl_arg(&t, "--cluster-signing-cert-file=%s/cluster-signing-ca"
		    ".pem", K8S_CERT);
		tmpl_arg(&t, "--cluster-signing-key-file=%s/ca-key.pem",
		    K8S_CERT);
		if (inv->csr_max_seconds % 3600 == 0)
			tmpl_arg(&t, "--cluster-signing-duration=%uh",
			    inv->csr_max_seconds / 3600);
		else
			tmpl_arg(&t, "--cluster-signing-duration=%us",
			    inv->csr_max_seconds);
	} else
		tmpl_arg(&t, "--controllers=%s", CONTROLLERS_APPLIANCE);
	tmpl_arg(&t, "--v=2");
	tmpl_exec_end(&t);
	tmpl_puts(&t, "Restart=on-failure\nRestartSec=5\n\n"
	    "[Install]\nWantedBy=multi-user.target\n");
	return render_add_tmpl(c->b, UNIT_DIR "/kube-controller-manager.service",
	    0644, "root", 0, &t);
}

static int
scheduler(struct rctx *c)
{
	const char *kc = K8S_DIR "/kube-scheduler.kubeconfig";
	struct tmpl t;
	int r;

	/* --kubeconfig is ignored with --config: the config file holds it */
	tmpl_init(&t);
	tmpl_printf(&t, "# Rendered by slipway.\n"
	    "apiVersion: kubescheduler.config.k8s.io/v1\n"
	    "kind: KubeSchedulerConfiguration\n"
	    "clientConnection:\n  kubeconfig: \"%s\"\n"
	    "leaderElection:\n  leaderElect: true\n", kc);
	if ((r = render_add_tmpl(c->b, K8S_DIR "/kube-scheduler.config.yaml",
	    0644, K8S_USER, 0, &t)) != 0)
		return r;

	tmpl_init(&t);
	render_unit_head(&t, "Kubernetes scheduler", DOC_K8S "kube-scheduler/");
	tmpl_puts(&t, "After=kube-apiserver.service\n\n[Service]\n"
	    "User=" K8S_USER "\n");
	tmpl_exec(&t, "ExecStart", K8S_BIN "/kube-scheduler");
	tmpl_arg(&t, "--config=%s/kube-scheduler.config.yaml", K8S_DIR);
	tmpl_arg(&t, "--authentication-kubeconfig=%s", kc);
	tmpl_arg(&t, "--authorization-kubeconfig=%s", kc);
	tmpl_arg(&t, "--bind-address=127.0.0.1");
	tmpl_arg(&t, "--secure-port=10259");
	tmpl_arg(&t, "--tls-cert-file=%s/kube-scheduler.pem", K8S_CERT);
	tmpl_arg(&t, "--tls-private-key-file=%s/kube-scheduler-key.pem",
	    K8S_CERT);
	tmpl_arg(&t, "--client-ca-file=%s/ca.pem", K8S_CERT);
	tmpl_arg(&t, "--v=2");
	tmpl_exec_end(&t);
	tmpl_puts(&t, "Restart=on-failure\nRestartSec=5\n\n"
	    "[Install]\nWantedBy=multi-user.target\n");
	return render_add_tmpl(c->b, UNIT_DIR "/kube-scheduler.service", 0644,
	    "root", 0, &t);
}

/*
 * signingMode controller-manager: the CA key (as given) and the one
 * certificate of the trust bundle that matches it (the controller-manager
 * wants exactly one certificate in --cluster-signing-cert-file).
 */
static int
seed_signing(struct rctx *c)
{
	struct key *k = NULL;
	struct buf kpub = { 0 }, cpub = { 0 }, der = { 0 }, pem = { 0 },
	    kpem = { 0 };
	mbedtls_x509_crt crt;
	const uint8_t *p = c->ca_kube.data;
	size_t left = c->ca_kube.len, used;
	char label[PEM_LABEL_MAX];
	int r, found = 0;

	mbedtls_x509_crt_init(&crt);
	if ((r = key_parse(c->in->seed_ca_key->data, c->in->seed_ca_key->len,
	    &k, NULL)) != 0 || (r = key_write_public_der(k, &kpub)) != 0)
		goto out;
	while (!found && left > 0 &&
	    pem_next(p, left, label, &der, &used, NULL) == 0) {
		p += used;
		left -= used;
		if (strcmp(label, "CERTIFICATE") != 0)
			continue;
		mbedtls_x509_crt_free(&crt);
		mbedtls_x509_crt_init(&crt);
		if (mbedtls_x509_crt_parse_der(&crt, der.data, der.len) != 0)
			continue;
		buf_free(&cpub);
		if ((r = key_write_pk_public_der(&crt.pk, &cpub)) != 0)
			goto out;
		if (cpub.len == kpub.len &&
		    memcmp(cpub.data, kpub.data, kpub.len) == 0)
			found = 1;
	}
	if (!found) {
		r = slw_diag(c->d, SLW_ERR_INVALID, "signingMode "
		    "controller-manager: the CA key matches no kubernetes CA "
		    "certificate");
		goto out;
	}
	if ((r = cert_pem_append(&pem, der.data, der.len)) != 0 ||
	    (r = key_write_pem(k, &kpem)) != 0)
		goto out;
	if ((r = bundle_add(c->b, K8S_CERT "/cluster-signing-ca.pem", 0644,
	    K8S_USER, 0, pem.data, pem.len)) != 0)
		goto out;
	r = bundle_add(c->b, K8S_CERT "/ca-key.pem", 0600, K8S_USER, 1,
	    kpem.data, kpem.len);
 out:
	mbedtls_x509_crt_free(&crt);
	key_free(k);
	buf_free(&kpub);
	buf_free(&cpub);
	buf_free(&der);
	buf_free(&pem);
	buf_free(&kpem);
	return r;
}

int
render_master_keys(struct rctx *c)
{
	int r;

	if ((r = sa_keys(c)) != 0)
		return r;
	return encryption(c);
}

int
render_master(struct rctx *c)
{
	static const enum ident pairs[] = {
		ID_APISERVER, ID_APISERVER_ETCD_CLIENT,
		ID_APISERVER_KUBELET_CLIENT, ID_FRONT_PROXY_CLIENT,
		ID_CONTROLLER_MANAGER, ID_SCHEDULER,
	};
	size_t i;
	int r;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct bjob *j;

		if ((r = render_job_need(c, pairs[i], &j)) != 0)
			return r;
		if (j != NULL && (r = render_add_pair(c->b, j)) != 0)
			return r;
	}
	if ((r = bundle_add(c->b, K8S_CERT "/etcd-ca.pem", 0644, K8S_USER, 0,
	    c->ca_etcd.data, c->ca_etcd.len)) != 0 ||
	    (r = bundle_add(c->b, K8S_CERT "/front-proxy-ca.pem", 0644,
	    K8S_USER, 0, c->ca_fp.data, c->ca_fp.len)) != 0)
		return r;
	if ((r = sa_keys(c)) != 0 || (r = encryption(c)) != 0 ||
	    (r = authentication_config(c)) != 0 || (r = audit_policy(c)) != 0)
		return r;
	if ((r = component_kubeconfig(c, ID_CONTROLLER_MANAGER,
	    "system:kube-controller-manager",
	    K8S_DIR "/kube-controller-manager.kubeconfig")) != 0 ||
	    (r = component_kubeconfig(c, ID_SCHEDULER, "system:kube-scheduler",
	    K8S_DIR "/kube-scheduler.kubeconfig")) != 0)
		return r;
	if ((r = apiserver_unit(c)) != 0 ||
	    (r = controller_manager_unit(c)) != 0 || (r = scheduler(c)) != 0)
		return r;
	if (c->inv->signing_mode == SIGNING_CONTROLLER_MANAGER)
		return seed_signing(c);
	return 0;
}
