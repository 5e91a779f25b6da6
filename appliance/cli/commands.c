// SPDX-License-Identifier: Apache-2.0
/*
 * commands.c: the one table of the console's commands, in the order of
 * `slipway --help`: name (up to three words: "ca rotate begin"), the
 * function (cmd_<noun>.c), usage and help. A name with a NULL function is
 * a group ("ca rotate" without a step). Data only; main.c and cli_find
 * (cli.c) read it.
 */
#include "cli.h"

const struct cmd cli_commands[] = {
	{ "init", cmd_init,
	  "--cluster FILE [--key-type ecdsa-p256|ecdsa-p384|rsa-2048|rsa-3072|rsa-4096] [--single-ca]\n"
	  "       [--sealed [--passphrase-file FILE] [--recovery-out FILE] [--tpm auto|on|off]]",
	  "Creates the state: CAs (kubernetes, etcd, front-proxy; one with\n"
	  "--single-ca), the service-account key and the encryption key, all\n"
	  "sealed under a new key-encryption key (STATE/kek unless --kek).\n"
	  "All or nothing; refuses an existing state.\n"
	  "--sealed (the appliance, docs/appliance.md): the KEK is stored only\n"
	  "wrapped, in STATE/kek.wrapped: by a recovery passphrase printed once\n"
	  "(or written to a new --recovery-out FILE), by the operator's\n"
	  "passphrase (the first line of --passphrase-file; else set it later\n"
	  "with 'slipway unseal --change-passphrase'), and sealed to the TPM\n"
	  "(--tpm auto: if one answers). 'slipway serve' then starts sealed." },
	{ "ca export", cmd_ca_export, "[--ca kubernetes|etcd|front-proxy]",
	  "Prints the trust bundle (PEM): every CA generation that is trusted,\n"
	  "of one CA or of all." },
	{ "cert issue", cmd_cert_issue,
	  "--profile NAME --cn CN [--org O]... [--san DNS:NAME|IP:ADDR]... --out PREFIX\n"
	  "       [--ca kubernetes|etcd|front-proxy] [--key-type TYPE] [--validity 8760h]",
	  "Issues one certificate with a new key and writes PREFIX.pem and\n"
	  "PREFIX-key.pem (0600). Profiles: kubernetes (the seed's: server and\n"
	  "client auth), server, client, peer." },
	{ "cert seed-set", cmd_cert_seed_set, "--out DIR [--key-type TYPE]",
	  "Issues the seed's certificate set into DIR: admin, etcd, flanneld,\n"
	  "kubernetes, kube-controller-manager, kube-scheduler, kube-proxy\n"
	  "(NAME.pem, NAME-key.pem) and ca.pem. CA keys are never written." },
	{ "cert list", cmd_cert_list, "[--json]",
	  "Lists issued certificates by expiry: serial, node (- for the\n"
	  "appliance's and operators' own), purpose, not-after, days left,\n"
	  "status (valid, expired, superseded, revoked), CA/generation, subject." },
	{ "cert revoke", cmd_cert_revoke,
	  "SERIAL | --node NAME [--reason REASON] [--force] [--no-deliver] [--json]\n"
	  "                   | --deliver [--plan]",
	  "Revokes one certificate, or every certificate of a node (current and\n"
	  "superseded), and re-signs the CRLs that list them, in one transaction\n"
	  "with its audit records. REASON is an RFC 5280 name: unspecified (the\n"
	  "default), keyCompromise, cACompromise, affiliationChanged, superseded,\n"
	  "cessationOfOperation, privilegeWithdrawn, aACompromise. etcd enforces\n"
	  "it once a member's /etc/etcd/cert/crl.der holds the new CRL: on a\n"
	  "cluster this appliance rolled out, the fleet engine delivers it to\n"
	  "every etcd member (no restart: etcd reads it at every connection);\n"
	  "--deliver alone resumes an interrupted delivery. Kubernetes checks\n"
	  "no CRL: such certificates stay usable until they expire or their CA\n"
	  "is rotated (status lists them).\n"
	  "Refused: an unknown serial, a CA certificate, one already revoked,\n"
	  "and an etcd member's current peer certificate unless --force (its\n"
	  "peers would cut it off). See docs/revocation.md." },
	{ "cert renew", cmd_cert_renew,
	  "[--node N] [--within 30d | --all] [--plan] [--json] [--parallel N]\n"
	  "              [--accept-new-host-keys] [--quiet]",
	  "Re-issues the node certificates that are due (past\n"
	  "certificates.renewAt of their lifetime, default 2/3; --within: ending\n"
	  "within that; --all: every one) and delivers them with the fleet\n"
	  "engine, node after node: the node fetches a bundle with just those\n"
	  "(a fresh token), the installed files are read back, and the units\n"
	  "whose files changed restart behind their gates. Kubelet certificates\n"
	  "rotate by themselves. Journaled: run it again to resume. `slipway\n"
	  "serve` runs it by itself when a certificate comes due." },
	{ "status", cmd_status, "[--json]",
	  "Every CA generation and every certificate slipway issued, grouped by\n"
	  "node and purpose (in use, superseded, revoked), with not-after, days\n"
	  "left and when each is due for renewal; the admin kubeconfigs handed\n"
	  "out; tokens, rollout, store and artifacts. Exit status 1 when a\n"
	  "certificate or CA in use ends within the inventory's\n"
	  "certificates.expiryWarning (default 720h). See docs/operations.md." },
	{ "audit verify", cmd_audit_verify, "",
	  "Verifies the hash chain of the audit log." },
	{ "audit list", cmd_audit_list, "[--json]",
	  "Prints the audit log." },
	{ "backup", cmd_backup, "--out FILE [--json]",
	  "Writes a backup of the state to a new FILE (0600) while serve runs:\n"
	  "a consistent, compacted copy of the store, sealed under the KEK\n"
	  "(AES-256-GCM), with a manifest (time, generation, audit head,\n"
	  "records per database, appliance id). Restoring it needs the same KEK.\n"
	  "See docs/operations.md." },
	{ "restore", cmd_restore, "FILE [--rollback] [--json]",
	  "Replaces the store with a backup, after verifying all of it. Refuses\n"
	  "another appliance's backup, a damaged one, and a store in use (stop\n"
	  "serve first). A backup older than the store needs --rollback: every\n"
	  "token unused at backup time is then voided and the generation moves\n"
	  "past the old one, so no token used since can be used again and no\n"
	  "older copy of the database opens. Audited (store.restore,\n"
	  "store.rollback). See docs/operations.md." },
	{ "bundle render", cmd_bundle_render, "--node NAME --out DIR",
	  "Renders exactly what node NAME would receive from the bootstrap\n"
	  "endpoint into DIR (which must not exist or be empty): every file at\n"
	  "its final path and mode under DIR, plus DIR/etc/slipway/install.sh.\n"
	  "Makes the node's kubelet bootstrap token if it has none, issues the\n"
	  "node's certificates with fresh keys and records them (audit log).\n"
	  "No CA key is written unless the inventory's security.signingMode is\n"
	  "controller-manager. See docs/bundles.md." },
	{ "kubeconfig admin", cmd_kubeconfig_admin,
	  "[--out FILE] [--server https://HOST:PORT] [--for NAME]",
	  "Issues the operator's kubeconfig (CN=admin, O=system:masters) with a\n"
	  "new key and prints it, or writes it to a new FILE (0600). The server\n"
	  "defaults to the apiserver VIP of the inventory. Never part of a\n"
	  "node's bundle. It is recorded as handed to NAME (default: the\n"
	  "console user); 'slipway status' lists every one handed out, and\n"
	  "each person's newest counts for the expiry warning." },
	{ "token create", cmd_token_create,
	  "--node NAME [--ttl 15m] [--source ADDR|CIDR] [--json]",
	  "Makes a one-time token for NODE and prints the command the node\n"
	  "runs to fetch and install its bundle:\n"
	  "  curl -fsS --pinnedpubkey 'sha256//PIN' -k -H 'Authorization: Bearer TOKEN' \\\n"
	  "    https://ADDR:PORT/v1/bundle | tar -xz -C / && /etc/slipway/install.sh\n"
	  "ADDR:PORT is the inventory's bootstrap address; PIN is the endpoint's\n"
	  "key. The token (160 secret bits) is stored only as a hash, works once,\n"
	  "only for NODE (and, with --source, only from that address or CIDR),\n"
	  "and expires after --ttl (default: the inventory's tokenTTL; at most 7d).\n"
	  "--json prints id, node, expiry, token, pin, url and command." },
	{ "token list", cmd_token_list, "[--json]",
	  "Lists tokens: id, node, state (active, used, expired, revoked),\n"
	  "expiry, and for used ones when, from where and what was issued.\n"
	  "Never shows a token." },
	{ "token revoke", cmd_token_revoke, "ID",
	  "Revokes an active token by its id (the part before the dot)." },
	{ "token prune", cmd_token_prune, "[--older-than 30d] [--json]",
	  "Deletes the records of tokens that ended (used, revoked, or expired\n"
	  "unused) more than --older-than ago (default 30d; 0s: every ended\n"
	  "one). Active tokens are never touched. The audit log keeps each\n"
	  "token's creation, redemption and revocation, and the issuance\n"
	  "records stay. 'slipway serve' does the same once a day." },
	{ "serve", cmd_serve,
	  "[--listen ADDR:PORT] [--user NAME] [--threads N] [--workers N]\n"
	  "       [--max-conns N] [--max-per-address N] [--idle-timeout 10s]\n"
	  "       [--request-timeout 30s] [--fail-limit N] [--fail-window 60s]\n"
	  "       [--max-pending N] [--grace 30s] [--no-approve] [--apiserver URL]\n"
	  "       [--unseal-socket PATH] [--unseal-group NAME]\n"
	  "       [--metrics-listen ADDR:PORT|off] [--renew-every 60s]\n"
	  "       [--max-downloads-per-node N]",
	  "Runs the HTTPS bootstrap endpoint (default 0.0.0.0:8443):\n"
	  "  GET /v1/ca.pem, GET /v1/bundle (Bearer token), POST /v1/enroll\n"
	  "  (Bearer token + PEM CSR), GET /healthz, GET /metrics,\n"
	  "  GET /v1/artifacts/<sha256> (a node's client certificate; at most\n"
	  "  --max-downloads-per-node, default 4, at once per node),\n"
	  "and, in a thread of its own, the kubelet CSR approver (as 'slipway\n"
	  "approve': API server at --apiserver, default the inventory's VIP;\n"
	  "--no-approve leaves it out).\n"
	  "Every --renew-every (default 60s; 0: never) a process of its own runs\n"
	  "'slipway cert renew --due': node certificates past\n"
	  "certificates.renewAt of their lifetime are re-issued and delivered,\n"
	  "one node at a time behind the gates (docs/operations.md).\n"
	  "TLS 1.2/1.3, AEAD suites with ECDHE only; the certificate comes from\n"
	  "the kubernetes CA and is reused across restarts. It is renewed while\n"
	  "serving, for the same key, when it nears its end or after 'ca rotate\n"
	  "advance' (checked every minute and on SIGHUP): a new child takes the\n"
	  "socket over and the old one finishes its requests (docs/endpoint.md).\n"
	  "Started as root, it drops to --user (default: slipway if it exists,\n"
	  "else nobody) right after binding. Prints a 'ready' line and notifies\n"
	  "$NOTIFY_SOCKET (READY=1) when it accepts connections; SIGTERM or\n"
	  "SIGINT stop it after answering what is in flight (--grace).\n"
	  "HTTP and TLS run in a child process under a seccomp filter; the\n"
	  "store and the CA keys stay in the first (docs/endpoint.md).\n"
	  "--fail-limit N (default 10, 0: off): failed token attempts an\n"
	  "address may make per --fail-window before it gets 429.\n"
	  "A state with only a wrapped KEK (init --sealed) starts sealed: every\n"
	  "/v1/ and /healthz answer 503 {\"error\":\"sealed\"} until 'slipway\n"
	  "unseal' gives it the KEK on --unseal-socket (default\n"
	  "$SLIPWAY_UNSEAL_SOCKET, else /run/slipway/unseal.sock; root and\n"
	  "--unseal-group, default operator, only); then it serves.\n"
	  "--metrics-listen (default 127.0.0.1:9643; 'off': none): plain HTTP\n"
	  "GET /metrics with every series, per-node certificate expiry\n"
	  "included; the bootstrap port's /metrics keeps only aggregates. The\n"
	  "default is skipped, with a log line, if its port is taken; a given\n"
	  "address must bind (docs/operations.md)." },
	{ "serve rotate-key", cmd_serve_rotate_key, "",
	  "Makes a new serving key and certificate for the endpoint. Every\n"
	  "one-liner printed before carries the old pin and stops working. A\n"
	  "running `slipway serve` switches to the new key within a minute, or\n"
	  "at once on SIGHUP, without dropping a connection." },
	{ "csr check", cmd_csr_check,
	  "--csr FILE --signer NAME --user U [--group G]... [--usage U]...\n"
	  "       [--expiration-seconds N]",
	  "The approver's decision for one CSR, offline, with the policy code\n"
	  "the approver runs: prints approve, deny or ignore and the reason\n"
	  "(the rule that decided). --user and --group are the requester\n"
	  "(spec.username, spec.groups); without --usage, the usages a kubelet\n"
	  "sends for the signer. Exit 0 approve, 3 deny, 4 ignore, 1 or 2 on\n"
	  "errors." },
	{ "approve", cmd_approve, "[--once] [--apiserver URL]",
	  "Decides pending kubelet CSRs by policy, writes each decision (and\n"
	  "its reason) into the CSR and the audit log, and in signingMode\n"
	  "appliance signs approved ones and writes status.certificate.\n"
	  "--once: one pass over the CSRs there are, then exit (1 if one could\n"
	  "not be processed). Without it: list and watch until SIGINT/SIGTERM,\n"
	  "retrying with backoff while the API server is away (what `slipway\n"
	  "serve` runs in a thread). The API server is the inventory's VIP\n"
	  "unless --apiserver https://HOST:PORT." },
	{ "cluster apply", cmd_cluster_apply, "[--apiserver URL]",
	  "Applies the cluster objects slipway owns, idempotently: a\n"
	  "bootstrap-token Secret per node (kube-system/bootstrap-token-<id>,\n"
	  "group system:bootstrappers:NODE, the node's token from the store),\n"
	  "the kubelet-bootstrap binding of system:node-bootstrapper to\n"
	  "system:bootstrappers, the seed's system:kubernetes-to-kubelet role\n"
	  "and binding, and removes bindings that would auto-approve CSRs." },
	{ "rollout plan", cmd_rollout_plan, "[--json]",
	  "Prints the ordered steps of the rollout for the stored inventory:\n"
	  "phases prepare, etcd, ha, masters, workers (the seed's order), the\n"
	  "nodes each step runs on, and the gate that closes each phase." },
	{ "rollout run", cmd_rollout_run,
	  "[--phase prepare|etcd|ha|masters|workers] [--accept-new-host-keys]\n"
	  "       [--parallel N] [--connect-timeout S] [--command-timeout S]\n"
	  "       [--gate-timeout S] [--quiet]",
	  "Runs the rollout over SSH with the appliance's key (slipway ssh\n"
	  "pubkey), N nodes at a time (default 10), printing a progress line\n"
	  "per step (elapsed, phase, node, step). Each phase ends with a gate the\n"
	  "appliance measures itself; a failed step or gate stops the run and\n"
	  "nothing after it starts. Every step and remote command is kept in the\n"
	  "journal: the next run resumes at what did not finish and never redoes\n"
	  "a finished step (gates are checked again). --phase runs one phase\n"
	  "(earlier ones must be done). Host keys are pinned from the inventory\n"
	  "(ssh.hostKey); a node without a pin is refused unless\n"
	  "--accept-new-host-keys, which records its key on first contact (audited)\n"
	  "and pins it from then on. A key that does not match its pin is refused\n"
	  "before anything runs on that node. `slipway serve` must be running:\n"
	  "nodes fetch their bundles from it with one-time tokens." },
	{ "rollout status", cmd_rollout_status, "[--json] [--verbose]",
	  "Per phase and node: pending, running, done or failed, with the\n"
	  "reason; the gates; the last run. --verbose lists every step." },
	{ "rollout log", cmd_rollout_log,
	  "[--json] [--op NAME|all] [--node NAME] [--phase P] [--run N] [--output]",
	  "The journal's log of remote commands and appliance actions: run,\n"
	  "phase, node, step, exit status, elapsed; --output adds each command\n"
	  "and its (capped, redacted) output. --op: another fleet operation's\n"
	  "(ca-rotate-etcd-2, cert-renew-7, ...; default rollout) or all." },
	{ "inventory show", cmd_inventory_show, "[--json]",
	  "Prints the stored inventory (cluster.yaml as init or the last\n"
	  "'inventory apply' stored it); --json: its nodes and cluster-wide\n"
	  "settings, with the YAML." },
	{ "inventory diff", cmd_inventory_diff, "FILE [--json]",
	  "What FILE would change against the stored inventory, node by node\n"
	  "(add, remove, re-address), with the fleet steps each change implies.\n"
	  "Refuses (one line, exit 1) an unparseable or invalid FILE and a\n"
	  "change of a cluster-wide setting (CIDRs, VIP, cluster name, ports,\n"
	  "...) or of a node's roles. Changes nothing." },
	{ "inventory apply", cmd_inventory_apply,
	  "FILE [--plan] [--accept-new-host-keys] [--connect-timeout S]\n"
	  "       [--gate-timeout S] [--quiet]",
	  "Carries out the change inventory diff shows, as one fleet operation\n"
	  "(journaled, audited, resumed by running the same command again):\n"
	  "the new inventory stored, 'slipway serve' seen serving it, the\n"
	  "cluster objects, each added worker's prepare and workers steps (the\n"
	  "other nodes are not touched), the Nodes Ready gate. --plan prints the\n"
	  "steps and changes nothing. Supported: adding workers, ssh settings.\n"
	  "Refused before anything changes, with the reason: what diff refuses,\n"
	  "other kinds of change (not yet supported), an unfinished CA rotation\n"
	  "or an unfinished earlier inventory change." },
	{ "unseal", cmd_unseal,
	  "[--passphrase-file FILE|-] | --tpm | --status\n"
	  "       | --change-passphrase [--passphrase-file FILE] [--new-passphrase-file FILE]\n"
	  "       [--socket PATH]",
	  "Gives a sealed 'slipway serve' its key-encryption key (passphrase or\n"
	  "TPM; docs/appliance.md) over its unseal socket ($SLIPWAY_UNSEAL_SOCKET,\n"
	  "else /run/slipway/unseal.sock; root and the operator group only):\n"
	  "  (default)  asks for the operator or the recovery passphrase without\n"
	  "             echo (or reads the first line of --passphrase-file);\n"
	  "             three wrong ones, then each further try waits twice as\n"
	  "             long as the last (serve keeps the count)\n"
	  "  --tpm      (root) the KEK the TPM unseals, if it is sealed to it\n"
	  "  --status   sealed (exit 3) or unsealed (exit 0)\n"
	  "  --change-passphrase  a new operator passphrase, proven with the\n"
	  "             current or the recovery passphrase" },
	{ "console", cmd_console, "[--dumb]",
	  "The operator's console (docs/appliance.md): full-screen menus\n"
	  "(ncurses; 80x24 on a serial line is enough) for the overview, tokens,\n"
	  "rollout, CAs, certificates, backup and restore, unseal, network,\n"
	  "audit, reboot and shutdown. Every action runs the command of that\n"
	  "name ('slipway token create ...'). Numbered menus instead on a dumb\n"
	  "terminal (TERM=dumb, no terminfo, not a terminal) or with --dumb.\n"
	  "^C, ^Z and ^\\ do nothing; it never gives a shell." },
	{ "ssh pubkey", cmd_ssh_pubkey, "",
	  "Prints the appliance's SSH public key (OpenSSH authorized_keys line),\n"
	  "creating the key on first use (ECDSA P-256, sealed in the store)." },
	{ "artifact import", cmd_artifact_import,
	  "FILE... [--sha256 HEX | --checksums FILE] [--name NAME] [--version V]",
	  "Imports binaries and images for the nodes (docs/artifacts.md): a\n"
	  "release tarball (Kubernetes server, etcd, containerd, CNI plugins,\n"
	  "flannel and its CNI plugin: only the binaries nodes run are kept), a\n"
	  "plain binary (runc.amd64, kubelet, ...: --name if its file name is\n"
	  "not the binary's, --version when the name does not say it) or an\n"
	  "image tarball (the pause image: OCI or docker-archive). Nothing is\n"
	  "kept unless the file's digest matches --sha256 or its line in a\n"
	  "sha256sum/sha512sum checksums file as upstream publishes it. Stored\n"
	  "by SHA-256 under STATE/artifacts, recorded and audited; a file\n"
	  "imported before is a no-op." },
	{ "artifact list", cmd_artifact_list, "[--json]",
	  "Lists stored artifacts: name, version, component, kind, size, sha256." },
	{ "artifact remove", cmd_artifact_remove, "SHA256",
	  "Removes an artifact (record, audited, then its file)." },
	{ "artifact manifest", cmd_artifact_manifest, "[--json]",
	  "The exact list of files an operator must bring for the stored\n"
	  "inventory: per component its version (what kubernetesVersion implies,\n"
	  "or the inventory's versions:), the upstream file, its checksums file\n"
	  "and the binaries taken from it, each stored or missing." },
	{ "ca rotate", NULL,
	  "run|begin|advance|finish|abort|status --ca NAME [--force]",
	  "Rotates a CA without downtime. run does it all on the cluster;\n"
	  "the steps stay for manual control:\n"
	  "  begin    new generation, trusted by every bundle, not signing yet\n"
	  "  advance  the new generation signs; the old one stays trusted\n"
	  "           (refused while a node does not trust it, unless --force)\n"
	  "  finish   the old generation is retired (refused while a node or a\n"
	  "           valid leaf still depends on it, unless --force)\n"
	  "  abort    one step back\n"
	  "  status   phase, generations and leaves still on the old one" },
	{ "ca rotate run", cmd_ca_rotate_run,
	  "--ca etcd|front-proxy|service-account [--plan] [--json]\n"
	  "              [--parallel N] [--accept-new-host-keys] [--connect-timeout S]\n"
	  "              [--settle S] [--quiet] [--force]",
	  "The whole rotation on the running cluster, one operation of the\n"
	  "fleet engine: begin; every node's trust becomes old+new (delivered,\n"
	  "read back, units restarted in the rollout's order, each followed by\n"
	  "its gate: one etcd member, one master at a time); advance; every leaf\n"
	  "of the CA re-issued and delivered; finish; the new trust alone\n"
	  "delivered. After an etcd member's restart its clients get --settle\n"
	  "seconds (default 5) to reconnect before the next member stops.\n"
	  "One progress line per node and step; --plan prints the\n"
	  "steps and changes nothing. Journaled: killed at any point, the same\n"
	  "command resumes where it stopped. `slipway serve` must be running.\n"
	  "--ca service-account: the new key verifies on every apiserver, then\n"
	  "signs; the old public key is dropped only when the longest token it\n"
	  "signed may have expired (security.serviceAccountTokenMaxAge after the\n"
	  "switch): until then the run stops with exit 75 and says when; --force\n"
	  "drops it at once." },
	{ "key rotate", cmd_key_rotate,
	  "encryption [--plan] [--json] [--parallel N] [--accept-new-host-keys]\n"
	  "              [--connect-timeout S] [--quiet]",
	  "Rotates the Secrets encryption key on the running cluster, one\n"
	  "operation of the fleet engine: the new key is added second to every\n"
	  "master's EncryptionConfiguration (apiservers restarted one at a time,\n"
	  "each behind /readyz), made first (restarted again), every Secret read\n"
	  "and replaced through the API (each once), the old key dropped.\n"
	  "--plan prints the steps; killed at any point, the same command\n"
	  "resumes. `slipway serve` must be running." },
	{ "recover", cmd_recover,
	  "[--plan] [--json] [--parallel N] [--accept-new-host-keys]\n"
	  "        [--connect-timeout S] [--quiet]",
	  "Brings back a cluster whose certificates already expired (the\n"
	  "appliance's clock is the reference): every node fetches its whole\n"
	  "bundle again (every certificate re-issued, a fresh kubelet bootstrap\n"
	  "token), then the units restart tier by tier, each tier's nodes at\n"
	  "once: etcd members together, then every member healthy; masters,\n"
	  "then /readyz through the VIP; workers, then each Node Ready. On a\n"
	  "cluster where nothing expired it says so and changes nothing.\n"
	  "Journaled: killed, the same command resumes. `slipway serve` must\n"
	  "be running." },
	{ "ca rotate begin", cmd_ca_rotate_begin, "--ca NAME",
	  "Creates the next generation of a CA: trusted, not yet signing." },
	{ "ca rotate advance", cmd_ca_rotate_advance, "--ca NAME [--force]",
	  "Makes the new generation sign; the old one stays trusted. Refused\n"
	  "while a node has no verified trust of it (names the node)." },
	{ "ca rotate finish", cmd_ca_rotate_finish, "--ca NAME [--force]",
	  "Retires the old generation once no valid leaf and no node depends\n"
	  "on it." },
	{ "ca rotate abort", cmd_ca_rotate_abort, "--ca NAME",
	  "Steps a rotation back one phase." },
	{ "ca rotate status", cmd_ca_rotate_status, "[--ca NAME] [--json]",
	  "Shows the rotation phase of a CA (without --ca: of every CA)." },
	{ NULL, NULL, NULL, NULL },
};
