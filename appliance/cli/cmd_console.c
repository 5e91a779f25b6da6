// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_console.c: `slipway console`: the operator's menus (console.h):
 * full screen with ncurses down to 20x5, or numbered menus on a dumb
 * terminal. ^C, ^Z and ^\ are ignored here and in every command it runs;
 * input is bounded; command output is shown with control bytes replaced.
 * Must never run a shell or anything but the commands of its screens.
 */
#include "console.h"

#include <curses.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <unistd.h>

#define KEY_CTRL(ch) ((ch) & 0x1f)
#define ERR_LIMIT 3		/* consecutive read errors: the terminal is gone */

/* ---------------------------------------------------------------- shared */

static void
describe(const struct console_argv *av, char *out, size_t cap)
{
	size_t i, n = 0;

	out[0] = '\0';
	/* argv[0..2] is SELF --state DIR (and --kek K): show "slipway ..." */
	n += (size_t)snprintf(out, cap, "slipway");
	for (i = 3; i < av->argc && n < cap; i++) {
		if (strcmp(av->argv[i], "--kek") == 0 && i == 3) {
			i++;
			continue;
		}
		n += (size_t)snprintf(out + n, cap - n, " %s", av->argv[i]);
	}
}

static void
not_available(const struct console_action *a, char *out, size_t cap)
{
	snprintf(out, cap,
	    "not available yet: `slipway %s` does not exist in this build.\n\n"
	    "This screen runs that command once it is there.\n", a->command);
}

/* What a finished command said, as one line. */
static void
exit_line(int r, char *out, size_t cap)
{
	if (r == 0)
		snprintf(out, cap, "done");
	else if (r > 128)
		snprintf(out, cap, "ended by signal %d", r - 128);
	else if (r > 0)
		snprintf(out, cap, "failed (exit %d)", r);
	else
		snprintf(out, cap, "could not run it (%s)", slw_strerror(r));
}

/* ---------------------------------------------------------------- dumb */

/* One line from stdin, at most cap-1 bytes kept (the rest read and
 * dropped). 0, or -1 at the end of input. */
