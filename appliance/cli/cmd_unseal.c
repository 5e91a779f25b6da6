// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_unseal.c: `slipway unseal`: gives a sealed `slipway serve` its KEK
 * (docs/appliance.md) over the unseal socket (appliance/unseal): a
 * passphrase typed without echo or read from a file, or (--tpm, root) the
 * KEK the TPM unseals; --status; --change-passphrase. serve decides and
 * keeps the count of wrong passphrases; this only asks and says what it
 * answered. Never echoes, prints or logs a passphrase or a key.
 */
#include "cli.h"
#include "kekwrap.h"
#include "unseal.h"
#include "unseal_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#define EXIT_SEALED 3		/* --status: sealed */
#define PROMPT_TRIES 3		/* passphrases asked per run */
#define CALL_TIMEOUT 300	/* s: Argon2id, then serve starts serving */

/* the terminal whose echo is off, to restore if a signal ends us */
static int tty_fd = -1;
static struct termios tty_saved;

static void
tty_restore(int sig)
{
	if (tty_fd >= 0)
		(void)tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	if (sig != 0) {
		(void)!write(STDERR_FILENO, "\n", 1);
		_exit(128 + sig);
	}
}

/*
 * Asks for one line without echo on the terminal (or reads one from stdin
 * when there is none). 0, or SLW_ERR_IO at the end of input.
 */
