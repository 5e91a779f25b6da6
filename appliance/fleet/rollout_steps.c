// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_steps.c: what each rollout step does on a node, as the seed did
 * it by hand (prepare the OS, start etcd, haproxy + keepalived, the control
 * plane, the node components), written as short idempotent shell scripts:
 * running one twice leaves the node as running it once. Scripts carry no
 * secret: keys and tokens reach nodes only in their bundle.
 */
#include "rollout_int.h"
#include "release.h"

#include <stdio.h>
#include <string.h>

#define PREAMBLE \
	"set -e\n" \
	"PATH=/opt/k8s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" \
	"export PATH\n"

/* Starts (or restarts) a unit from its installed files and checks it. */
#define START_UNIT \
	"start_unit() {\n" \
	"  systemctl cat \"$1\" >/dev/null 2>&1 || { echo \"unit $1 is not installed (missing from the bundle?)\"; exit 1; }\n" \
	"  [ \"$(systemctl show -p NeedDaemonReload --value \"$1\")\" = no ] || systemctl daemon-reload\n" \
	"  systemctl is-enabled -q \"$1\" 2>/dev/null || systemctl enable -q \"$1\" 2>&1 | grep -v '^Synchronizing\\|^Executing' || true\n" \
	"  if [ \"$2\" = nonblock ]; then systemctl restart --no-block \"$1\"; \n" \
	"  elif [ \"$2\" = reload ]; then systemctl reload-or-restart \"$1\"; \n" \
	"  else systemctl restart \"$1\"; fi\n" \
	"  i=0\n" \
	"  while :; do\n" \
	"    s=$(systemctl is-active \"$1\" || true)\n" \
	"    case \"$s\" in\n" \
	"    active|reloading) echo \"$1: $s\"; return 0;;\n" \
	"    activating) [ \"$2\" = nonblock ] && { echo \"$1: $s\"; return 0; };;\n" \
	"    failed) systemctl status --no-pager -n 20 \"$1\" || true; exit 1;;\n" \
	"    esac\n" \
	"    i=$((i + 1)); [ $i -lt 50 ] || { echo \"$1 is $s\"; systemctl status --no-pager -n 20 \"$1\" || true; exit 1; }\n" \
	"    sleep 0.2\n" \
	"  done\n" \
	"}\n"

static int
s_os(const struct inventory *inv, const struct inv_node *n, time_t now,
    struct buf *o)
{
	(void)inv;
	(void)n;
	(void)now;
	return buf_appendf(o, PREAMBLE
	    "[ -d /run/systemd/system ] || { echo \"systemd is not running (PID 1: $(cat /proc/1/comm))\"; exit 1; }\n"
	    "[ -r /etc/os-release ] && . /etc/os-release\n"
	    "echo \"os: ${PRETTY_NAME:-unknown}, kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB\"\n"
	    "missing=\n"
	    "for c in curl tar gzip sha256sum systemctl ip sysctl; do command -v $c >/dev/null 2>&1 || missing=\"$missing $c\"; done\n"
	    "[ -z \"$missing\" ] || { echo \"missing commands:$missing\"; exit 1; }\n"
	    "[ -f /sys/fs/cgroup/cgroup.controllers ] && echo 'cgroup: v2' || echo 'WARN: cgroup v2 is not mounted at /sys/fs/cgroup'\n"
	    "if systemctl is-active --quiet firewalld 2>/dev/null; then echo 'WARN: firewalld is active (the seed stops it)'; fi\n");
}

/*
 * Fetches what the appliance holds for the node (install.sh --binaries:
 * every file sha256-checked, tampered ones replaced), then asks every
 * binary the node's roles need for its version and compares it with the
 * inventory's (release.h). A missing binary or a wrong version fails the
 * step with one line; the distribution's haproxy and keepalived are only
 * checked for.
 */