static int
dumb_line(char *buf, size_t cap)
{
	size_t n = 0;
	int ch;

	for (;;) {
		ch = getchar();
		if (ch == EOF) {
			if (ferror(stdin) && errno == EINTR) {
				clearerr(stdin);
				continue;
			}
			if (n == 0)
				return -1;
			break;
		}
		if (ch == '\n')
			break;
		if (ch == '\r')
			continue;
		if (n + 1 < cap)
			buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	return 0;
}

/* A number 0..max typed on a line; -1 for anything else, -2 at EOF. */
static int
dumb_choice(size_t max)
{
	char line[CONSOLE_INPUT_MAX + 1];
	char *end;
	long v;

	printf("choose a number: ");
	fflush(stdout);
	if (dumb_line(line, sizeof(line)) != 0)
		return -2;
	if (line[0] < '0' || line[0] > '9')
		return -1;
	v = strtol(line, &end, 10);
	if (*end != '\0' || v < 0 || (size_t)v > max)
		return -1;
	return (int)v;
}

static int
dumb_action(struct cli *c, const struct console_action *a)
{
	char vals[CONSOLE_ASKS_MAX][CONSOLE_INPUT_MAX + 1];
	char what[512], msg[128];
	struct console_argv av;
	size_t i;
	int r;

	memset(vals, 0, sizeof(vals));
	if (a->how == CONSOLE_SYSTEM) {
		printf("%s: type yes to go ahead: ", a->label);
		fflush(stdout);
		if (dumb_line(vals[0], sizeof(vals[0])) != 0)
			return -2;
		if (strcmp(vals[0], "yes") != 0) {
			printf("not done\n");
			return 0;
		}
		memset(&av, 0, sizeof(av));
		for (i = 0; a->system[i] != NULL && i + 1 < 32; i++)
			av.argv[i] = (char *)a->system[i];
		av.argc = i;
		r = console_run_tty(&av);
		exit_line(r, msg, sizeof(msg));
		printf("[%s]\n", msg);
		return 0;
	}
	if (console_command(a) == NULL) {
		not_available(a, what, sizeof(what));
		printf("%s", what);
		return 0;
	}
	for (i = 0; i < CONSOLE_ASKS_MAX && a->asks[i].prompt != NULL; i++) {
		printf("%s: ", a->asks[i].prompt);
		fflush(stdout);
		if (dumb_line(vals[i], sizeof(vals[i])) != 0)
			return -2;
	}
	if (console_argv_build(&av, c, a->command, a->args, a, vals) != 0) {
		printf("not run: a value is missing, too long, or has a "
		    "character other than letters, digits and ._:/@+=,- "
		    "(or starts with -)\n");
		return 0;
	}
	describe(&av, what, sizeof(what));
	printf("\n$ %s\n", what);
	r = console_run_tty(&av);
	if (a->then != NULL &&
	    console_argv_build(&av, c, a->then, a->then_args, NULL, NULL) == 0) {
		describe(&av, what, sizeof(what));
		printf("\n$ %s\n", what);
		r = console_run_tty(&av);
	}
	exit_line(r, msg, sizeof(msg));
	printf("[%s]\n", msg);
	return 0;
}

static int
dumb_main(struct cli *c)
{
	size_t i;
	int s, k;

	printf("slipway console (numbered menus: this terminal cannot show "
	    "the full screen)\n");
	for (;;) {
		printf("\n== slipway console ==\n");
		for (i = 0; i < console_nscreens; i++)
			printf("  %zu) %s\n", i + 1, console_screens[i].title);
		printf("  0) Leave the console\n");
		s = dumb_choice(console_nscreens);
		if (s == -2 || s == 0)
			return EXIT_OK;
		if (s < 0) {
			printf("type one of the numbers shown\n");
			continue;
		}
		for (;;) {
			const struct console_screen *sc = &console_screens[s - 1];

			printf("\n== %s ==\n", sc->title);
			if (sc->note != NULL)
				printf("%s\n", sc->note);
			for (i = 0; i < sc->n; i++)
				printf("  %zu) %s%s\n", i + 1, sc->actions[i].label,
				    sc->actions[i].how != CONSOLE_SYSTEM &&
				    console_command(&sc->actions[i]) == NULL ?
				    " (not available yet)" : "");
			printf("  0) Back\n");
			k = dumb_choice(sc->n);
			if (k == -2)
				return EXIT_OK;
			if (k == 0)
				break;
			if (k < 0) {
				printf("type one of the numbers shown\n");
				continue;
			}
			if (dumb_action(c, &sc->actions[k - 1]) == -2)
				return EXIT_OK;
		}
	}
}

/* ---------------------------------------------------------------- curses */

static int read_errors;

/* A key, or -2 once the terminal is gone. ^C, ^Z, ^\ come as keys (raw
 * mode) and mean nothing. */
static int
tui_key(void)
{
	int ch = getch();

	if (ch == ERR) {
		if (++read_errors >= ERR_LIMIT)
			return -2;
		return ERR;
	}
	read_errors = 0;
	return ch;
}

/* Writes s at (y, x), clipped to the screen. */
static void
put(int y, int x, const char *s, int attr)
{
	if (y < 0 || y >= LINES || x >= COLS)
		return;
	if (attr)
		attron(attr);
	mvaddnstr(y, x, s, COLS - x);
	if (attr)
		attroff(attr);
}

static void
frame(const char *title, const char *footer)
{
	char head[256];

	erase();
	snprintf(head, sizeof(head), " slipway console | %s", title);
	if (LINES >= 1) {
		attron(A_REVERSE);
		mvhline(0, 0, ' ', COLS);
		put(0, 0, head, 0);
		attroff(A_REVERSE);
	}
	if (LINES >= 3)
		put(LINES - 1, 0, footer, A_DIM);
}

static void
flash_line(const char *msg)
{
	if (LINES >= 2) {
		move(LINES - 2, 0);
		clrtoeol();
		put(LINES - 2, 0, msg, A_BOLD);
	}
}

/*
 * A list to choose from: the index chosen, -1 back, -2 terminal gone.
 * Keys: arrows, j/k, digits 1-9, Enter; q, Esc, Left: back.
 */
static int
tui_menu(const char *title, const char *note, const char *const *items,
    const int *dim, size_t n, const char *back)
{
	size_t sel = 0, top = 0, i;
	int ch, first, rows;
	char line[300], footer[160];
	const char *msg = NULL;

	snprintf(footer, sizeof(footer),
	    "Up/Down, 1-9: choose  Enter: open  q: %s", back);
	for (;;) {
		frame(title, footer);
		first = 1;
		if (note != NULL && LINES >= 8) {
			put(1, 1, note, 0);
			first = 2;
		}
		rows = LINES - first - (LINES >= 3 ? 1 : 0) - (LINES >= 6 ? 1 : 0);
		if (rows < 1)
			rows = 1;
		if (sel < top)
			top = sel;
		if (sel >= top + (size_t)rows)
			top = sel - (size_t)rows + 1;
		for (i = top; i < n && i < top + (size_t)rows; i++) {
			snprintf(line, sizeof(line), "%c %zu) %s%s",
			    i == sel ? '>' : ' ', i + 1, items[i],
			    dim != NULL && dim[i] ? " (not available yet)" : "");
			put(first + (int)(i - top), 0, line,
			    i == sel ? A_REVERSE : 0);
		}
		if (msg != NULL)
			flash_line(msg);
		msg = NULL;
		refresh();
		ch = tui_key();
		switch (ch) {
		case -2:
			return -2;
		case KEY_UP: case 'k':
			if (sel > 0)
				sel--;
			break;
		case KEY_DOWN: case 'j':
			if (sel + 1 < n)
				sel++;
			break;
		case KEY_HOME:
			sel = 0;
			break;
		case KEY_END:
			sel = n - 1;
			break;
		case '\n': case '\r': case KEY_ENTER: case KEY_RIGHT:
			return (int)sel;
		case 'q': case 'Q': case 27: case KEY_LEFT:
			return -1;
		case KEY_CTRL('c'): case KEY_CTRL('z'): case KEY_CTRL('\\'):
		case KEY_CTRL('d'):
			msg = "(that key does nothing here; q goes back)";
			break;
		case KEY_RESIZE: case ERR:
			break;
		default:
			if (ch >= '1' && ch <= '9' && (size_t)(ch - '0') <= n)
				return ch - '1';
			break;
		}
	}
}

/*
 * Asks one value on the last lines: 0 with buf filled, -1 cancelled (Esc),
 * -2 terminal gone. At most CONSOLE_INPUT_MAX bytes are kept; more typing
 * is refused with a beep.
 */
/* One key at a prompt: 1 Enter, -1 Esc, 0 go on (buf edited in place). */
static int
ask_key(int ch, char buf[CONSOLE_INPUT_MAX + 1], size_t *n)
{
	if (ch == 27)
		return -1;
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
		return 1;
	if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (*n > 0)
			buf[--*n] = '\0';
		return 0;
	}
	if (ch >= 0x20 && ch < 0x7f) {
		if (*n < CONSOLE_INPUT_MAX) {
			buf[(*n)++] = (char)ch;
			buf[*n] = '\0';
		} else
			beep();
	}
	/* everything else (^C, ^Z, ^\, function keys) is ignored */
	return 0;
}

