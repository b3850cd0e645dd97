/*
 * check_exec.c: exec "CMD ARGS": run a Nagios/Icinga plugin unchanged
 * (posix_spawn, never a shell), at most `exec-max` at once, read its
 * output on the loop and map its exit status to ours.
 *
 * The plugin's exit ends its check: output still coming EXIT_GRACE_MS
 * after it is not waited for. Each plugin leads a session of its own;
 * tocsin-probed is a child subreaper, so what a plugin leaves running
 * (also what left its session with setsid) becomes our child once its
 * parent is gone, and is killed and reaped here, and counted
 * (check_exec_leftovers).
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"

#include "perfdata.h"
#include "probed.h"

#define OUT_KEEP	(64 * 1024)	/* bytes of output kept */
#define OUT_HARD_MAX	(16 * 1024 * 1024)	/* read in all, then killed */
#define READ_BUDGET	(256 * 1024)	/* bytes read per callback */
#define EXIT_GRACE_MS	200	/* output read after the plugin's exit */

/*
 * A child process: its pid is also its process group. It stays here until
 * reaped, even after its probe is gone (x NULL), so the pid (and the group)
 * cannot be reused under us while we may still signal it.
 */
struct child {
	pid_t		 pid;
	struct exec	*x;		/* its check, or NULL once released */
	int		 reaped;	/* pid gone: never signal it again */
	int		 status;	/* from waitpid, once reaped */
	struct child	*next;
};

/* One exec check: waiting for a slot, or running its plugin. */
struct exec {
	struct probe	*p;
	int		 queued;	/* in the FIFO, no child yet */
	struct exec	*qnext;
	struct child	*child;		/* NULL before spawn and once reaped */
	int		 fd;		/* read end of the output pipe; -1 */
	struct event	*ev;		/* reads fd */
	char		*buf;		/* OUT_KEEP + 1 bytes */
	size_t		 len;		/* bytes kept in buf */
	size_t		 total;		/* bytes read in all */
	int		 eof;		/* the pipe is closed */
	int		 exited;	/* status is in */
	int		 status;	/* from waitpid */
	int		 flooded;	/* printed over OUT_HARD_MAX: killed */
	struct event	*grace;		/* after exit, the output's last wait */
};

static int	 exec_start(struct probe *);
static void	 exec_release(struct probe *);
static const char *exec_phase(struct probe *);
static int	 spawn(struct exec *);
static int	 slot_free(struct engine *);
static void	 run_queue(void);
static void	 close_output(struct exec *);
static void	 maybe_finish(struct exec *);
static void	 long_output(struct probe *, const char *);
static int	 watch_children(struct event_base *);
static void	 on_output(evutil_socket_t, short, void *);
static void	 on_sigchld(evutil_socket_t, short, void *);
static void	 on_grace(evutil_socket_t, short, void *);
static int	 read_output(struct exec *);
static int	 reap_leftovers(void);
static int	 is_leftover(pid_t);

const struct check_ops check_exec_ops = {
	.name = "exec",
	.start = exec_start,
	.release = exec_release,
	.phase = exec_phase,
};

/* What a plugin sees: no environment of ours, just a path and a locale. */
static char *const plugin_env[] = {
	"PATH=/usr/bin:/bin",
	"LANG=C",
	NULL
};

static struct child	*children;	/* spawned and not reaped */
static unsigned long	 nchildren;
/*
 * Checks waiting for a slot, first in first out. Its bound is the number
 * of exec servers (a server has one check at a time), and a check leaves
 * it when its engine deadline passes ("waiting for a free exec slot").
 */
static struct exec	*qhead, *qtail;
static struct event	*sigchld;	/* while children or leftovers live */
static uint64_t		 leftovers;	/* plugins' leftovers reaped */
static int		 leftovers_pending;	/* killed, not yet reaped */

/*
 * Is there room for one more plugin? Children count until reaped, so
 * the limit holds for processes, zombies included. exec-max 0 means no
 * limit, as max-concurrent 0 does.
 */
static int
slot_free(struct engine *eng)
{
	unsigned long max = engine_conf(eng)->exec_max;

	return max == 0 || nchildren < max;
}

/* Start the plugin now if a slot is free and nobody waits; else queue. */
static int
exec_start(struct probe *p)
{
	struct exec *x;

	x = xcalloc(1, sizeof(*x));
	x->p = p;
	x->fd = -1;
	p->priv = x;
	if (qhead == NULL && slot_free(p->eng))
		return spawn(x);
	x->queued = 1;
	if (qtail != NULL)
		qtail->qnext = x;
	else
		qhead = x;
	qtail = x;
	return 0;
}