static int
s_binaries(const struct inventory *inv, const struct inv_node *n,
    time_t now, struct buf *o)
{
	struct rel_versions v;
	size_t i;
	int r;

	(void)now;
	if ((r = release_versions(inv, &v, NULL)) != 0)
		return r;
	r = buf_appendf(o, PREAMBLE
	    "[ -x /etc/slipway/install.sh ] || { echo 'no /etc/slipway/install.sh: the node has no bundle'; exit 1; }\n"
	    "/etc/slipway/install.sh --binaries\n"
	    "missing=\nwrong=\nfound=\n"
	    "# ver NAME PATH WANT [ARGS]: PATH runs and names version WANT\n"
	    "ver() {\n"
	    "  n=$1 p=$2 w=${3#v}; shift 3\n"
	    "  [ -x \"$p\" ] || { missing=\"$missing $n\"; return 0; }\n"
	    "  out=$(env -u CNI_COMMAND \"$p\" \"$@\" </dev/null 2>&1 | head -n 20) || true\n"
	    "  got=\n"
	    "  for t in $(printf '%%s\\n' \"$out\" | grep -Eo 'v?[0-9]+(\\.[0-9]+)+[0-9A-Za-z.+~_-]*'); do\n"
	    "    [ -n \"$got\" ] || got=$t\n"
	    "    case \"${t#v}\" in\n"
	    "    \"$w\"|\"$w\"[!0-9.]*) found=\"$found $n\"; return 0;;\n"
	    "    esac\n"
	    "  done\n"
	    "  wrong=\"$wrong${wrong:+; }$n: $p reports ${got:-no version}, the inventory wants $w\"\n"
	    "}\n");
	for (i = 0; r == 0 && i < release_binaries_n; i++) {
		const struct rel_binary *b = &release_binaries[i];

		if (b->kind != REL_BINARY || !(b->roles & n->roles))
			continue;
		r = buf_appendf(o, "ver %s %s/%s %s %s\n", b->name, b->dir,
		    b->name, v.v[b->comp], b->version_args);
	}
	if (r == 0 && (n->roles & ROLE_MASTER))
		r = buf_appendf(o, "for c in haproxy keepalived; do command -v $c "
		    ">/dev/null 2>&1 && found=\"$found $c\" || missing=\"$missing $c\"; done\n");
	if (r == 0)
		r = buf_appendf(o, "echo \"found:$found\"\n"
		    "[ -z \"$missing\" ] || { echo \"missing:$missing\"; exit 1; }\n"
		    "[ -z \"$wrong\" ] || { echo \"wrong version: $wrong\"; exit 1; }\n");
	return r;
}

static int
s_kernel(const struct inventory *inv, const struct inv_node *n, time_t now,
    struct buf *o)
{
	(void)n;
	(void)now;
	return buf_appendf(o, PREAMBLE
	    "mods='br_netfilter overlay%s'\n"
	    "mkdir -p /etc/modules-load.d\n"
	    "printf '%%s\\n' $mods > /etc/modules-load.d/kubernetes.conf\n"
	    "for m in $mods; do\n"
	    "  [ -d /sys/module/$m ] && continue\n"
	    "  if command -v modprobe >/dev/null 2>&1 && modprobe $m 2>/dev/null; then echo \"loaded $m\"; continue; fi\n"
	    "  echo \"WARN: kernel module $m is not loaded and cannot be loaded here\"\n"
	    "done\n"
	    /* The seed's kubernetes.conf (sysctl.d). */
	    "cat > /etc/sysctl.d/kubernetes.conf <<'EOF'\n"
	    "net.bridge.bridge-nf-call-iptables=1\n"
	    "net.bridge.bridge-nf-call-ip6tables=1\n"
	    "net.ipv4.ip_forward=1\n"
	    "vm.swappiness=0\n"
	    "vm.overcommit_memory=1\n"
	    "vm.panic_on_oom=0\n"
	    "fs.inotify.max_user_watches=89100\n"
	    "EOF\n"
	    "while IFS='=' read -r k v; do\n"
	    "  f=/proc/sys/$(echo \"$k\" | tr . /)\n"
	    "  if ! cur=$(cat \"$f\" 2>/dev/null); then echo \"WARN: sysctl $k does not exist here (module not loaded?)\"; continue; fi\n"
	    "  [ \"$cur\" = \"$v\" ] && continue\n"
	    "  case $k in fs.inotify.max_user_watches) [ \"$cur\" -ge \"$v\" ] && continue;; esac\n"
	    "  if sysctl -q -w \"$k=$v\" >/dev/null 2>&1; then echo \"set $k=$v\"; else echo \"WARN: cannot set $k=$v (it is $cur; read-only here)\"; fi\n"
	    "done < /etc/sysctl.d/kubernetes.conf\n"
	    "[ \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 1 ] || { echo 'net.ipv4.ip_forward is not 1'; exit 1; }\n"
	    "echo 'net.ipv4.ip_forward=1'\n",
	    strcmp(inv->proxy_mode, "ipvs") == 0 ?
	    " ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack" : "");
}