/*
 * Asks one value on the screen: 0 with buf filled, -1 cancelled (Esc),
 * -2 terminal gone. At most CONSOLE_INPUT_MAX bytes are kept; more typing
 * is refused with a beep. Keys already typed are taken before the next
 * redraw (pasted text costs one screen update, not one per byte).
 */
static int
tui_ask(const char *title, const char *prompt, char buf[CONSOLE_INPUT_MAX + 1])
{
	size_t n = 0;
	int ch, y, w, k;
	char head[300];

	buf[0] = '\0';
	for (;;) {
		frame(title, "Enter: go ahead  Esc: cancel");
		snprintf(head, sizeof(head), "%s:", prompt);
		y = LINES >= 5 ? 2 : LINES - 2;
		if (y < 1)
			y = LINES > 1 ? 1 : 0;
		put(y, 1, head, A_BOLD);
		/* the typed text's tail, so the end stays in view */
		w = COLS - 3;
		if (w < 1)
			w = 1;
		if (y + 1 < LINES)
			put(y + 1, 1, buf + (n > (size_t)w ? n - (size_t)w : 0), 0);
		refresh();
		ch = tui_key();
		if (ch == -2)
			return -2;
		k = ask_key(ch, buf, &n);
		nodelay(stdscr, TRUE);
		while (k == 0 && (ch = getch()) != ERR)
			k = ask_key(ch, buf, &n);
		nodelay(stdscr, FALSE);
		if (k == -1)
			return -1;
		if (k == 1)
			return 0;
	}
}

/* Replaces control bytes but newline (tab: a space): output never drives
 * the terminal. */
static void
sanitize(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\t')
			s[i] = ' ';
		else if ((ch < 0x20 && ch != '\n') || ch == 0x7f)
			s[i] = '?';
	}
}

/* Shows text (wrapped at the screen's width) until q, Esc or Enter.
 * 0, or -2 when the terminal is gone. */