/*
 * The one teardown of an exec check: out of the queue, its process
 * group killed if it still runs (the child stays in the table until the
 * reaper collects it), its pipe closed. Safe at any stage.
 */
static void
exec_release(struct probe *p)
{
	struct exec	*x = p->priv, **xp;

	if (x == NULL)
		return;
	if (x->queued) {
		for (xp = &qhead; *xp != NULL; xp = &(*xp)->qnext)
			if (*xp == x) {
				*xp = x->qnext;
				break;
			}
		if (qtail == x) {
			for (qtail = qhead; qtail != NULL &&
			    qtail->qnext != NULL; qtail = qtail->qnext)
				;
		}
	}
	if (x->child != NULL) {
		if (!x->child->reaped && kill(-x->child->pid, SIGKILL) == -1 &&
		    errno != ESRCH)
			log_warn("exec: kill process group %ld",
			    (long)x->child->pid);
		x->child->x = NULL;
	}
	close_output(x);
	if (x->grace != NULL)
		event_free(x->grace);
	free(x->buf);
	free(x);
	p->priv = NULL;
}

static const char *
exec_phase(struct probe *p)
{
	struct exec *x = p->priv;

	if (x == NULL)
		return NULL;
	return x->queued ? "a free exec slot" : "the plugin";
}

/* Watch SIGCHLD on base while there are children. 0, or -1. */
static int
watch_children(struct event_base *base)
{
	static int subreaper;

	if (!subreaper) {
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
			log_warn("exec: cannot become a child subreaper; "
			    "plugins' leftovers go to init");
		subreaper = 1;
	}
	if (sigchld != NULL)
		return 0;
	if ((sigchld = evsignal_new(base, SIGCHLD, on_sigchld, NULL)) == NULL)
		return -1;
	if (evsignal_add(sigchld, NULL) == -1) {
		event_free(sigchld);
		sigchld = NULL;
		return -1;
	}
	return 0;
}

/*
 * Run x's plugin: its own session (and so process group), signals at
 * their defaults and
 * unblocked, stdin /dev/null, stdout and stderr into one pipe, no other
 * descriptor, in /, with a minimal environment. glibc's posix_spawn
 * reports an exec failure (ENOENT, EACCES) as its return value. Returns
 * 0, or -1 with p->r set.
 */