static int
s_swap(const struct inventory *inv, const struct inv_node *n, time_t now,
    struct buf *o)
{
	(void)inv;
	(void)n;
	(void)now;
	return buf_appendf(o, PREAMBLE
	    "if [ -f /etc/fstab ] && grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then\n"
	    "  sed -i -E '/^[^#].*[[:space:]]swap[[:space:]]/ s/^/#/' /etc/fstab; echo 'swap entries in /etc/fstab commented out'\n"
	    "fi\n"
	    "swapoff -a 2>/dev/null || true\n"
	    "n=$(awk 'NR > 1' /proc/swaps | wc -l)\n"
	    "if [ \"$n\" -gt 0 ]; then echo \"WARN: $n swap area(s) still active and cannot be turned off here (kubelet needs swap off or failSwapOn: false)\"; else echo 'swap: off'; fi\n");
}

static int
s_time(const struct inventory *inv, const struct inv_node *n, time_t now,
    struct buf *o)
{
	(void)inv;
	(void)n;
	/* now: the appliance's clock when the script was made. */
	return buf_appendf(o, PREAMBLE
	    "t=$(date +%%s); skew=$((t - %lld)); abs=${skew#-}\n"
	    "echo \"clock: $(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ), ${skew}s from the appliance\"\n"
	    "[ \"$abs\" -le 30 ] || { echo \"the clock is ${skew}s off the appliance's: certificates would not be valid yet or already expired; sync time first\"; exit 1; }\n"
	    "sync=$(timedatectl show -p NTPSynchronized --value 2>/dev/null || echo unknown)\n"
	    "[ \"$sync\" = yes ] && echo 'NTP: synchronized' || echo \"WARN: NTP synchronization is '$sync' (timedatectl)\"\n",
	    (long long)now);
}

static int
unit_script(struct buf *o, const char *unit, const char *mode)
{
	return buf_appendf(o, PREAMBLE START_UNIT "start_unit %s %s\n", unit,
	    mode);
}

static int
s_etcd(const struct inventory *inv, const struct inv_node *n, time_t now,
    struct buf *o)
{
	(void)inv;
	(void)n;
	(void)now;
	/* Members wait for each other: start without blocking; the gate waits. */
	return unit_script(o, "etcd", "nonblock");
}

static int
s_haproxy(const struct inventory *inv, const struct inv_node *n, time_t now,
    struct buf *o)
{
	(void)inv;
	(void)n;
	(void)now;
	return buf_appendf(o, PREAMBLE START_UNIT
	    "haproxy -c -q -f /etc/haproxy/haproxy.cfg || { echo 'haproxy.cfg does not pass haproxy -c'; exit 1; }\n"
	    "start_unit haproxy reload\n");
}

static int
s_keepalived(const struct inventory *inv, const struct inv_node *n,
    time_t now, struct buf *o)
{
	(void)inv;
	(void)n;
	(void)now;
	return buf_appendf(o, PREAMBLE START_UNIT
	    "[ -f /etc/keepalived/keepalived.conf ] || { echo '/etc/keepalived/keepalived.conf is missing (not in the bundle?)'; exit 1; }\n"
	    "start_unit keepalived reload\n");
}

#define UNIT_STEP(fn, unit) \
static int \
fn(const struct inventory *inv, const struct inv_node *n, time_t now, \
    struct buf *o) \
{ \
	(void)inv; \
	(void)n; \
	(void)now; \
	return unit_script(o, unit, "restart"); \
}

UNIT_STEP(s_apiserver, "kube-apiserver")
UNIT_STEP(s_controller_manager, "kube-controller-manager")
UNIT_STEP(s_scheduler, "kube-scheduler")
UNIT_STEP(s_flanneld, "flanneld")
/* containerd, then the images of the appliance (install.sh --images). */
static int
s_containerd(const struct inventory *inv, const struct inv_node *n,
    time_t now, struct buf *o)
{
	(void)inv;
	(void)n;
	(void)now;
	return buf_appendf(o, PREAMBLE START_UNIT
	    "start_unit containerd restart\n"
	    "i=0\n"
	    "until ctr -n k8s.io version >/dev/null 2>&1; do i=$((i + 1)); [ $i -lt 50 ] || { echo 'containerd does not answer on its socket'; exit 1; }; sleep 0.2; done\n"
	    "/etc/slipway/install.sh --images\n");
}
UNIT_STEP(s_kubelet, "kubelet")
UNIT_STEP(s_kube_proxy, "kube-proxy")