static int
tui_pager(const char *title, const char *text, size_t len, const char *status)
{
	size_t top = 0, total, i, row, start, lines_shown;
	int ch, w, rows;
	char footer[200];

	for (;;) {
		w = COLS > 0 ? COLS : 1;
		rows = LINES - 2 - (LINES >= 4 ? 1 : 0);
		if (rows < 1)
			rows = 1;
		/* count the wrapped lines */
		total = 0;
		for (start = 0; start < len || (start == 0 && len == 0);) {
			const char *nl = memchr(text + start, '\n', len - start);
			size_t l = nl ? (size_t)(nl - (text + start)) : len - start;

			total += l == 0 ? 1 : (l + (size_t)w - 1) / (size_t)w;
			start += l + 1;
			if (len == 0)
				break;
		}
		if (top + (size_t)rows > total)
			top = total > (size_t)rows ? total - (size_t)rows : 0;
		snprintf(footer, sizeof(footer), "%s | lines %zu-%zu of %zu | "
		    "Up/Down PgUp/PgDn  q: back", status, total ? top + 1 : 0,
		    top + (size_t)rows < total ? top + (size_t)rows : total, total);
		frame(title, footer);
		/* draw the wrapped lines top.. */
		row = 0;
		lines_shown = 0;
		for (start = 0; start < len && lines_shown < (size_t)rows;) {
			const char *nl = memchr(text + start, '\n', len - start);
			size_t l = nl ? (size_t)(nl - (text + start)) : len - start;
			size_t pieces = l == 0 ? 1 : (l + (size_t)w - 1) / (size_t)w;

			for (i = 0; i < pieces && lines_shown < (size_t)rows; i++, row++) {
				if (row < top)
					continue;
				if (1 + (int)lines_shown < LINES)
					mvaddnstr(1 + (int)lines_shown, 0,
					    text + start + i * (size_t)w,
					    (int)(l - i * (size_t)w < (size_t)w ?
					    l - i * (size_t)w : (size_t)w));
				lines_shown++;
			}
			start += l + 1;
		}
		refresh();
		ch = tui_key();
		switch (ch) {
		case -2:
			return -2;
		case KEY_UP: case 'k':
			if (top > 0)
				top--;
			break;
		case KEY_DOWN: case 'j':
			top++;
			break;
		case KEY_PPAGE: case 'b':
			top = top > (size_t)rows ? top - (size_t)rows : 0;
			break;
		case KEY_NPAGE: case ' ':
			top += (size_t)rows;
			break;
		case KEY_HOME: case 'g':
			top = 0;
			break;
		case KEY_END: case 'G':
			top = total;
			break;
		case 'q': case 'Q': case 27: case '\n': case '\r': case KEY_ENTER:
		case KEY_LEFT:
			return 0;
		default:
			break;
		}
	}
}