static int
spawn(struct exec *x)
{
	struct probe			*p = x->p;
	char *const			*argv = p->sc->argv;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, all;
	struct child			*c;
	pid_t				 pid;
	int				 fds[2], err;

	if (watch_children(engine_base(p->eng)) == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot watch SIGCHLD");
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot run %s: pipe: %s",
		    argv[0], strerror(errno));
		return -1;
	}
	/* Only our end: the plugin's stdout stays blocking. */
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) == -1) {
		err = errno;
		goto fail_pipe;
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((err = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail_pipe;
	if ((err = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto fail_pipe;
	}
	if ((err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) != 0 ||
	    (err = posix_spawn_file_actions_adddup2(&fa, fds[1], 1)) != 0 ||
	    (err = posix_spawn_file_actions_adddup2(&fa, fds[1], 2)) != 0 ||
	    (err = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (err = posix_spawn_file_actions_addchdir_np(&fa, "/")) != 0 ||
	    (err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (err = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (err = posix_spawnattr_setsigdefault(&attr, &all)) != 0)
		goto fail_spawn;
	err = posix_spawn(&pid, argv[0], &fa, &attr, argv, plugin_env);
	if (err != 0)
		goto fail_spawn;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	c = xcalloc(1, sizeof(*c));
	c->pid = pid;
	c->x = x;
	c->next = children;
	children = c;
	nchildren++;
	x->child = c;
	x->fd = fds[0];
	x->buf = xmalloc(OUT_KEEP + 1);
	if ((x->ev = event_new(engine_base(p->eng), x->fd, EV_READ | EV_PERSIST,
	    on_output, x)) == NULL || event_add(x->ev, NULL) == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot watch the output "
		    "of %s", argv[0]);
		return -1;	/* release kills and reaps later */
	}
	log_debug("%s: started %s, pid %ld", p->sc->id, argv[0], (long)pid);
	return 0;
fail_spawn:
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
fail_pipe:
	close(fds[0]);
	close(fds[1]);
	result_set(&p->r, CHECK_UNKNOWN, "cannot run %s: %s", argv[0],
	    strerror(err));
	return -1;
}

/* Give free slots to the probes waiting for one, in order. */
static void
run_queue(void)
{
	struct exec *x;

	while ((x = qhead) != NULL && slot_free(x->p->eng)) {
		qhead = x->qnext;
		if (qhead == NULL)
			qtail = NULL;
		x->qnext = NULL;
		x->queued = 0;
		if (spawn(x) == -1)
			probe_done(x->p);	/* x is gone */
	}
}

static void
close_output(struct exec *x)
{
	if (x->ev != NULL) {
		event_free(x->ev);
		x->ev = NULL;
	}
	if (x->fd != -1) {
		close(x->fd);
		x->fd = -1;
	}
	x->eof = 1;
}

/*
 * The plugin's output: the first OUT_KEEP bytes are kept; more is read
 * and dropped so the plugin never blocks on a full pipe and can exit with
 * its own status; past OUT_HARD_MAX its group is killed so a plugin that
 * prints forever costs little of the loop. At most READ_BUDGET bytes per
 * call, to stay fair to everything else on the loop.
 */
static void
on_output(evutil_socket_t fd, short what, void *arg)
{
	struct exec	*x = arg;

	(void)fd;
	(void)what;
	if (!read_output(x))
		return;
	close_output(x);
	maybe_finish(x);
}

/*
 * Read what the pipe holds now, within READ_BUDGET. Returns 1 at its end
 * (EOF, an error, or a flood), 0 when more may come.
 */
static int
read_output(struct exec *x)
{
	char		 scratch[16384];
	size_t		 budget = 0;
	ssize_t		 n;
	int		 fd = x->fd;

	if (fd == -1)
		return 1;
	while (budget < READ_BUDGET) {
		if (x->len < OUT_KEEP)
			n = read(fd, x->buf + x->len, OUT_KEEP - x->len);
		else
			n = read(fd, scratch, sizeof(scratch));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n == -1)
			log_warn("%s: reading plugin output", x->p->sc->id);
		if (n <= 0)
			break;
		if (x->len < OUT_KEEP)
			x->len += n;
		x->total += n;
		budget += n;
		if (x->total > OUT_HARD_MAX) {
			x->flooded = 1;
			if (x->child != NULL && !x->child->reaped)
				kill(-x->child->pid, SIGKILL);
			break;
		}
	}
	if (budget >= READ_BUDGET && !x->flooded)
		return 0;	/* more next time round */
	return 1;
}

/*
 * The plugin exited EXIT_GRACE_MS ago and something it left still holds
 * its output open: what came is the output; the check ends.
 */
static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct exec *x = arg;

	(void)fd;
	(void)what;
	(void)read_output(x);
	close_output(x);
	maybe_finish(x);
}

/*
 * The plugin's long output: the lines after the first, up to a '|' that
 * starts their performance data, kept (capped) in the result.
 */
static void
long_output(struct probe *p, const char *out)
{
	const char	*s, *bar;

	if ((s = strchr(out, '\n')) == NULL)
		return;
	s++;
	bar = strchr(s, '|');
	result_set_long(&p->r, s, bar != NULL ? (size_t)(bar - s) : strlen(s));
}

/*
 * With the output read to its end and the exit status in, set the result
 * and end the probe (x is freed by then).
 */
static void
maybe_finish(struct exec *x)
{
	struct probe	*p = x->p;
	struct timeval	 grace = { 0, EXIT_GRACE_MS * 1000 };
	char		 msg[RESULT_MSG_MAX];
	const char	*text;
	size_t		 i;
	int		 code;

	if (x->exited && !x->eof && x->grace == NULL) {
		if ((x->grace = evtimer_new(engine_base(p->eng), on_grace,
		    x)) != NULL && evtimer_add(x->grace, &grace) == 0)
			return;
		log_warnx("%s: no timer for the plugin's output", p->sc->id);
		(void)read_output(x);
		close_output(x);
	}
	if (!x->eof || !x->exited)
		return;
	for (i = 0; i < x->len; i++)
		if (x->buf[i] == '\0')
			x->buf[i] = '?';	/* binary output stays visible */
	x->buf[x->len] = '\0';
	msg[0] = '\0';
	p->r.nperf = perfdata_output(x->buf, msg, sizeof(msg), p->r.perf,
	    PERF_MAX);
	text = msg[0] != '\0' ? msg : "(no output)";
	p->r.total_us = probe_elapsed_us(p);
	if (x->flooded) {
		p->r.nperf = 0;
		result_set(&p->r, CHECK_UNKNOWN, "plugin printed more than "
		    "%d MiB, killed: %s", OUT_HARD_MAX / (1024 * 1024), text);
	} else if (WIFSIGNALED(x->status)) {
		p->r.nperf = 0;
		result_set(&p->r, CHECK_CRITICAL, "killed by signal %d%s%s",
		    WTERMSIG(x->status), msg[0] != '\0' ? ": " : "", msg);
	} else {
		code = WEXITSTATUS(x->status);
		if (code >= 0 && code <= 3)
			result_set(&p->r, (enum check_status)code, "%s", text);
		else
			result_set(&p->r, CHECK_UNKNOWN, "exit status %d: %s",
			    code, text);
	}
	long_output(p, x->buf);
	if (x->total > OUT_KEEP)
		log_debug("%s: plugin printed %zu bytes, kept %d",
		    p->sc->id, x->total, OUT_KEEP);
	probe_done(p);
}

/*
 * SIGCHLD: collect every child of ours that ended. Each is first looked
 * at without reaping (WNOWAIT), so that its process group is killed
 * while its pid still cannot be reused: stragglers it left holding the
 * pipe go too, and its output reaches EOF. Only our own pids are waited
 * for, never -1, so no other part of the process loses a child. Then the
 * results go out, freed slots are given to the queue, and the signal is
 * no longer watched once no child is left.
 */
static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct child	*c, **cp, *done = NULL;
	struct exec	*x;
	siginfo_t	 si;
	int		 status;
	pid_t		 r;

	(void)sig;
	(void)what;
	(void)arg;
	for (cp = &children; (c = *cp) != NULL;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, c->pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == 0 && si.si_pid == 0) {
			cp = &c->next;
			continue;	/* still running */
		}
		kill(-c->pid, SIGKILL);
		status = 0;
		while ((r = waitpid(c->pid, &status, WNOHANG)) == -1 &&
		    errno == EINTR)
			;
		if (r == 0) {
			cp = &c->next;
			continue;
		}
		if (r == -1) {
			log_warn("exec: waitpid %ld", (long)c->pid);
			status = W_EXITCODE(3, 0);
		}
		*cp = c->next;
		nchildren--;
		c->reaped = 1;
		c->status = status;
		c->next = done;
		done = c;
	}
	/* Finishing one probe may release another: c->x is read late. */
	while ((c = done) != NULL) {
		done = c->next;
		if ((x = c->x) != NULL) {
			x->child = NULL;
			x->status = c->status;
			x->exited = 1;
			maybe_finish(x);
		}
		free(c);
	}
	leftovers_pending = reap_leftovers();
	run_queue();
	if (children == NULL && !leftovers_pending && sigchld != NULL) {
		event_free(sigchld);
		sigchld = NULL;
	}
}

/*
 * Is pid, a child of ours, something a plugin left behind? Plugins lead
 * their own sessions, so anything of theirs is in another session than
 * ours; a child of ours that no plugin table knows and that is in
 * another session came to us as an orphan (we are a subreaper).
 */
static int
is_leftover(pid_t pid)
{
	struct child	*c;
	pid_t		 sid;

	for (c = children; c != NULL; c = c->next)
		if (c->pid == pid)
			return 0;
	return (sid = getsid(pid)) != -1 ? sid != getsid(0) : errno == ESRCH;
}

/*
 * Kill and reap what plugins left behind: our children (as listed in
 * /proc/self/task/TID/children) that are leftovers. A pid stays ours
 * until reaped, so signalling it is safe. Returns 1 while some killed
 * one is not reaped yet (its SIGCHLD is still to come).
 */
static int
reap_leftovers(void)
{
	DIR		*d;
	struct dirent	*de;
	FILE		*fp;
	char		 path[64];
	long		 pid;
	int		 pending = 0, status;

	if ((d = opendir("/proc/self/task")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.16s/children",
		    de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		while (fscanf(fp, "%ld", &pid) == 1) {
			if (pid <= 0 || !is_leftover((pid_t)pid))
				continue;
			(void)kill((pid_t)pid, SIGKILL);
			if (waitpid((pid_t)pid, &status, WNOHANG) == pid) {
				leftovers++;
				log_debug("exec: killed pid %ld, left by a "
				    "plugin", pid);
			} else
				pending = 1;
		}
		fclose(fp);
	}
	closedir(d);
	return pending;
}

/* Processes plugins left behind, killed and reaped since start. */
uint64_t
check_exec_leftovers(void)
{
	return leftovers;
}