#define ALL (ROLE_ETCD | ROLE_MASTER | ROLE_WORKER)

const struct rollout_step_def rollout_steps[] = {
	{ "os", PH_PREPARE, STEP_REMOTE, ALL, 0, 60,
	  "check the OS: systemd as init, curl/tar/sha256sum/ip/sysctl, cgroup "
	  "v2", s_os, NULL },
	{ "bundle", PH_PREPARE, STEP_BUNDLE, ALL, 0, 600,
	  "fetch the node's bundle with a fresh one-time token (curl "
	  "one-liner); its install.sh places the files and fetches the "
	  "binaries the appliance holds", NULL, NULL },
	{ "binaries", PH_PREPARE, STEP_REMOTE, ALL, 0, 600,
	  "every binary of the node's roles from the appliance (install.sh "
	  "--binaries: sha256-checked, tampered ones replaced) or in place, "
	  "each at the inventory's version", s_binaries, NULL },
	{ "kernel", PH_PREPARE, STEP_REMOTE, ALL, 0, 60,
	  "kernel modules (br_netfilter, overlay, ip_vs) and the seed's "
	  "sysctls in /etc/sysctl.d/kubernetes.conf", s_kernel, NULL },
	{ "swap", PH_PREPARE, STEP_REMOTE, ALL, 0, 60,
	  "swap off (swapoff -a, /etc/fstab)", s_swap, NULL },
	{ "time", PH_PREPARE, STEP_REMOTE, ALL, 0, 60,
	  "clock within 30 s of the appliance's, NTP synchronized", s_time,
	  NULL },

	{ "etcd", PH_ETCD, STEP_REMOTE, ROLE_ETCD, 0, 60,
	  "enable and start etcd (members wait for each other)", s_etcd,
	  NULL },

	{ "haproxy", PH_HA, STEP_REMOTE, ROLE_MASTER, 0, 60,
	  "check haproxy.cfg, enable and (re)start haproxy", s_haproxy, NULL },
	{ "keepalived", PH_HA, STEP_REMOTE, ROLE_MASTER, 0, 60,
	  "enable and (re)start keepalived (MASTER on the first master)",
	  s_keepalived, NULL },

	{ "flannel-config", PH_MASTERS, STEP_APPLIANCE, 0, 0, 60,
	  "write flannel's network config to etcd (v3 API, mTLS)", NULL,
	  rollout_action_flannel_config },
	{ "kube-apiserver", PH_MASTERS, STEP_REMOTE, ROLE_MASTER, 0, 120,
	  "enable and start kube-apiserver", s_apiserver, NULL },
	{ "kube-controller-manager", PH_MASTERS, STEP_REMOTE, ROLE_MASTER, 0,
	  120, "enable and start kube-controller-manager",
	  s_controller_manager, NULL },
	{ "kube-scheduler", PH_MASTERS, STEP_REMOTE, ROLE_MASTER, 0, 120,
	  "enable and start kube-scheduler", s_scheduler, NULL },
	{ "cluster-objects", PH_MASTERS, STEP_APPLIANCE, 0, 1, 120,
	  "apply the cluster objects slipway owns (bootstrap-token Secrets, "
	  "RBAC) through the API", NULL, rollout_action_cluster_objects },

	{ "flanneld", PH_WORKERS, STEP_REMOTE, ROLE_WORKER, 0, 120,
	  "enable and start flanneld", s_flanneld, NULL },
	{ "containerd", PH_WORKERS, STEP_REMOTE, ROLE_WORKER, 0, 300,
	  "enable and start containerd, then import the appliance's images "
	  "(install.sh --images: the pause image; nothing is pulled)",
	  s_containerd, NULL },
	{ "kubelet", PH_WORKERS, STEP_REMOTE, ROLE_WORKER, 0, 120,
	  "enable and start kubelet (TLS bootstrap; slipway approves its CSR)",
	  s_kubelet, NULL },
	{ "kube-proxy", PH_WORKERS, STEP_REMOTE, ROLE_WORKER, 0, 120,
	  "enable and start kube-proxy", s_kube_proxy, NULL },
};

const size_t rollout_steps_n = sizeof(rollout_steps) / sizeof(rollout_steps[0]);