/* Waits for Enter on the terminal outside curses. 0, or -2 at EOF. */
static int
wait_enter(void)
{
	char ch;
	ssize_t k;

	printf(" -- press Enter to return to the menu --");
	fflush(stdout);
	for (;;) {
		k = read(STDIN_FILENO, &ch, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -2;
		if (ch == '\n' || ch == '\r')
			return 0;
	}
}

/* Leaves curses, runs av (and then, on success) on the terminal, waits
 * for Enter, comes back. 0 or -2. */
static int
tui_run_tty(struct cli *c, const struct console_action *a,
    struct console_argv *av)
{
	char what[512], msg[128];
	int r, w;

	def_prog_mode();
	endwin();
	describe(av, what, sizeof(what));
	printf("\n$ %s\n", a->how == CONSOLE_SYSTEM ? av->argv[0] : what);
	r = console_run_tty(av);
	if (a->then != NULL &&
	    console_argv_build(av, c, a->then, a->then_args, NULL, NULL) == 0) {
		describe(av, what, sizeof(what));
		printf("\n$ %s\n", what);
		r = console_run_tty(av);
	}
	exit_line(r, msg, sizeof(msg));
	printf("\n[%s]", msg);
	w = wait_enter();
	reset_prog_mode();
	clear();
	refresh();
	return w;
}

static int
tui_run_page(struct cli *c, const struct console_action *a,
    struct console_argv *av)
{
	char *out = NULL, *more = NULL, *all = NULL, msg[128], st[160];
	size_t len = 0, mlen = 0;
	int r, w = 0;

	frame(a->label, "running...");
	put(LINES > 2 ? 2 : 0, 1, "running...", 0);
	refresh();
	r = console_run_capture(av, &out, &len);
	if (r >= 0 && a->then != NULL &&
	    console_argv_build(av, c, a->then, a->then_args, NULL, NULL) == 0) {
		int r2 = console_run_capture(av, &more, &mlen);

		if (r2 >= 0 && (all = malloc(len + mlen + 2)) != NULL) {
			memcpy(all, out, len);
			all[len] = '\n';
			memcpy(all + len + 1, more, mlen);
			all[len + 1 + mlen] = '\0';
			free(out);
			out = all;
			all = NULL;
			len += mlen + 1;
			r = r2;	/* the second one's: the first only says
				 * how it stands (unseal --status) */
		}
	}
	exit_line(r, msg, sizeof(msg));
	snprintf(st, sizeof(st), "%s", msg);
	if (out != NULL) {
		sanitize(out, len);
		w = tui_pager(a->label, out, len, st);
	} else {
		char text[200];

		snprintf(text, sizeof(text), "%s\n", msg);
		w = tui_pager(a->label, text, strlen(text), st);
	}
	free(out);
	free(more);
	return w;
}

static int
tui_action(struct cli *c, const struct console_action *a)
{
	char vals[CONSOLE_ASKS_MAX][CONSOLE_INPUT_MAX + 1];
	char text[512];
	struct console_argv av;
	size_t i;
	int r;

	memset(vals, 0, sizeof(vals));
	if (a->how == CONSOLE_SYSTEM) {
		r = tui_ask(a->label, "Type yes to go ahead", vals[0]);
		if (r != 0)
			return r == -2 ? -2 : 0;
		if (strcmp(vals[0], "yes") != 0)
			return 0;
		memset(&av, 0, sizeof(av));
		for (i = 0; a->system[i] != NULL && i + 1 < 32; i++)
			av.argv[i] = (char *)a->system[i];
		av.argc = i;
		return tui_run_tty(c, a, &av);
	}
	if (console_command(a) == NULL) {
		not_available(a, text, sizeof(text));
		return tui_pager(a->label, text, strlen(text), "not available");
	}
	for (i = 0; i < CONSOLE_ASKS_MAX && a->asks[i].prompt != NULL; i++) {
		r = tui_ask(a->label, a->asks[i].prompt, vals[i]);
		if (r != 0)
			return r == -2 ? -2 : 0;
	}
	if (console_argv_build(&av, c, a->command, a->args, a, vals) != 0) {
		snprintf(text, sizeof(text), "not run: a value is missing, too "
		    "long, or has a character other than letters, digits and "
		    "._:/@+=,- (or starts with -).\n");
		return tui_pager(a->label, text, strlen(text), "not run");
	}
	if (a->how == CONSOLE_TTY)
		return tui_run_tty(c, a, &av);
	return tui_run_page(c, a, &av);
}

static int
tui_main(struct cli *c)
{
	const char *items[32], *acts[32];
	int dim[32];
	size_t i;
	int s, k;

	for (i = 0; i < console_nscreens && i < 31; i++)
		items[i] = console_screens[i].title;
	items[i++] = "Leave the console";
	for (;;) {
		s = tui_menu("main menu", "slipway: the appliance's console",
		    items, NULL, i, "nothing (use 'Leave the console')");
		if (s == -2 || s == (int)i - 1)
			return EXIT_OK;
		if (s < 0)
			continue;
		for (;;) {
			const struct console_screen *sc = &console_screens[s];
			size_t j;

			for (j = 0; j < sc->n && j < 32; j++) {
				acts[j] = sc->actions[j].label;
				dim[j] = sc->actions[j].how != CONSOLE_SYSTEM &&
				    console_command(&sc->actions[j]) == NULL;
			}
			k = tui_menu(sc->title, sc->note, acts, dim, j, "back");
			if (k == -2)
				return EXIT_OK;
			if (k < 0)
				break;
			if (tui_action(c, &sc->actions[k]) == -2)
				return EXIT_OK;
		}
	}
}

/* 1 if this terminal can show the full screen. */
static int
terminal_capable(void)
{
	const char *t = getenv("TERM");
	int err = 0;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return 0;
	if (t == NULL || t[0] == '\0' || strcmp(t, "dumb") == 0)
		return 0;
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK)
		return 0;
	/* a terminal without cursor addressing cannot hold a screen */
	return tigetstr("cup") != NULL && tigetstr("cup") != (char *)-1;
}

int
cmd_console(struct cli *c)
{
	int dumb = 0, r;
	const struct cli_opt opts[] = {
		OPT_FLAG("dumb", &dumb),
		OPT_END
	};

	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (console_self_init() != 0)
		return cli_fail(c, "cannot find this program (/proc/self/exe)");
	/* the keys that end or stop a program do nothing here */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	if (dumb || !terminal_capable())
		return dumb_main(c);
	if (initscr() == NULL)
		return dumb_main(c);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(100);
	curs_set(0);
	r = tui_main(c);
	endwin();
	return r;
}