static int
prompt(const char *what, char out[KEKWRAP_PASS_MAX + 2], size_t *len)
{
	struct termios t;
	struct sigaction sa, old_int, old_term;
	FILE *in = NULL;
	int fd, r = SLW_ERR_IO;
	size_t n;

	*len = 0;
	/* the terminal: /dev/tty, or stdin if that is one (a sandbox may
	 * allow the console's own device and not /dev/tty) */
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && isatty(STDIN_FILENO))
		fd = dup(STDIN_FILENO);
	if (fd >= 0 && tcgetattr(fd, &tty_saved) == 0) {
		tty_fd = fd;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = tty_restore;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		t = tty_saved;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		t.c_lflag |= ICANON;
		(void)tcsetattr(fd, TCSAFLUSH, &t);
		(void)!write(fd, what, strlen(what));
		in = fdopen(dup(fd), "r");
	} else {
		if (fd >= 0)
			close(fd);
		fd = -1;
		in = fdopen(dup(STDIN_FILENO), "r");
	}
	if (in != NULL && fgets(out, KEKWRAP_PASS_MAX + 2, in) != NULL) {
		n = strcspn(out, "\r\n");
		out[n] = '\0';
		*len = n;
		r = 0;
	}
	if (in != NULL)
		fclose(in);
	if (tty_fd >= 0) {
		tty_restore(0);
		(void)!write(fd, "\n", 1);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		tty_fd = -1;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* One request; prints serve's answer (stdout if good, else stderr). */
static int
ask(struct cli *c, const char *sock, struct unseal_msg *q,
    struct unseal_msg *a)
{
	struct slw_diag d;
	int r;

	slw_diag_clear(&d);
	if ((r = unseal_call(sock, q, a, CALL_TIMEOUT, &d)) != 0) {
		cli_fail_err(c, r, &d);
		return r;
	}
	if (a->rc == 0)
		printf("%s\n", a->text);
	else
		cli_fail(c, "%s", a->text);
	return a->rc;
}

static int
status(struct cli *c, const char *sock)
{
	struct unseal_msg q, a;
	struct slw_diag d;
	int r;

	unseal_msg_init(&q, UNSEAL_STATUS);
	slw_diag_clear(&d);
	if ((r = unseal_call(sock, &q, &a, 30, &d)) != 0)
		return cli_fail_err(c, r, &d);
	if (a.rc != 0)
		return cli_fail(c, "%s", a.text);
	printf("%s\n", a.text);
	return a.state == UNSEAL_UNSEALED ? EXIT_OK : EXIT_SEALED;
}

static int
with_tpm(struct cli *c, const char *sock)
{
	struct kekwrap w;
	struct kek k;
	struct unseal_msg q, a;
	struct slw_diag d;
	char path[4200];
	int r, ret = EXIT_FAIL;

	memset(&k, 0, sizeof(k));
	memset(&w, 0, sizeof(w));
	unseal_msg_init(&q, UNSEAL_KEK);
	snprintf(path, sizeof(path), "%s/%s", c->state, UNSEAL_WRAPPED_NAME);
	slw_diag_clear(&d);
	if ((r = kekwrap_load(path, &w, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (!w.has_tpm) {
		printf("the KEK is not sealed to a TPM: the passphrase unseals "
		    "this appliance\n");
		ret = EXIT_OK;
		goto out;
	}
	if ((r = tpm_unseal(w.tpm.pub, w.tpm.pub_len, w.tpm.priv,
	    w.tpm.priv_len, &k, &d)) != 0) {
		ret = cli_fail(c, "%s; the appliance stays sealed: unseal it "
		    "with the passphrase", slw_diag_str(&d, r));
		goto out;
	}
	memcpy(q.kek, k.key, KEK_LEN);
	q.has_kek = 1;
	ret = ask(c, sock, &q, &a) == 0 ? EXIT_OK : EXIT_FAIL;
	unseal_msg_free(&a);
 out:
	unseal_msg_free(&q);
	kek_wipe(&k);
	kekwrap_wipe(&w);
	return ret;
}

/* A passphrase from a file ("-": stdin) or the terminal, into q->pass. */
static int
get_pass(struct cli *c, const char *file, const char *what, char *out,
    size_t *len)
{
	char line[KEKWRAP_PASS_MAX + 2];
	struct slw_diag d;
	int r;

	if (file != NULL && strcmp(file, "-") != 0) {
		slw_diag_clear(&d);
		if ((r = unseal_pass_read(file, out, len, &d)) != 0)
			return cli_fail(c, "%s", slw_diag_str(&d, r));
		return 0;
	}
	if (prompt(what, line, len) != 0) {
		mbedtls_platform_zeroize(line, sizeof(line));
		return cli_fail(c, "no passphrase (end of input)");
	}
	if (*len == 0 || *len > KEKWRAP_PASS_MAX) {
		mbedtls_platform_zeroize(line, sizeof(line));
		return cli_fail(c, *len == 0 ? "no passphrase" :
		    "a passphrase has at most %d bytes", KEKWRAP_PASS_MAX);
	}
	memcpy(out, line, *len + 1);
	mbedtls_platform_zeroize(line, sizeof(line));
	return 0;
}

/* Waits out serve's delay before the next try, saying so. */
static void
wait_for(unsigned int s)
{
	if (s == 0)
		return;
	fprintf(stderr, "slipway: unseal: the next try in %u s\n", s);
	while (s > 0)
		s = sleep(s);
}

static int
with_passphrase(struct cli *c, const char *sock, const char *file)
{
	struct unseal_msg q, a;
	int tries, r = SLW_ERR_INTERNAL;

	unseal_msg_init(&q, 0);
	unseal_msg_init(&a, 0);
	for (tries = 0; tries < (file != NULL ? 1 : PROMPT_TRIES); tries++) {
		unseal_msg_init(&q, UNSEAL_PASSPHRASE);
		if (get_pass(c, file, "Passphrase: ", q.pass, &q.pass_len) != 0)
			break;
		r = ask(c, sock, &q, &a);
		unseal_msg_free(&q);
		if (r == 0)
			break;
		if (r != SLW_ERR_KEK && r != SLW_ERR_LIMIT)
			break;		/* not worth asking again */
		if (file == NULL && tries + 1 < PROMPT_TRIES)
			wait_for(a.retry_after);
	}
	unseal_msg_free(&q);
	unseal_msg_free(&a);
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}

static int
change(struct cli *c, const char *sock, const char *file,
    const char *new_file)
{
	struct unseal_msg q, a;
	char again[KEKWRAP_PASS_MAX + 1];
	size_t alen = 0;
	int ret = EXIT_FAIL;

	unseal_msg_init(&q, UNSEAL_CHANGE);
	unseal_msg_init(&a, 0);
	if (get_pass(c, file, "Current passphrase (or the recovery "
	    "passphrase): ", q.pass, &q.pass_len) != 0 ||
	    get_pass(c, new_file, "New passphrase: ", q.new_pass,
	    &q.new_pass_len) != 0)
		goto out;
	if (new_file == NULL) {
		if (get_pass(c, NULL, "The new passphrase again: ", again,
		    &alen) != 0)
			goto out;
		if (alen != q.new_pass_len ||
		    memcmp(again, q.new_pass, alen) != 0) {
			cli_fail(c, "the two new passphrases differ; nothing "
			    "changed");
			goto out;
		}
	}
	ret = ask(c, sock, &q, &a) == 0 ? EXIT_OK : EXIT_FAIL;
 out:
	mbedtls_platform_zeroize(again, sizeof(again));
	unseal_msg_free(&q);
	unseal_msg_free(&a);
	return ret;
}

int
cmd_unseal(struct cli *c)
{
	const char *sock = NULL, *file = NULL, *new_file = NULL;
	int st = 0, tpm = 0, chg = 0, r;
	const struct cli_opt opts[] = {
		OPT_FLAG("status", &st),
		OPT_FLAG("tpm", &tpm),
		OPT_FLAG("change-passphrase", &chg),
		OPT_STR("passphrase-file", &file),
		OPT_STR("new-passphrase-file", &new_file),
		OPT_STR("socket", &sock),
		OPT_END,
	};

	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (st + tpm + chg > 1)
		return cli_usage(c, "one of --status, --tpm, --change-passphrase");
	if (new_file != NULL && !chg)
		return cli_usage(c, "--new-passphrase-file goes with "
		    "--change-passphrase");
	if ((st || tpm) && file != NULL)
		return cli_usage(c, "--passphrase-file is for a passphrase");
	if (sock == NULL)
		sock = unseal_socket_path();
	/* a KEK or a passphrase in memory: no core file */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return cli_fail(c, "cannot make this process "
		    "non-dumpable: %s", strerror(errno));
	if (st)
		return status(c, sock);
	if (tpm)
		return with_tpm(c, sock);
	if (chg)
		return change(c, sock, file, new_file);
	return with_passphrase(c, sock, file);
}
