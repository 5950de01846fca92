/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A load generator for SSE chat servers (issue 14): many streams at once
 * over raw non-blocking sockets and one epoll, so that the client is never
 * what limits the server. It measures the server from outside, the same
 * way for any server: CPU time from /proc/PID/stat, RSS from
 * /proc/PID/status.
 *
 *   bench-sse-load burst [options] PORT N
 *     opens N connections at once, each POSTs and reads its whole stream
 *     (Connection: close, so the end is the server closing); prints how
 *     many finished and the time to each response's first byte.
 *   bench-sse-load hold [options] PORT N
 *     opens N streams (at most --pending connecting at a time), waits
 *     until every one has its first byte, then --settle seconds, then
 *     measures over --window seconds: server CPU per token received, and
 *     server RSS per stream over its RSS before the load.
 *
 * Options: --pid PID (the server, for hold), --path P (/api/chat/stream),
 * --body JSON, --timeout S, --settle S, --window S, --pending N.
 * One line of key=value pairs on stdout. A token is a "token" (quoted)
 * seen in the stream: the type of a token event in both shapes. */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

enum { CONNECTING, READING, DONE, FAILED };

typedef struct
{
  int    fd;
  int    state;
  double start;
  double first;        /* time of the first response byte, or 0 */
  int    status_ok;
  int    carry_len;
  char   carry[8];
} Conn;

static const char needle[] = "\"token\"";
#define NEEDLE_LEN ((int) sizeof needle - 1)

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
proc_cpu_ticks (int pid)
{
  char path[64], buf[4096];
  FILE *f;
  size_t n;
  char *p;
  unsigned long utime = 0, stime = 0;

  snprintf (path, sizeof path, "/proc/%d/stat", pid);
  f = fopen (path, "r");
  if (f == NULL)
    return -1;
  n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  /* Fields after the command's closing parenthesis: state is field 3,
   * utime 14, stime 15. */
  p = strrchr (buf, ')');
  if (p == NULL || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
    return -1;
  return (long) (utime + stime);
}

static long
proc_rss_kib (int pid)
{
  char path[64], line[256];
  FILE *f;
  long kib = -1;

  snprintf (path, sizeof path, "/proc/%d/status", pid);
  f = fopen (path, "r");
  if (f == NULL)
    return -1;
  while (fgets (line, sizeof line, f) != NULL)
    if (sscanf (line, "VmRSS: %ld kB", &kib) == 1)
      break;
  fclose (f);
  return kib;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static int epfd;
static Conn *conns;
static int n_conns;
static long tokens;
static int n_first, n_done, n_failed;
static char request[8192];
static int request_len;

static void
conn_fail (Conn *c)
{
  epoll_ctl (epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  c->fd = -1;
  c->state = FAILED;
  n_failed++;
}

static int
conn_open (Conn *c, int port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (port) };
  struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  c->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  c->start = now ();
  if (c->fd < 0)
    {
      perror ("socket");
      c->state = FAILED;
      n_failed++;
      return -1;
    }
  c->state = CONNECTING;
  ev.data.ptr = c;
  epoll_ctl (epfd, EPOLL_CTL_ADD, c->fd, &ev);
  if (connect (c->fd, (struct sockaddr *) &addr, sizeof addr) < 0 && errno != EINPROGRESS)
    {
      conn_fail (c);
      return -1;
    }
  return 0;
}

static void
count_tokens (Conn *c, const char *data, ssize_t len)
{
  char joined[16384 + 8];
  const char *p, *end;

  memcpy (joined, c->carry, c->carry_len);
  memcpy (joined + c->carry_len, data, len);
  len += c->carry_len;
  end = joined + len;
  for (p = joined; (p = memmem (p, end - p, needle, NEEDLE_LEN)) != NULL; p += NEEDLE_LEN)
    tokens++;
  c->carry_len = len < NEEDLE_LEN - 1 ? (int) len : NEEDLE_LEN - 1;
  memcpy (c->carry, end - c->carry_len, c->carry_len);
}

static void
conn_event (Conn *c, unsigned events)
{
  static char buf[16384];

  if (c->state == CONNECTING)
    {
      int err = 0;
      socklen_t len = sizeof err;
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        return;
      getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || write (c->fd, request, request_len) != request_len)
        {
          conn_fail (c);
          return;
        }
      c->state = READING;
      epoll_ctl (epfd, EPOLL_CTL_MOD, c->fd, &ev);
      return;
    }
  if (c->state != READING)
    return;

  for (;;)
    {
      ssize_t n = read (c->fd, buf, sizeof buf);

      if (n > 0)
        {
          if (c->first == 0)
            {
              c->first = now ();
              c->status_ok = n >= 12 && memcmp (buf, "HTTP/1.1 200", 12) == 0;
              n_first++;
            }
          count_tokens (c, buf, n);
          continue;
        }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      epoll_ctl (epfd, EPOLL_CTL_DEL, c->fd, NULL);
      close (c->fd);
      c->fd = -1;
      if (n == 0 && c->status_ok)
        {
          c->state = DONE;
          n_done++;
        }
      else
        {
          c->state = FAILED;
          n_failed++;
        }
      return;
    }
}

static void
pump (int timeout_ms)
{
  struct epoll_event events[1024];
  int n = epoll_wait (epfd, events, 1024, timeout_ms);

  for (int i = 0; i < n; i++)
    conn_event (events[i].data.ptr, events[i].events);
}

static void
usage (void)
{
  fprintf (stderr, "usage: bench-sse-load burst|hold [--pid PID] [--path P] [--body JSON] [--timeout S]\n"
                   "       [--settle S] [--window S] [--pending N] PORT N\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  const char *mode, *path = "/api/chat/stream", *body = "{\"message\": \"Hello\"}";
  double timeout = 60, settle = 2, window = 10;
  int pid = 0, port, pending_max = 500, opened = 0;
  struct rlimit limit;
  int argi = 2;

  if (argc < 4)
    usage ();
  mode = argv[1];
  for (; argi < argc - 2; argi += 2)
    {
      const char *opt = argv[argi], *val = argv[argi + 1];

      if (strcmp (opt, "--pid") == 0) pid = atoi (val);
      else if (strcmp (opt, "--path") == 0) path = val;
      else if (strcmp (opt, "--body") == 0) body = val;
      else if (strcmp (opt, "--timeout") == 0) timeout = atof (val);
      else if (strcmp (opt, "--settle") == 0) settle = atof (val);
      else if (strcmp (opt, "--window") == 0) window = atof (val);
      else if (strcmp (opt, "--pending") == 0) pending_max = atoi (val);
      else usage ();
    }
  if (argi != argc - 2)
    usage ();
  port = atoi (argv[argi]);
  n_conns = atoi (argv[argi + 1]);

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
  request_len = snprintf (request, sizeof request,
                          "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                          "Accept: text/event-stream\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          path, port, strlen (body), body);
  conns = calloc (n_conns, sizeof (Conn));
  epfd = epoll_create1 (EPOLL_CLOEXEC);

  if (strcmp (mode, "burst") == 0)
    {
      double t0 = now (), *firsts;
      int n_firsts = 0;

      for (int i = 0; i < n_conns; i++)
        conn_open (&conns[i], port);
      while (n_done + n_failed < n_conns && now () - t0 < timeout)
        pump (100);
      firsts = calloc (n_conns, sizeof (double));
      for (int i = 0; i < n_conns; i++)
        if (conns[i].first > 0 && conns[i].status_ok)
          firsts[n_firsts++] = (conns[i].first - conns[i].start) * 1000;
      qsort (firsts, n_firsts, sizeof (double), cmp_double);
      printf ("n=%d done=%d failed=%d first_byte=%d first_p50_ms=%.1f first_p99_ms=%.1f first_max_ms=%.1f "
              "all_s=%.2f tokens=%ld\n",
              n_conns, n_done, n_failed, n_firsts,
              n_firsts ? firsts[n_firsts / 2] : -1,
              n_firsts ? firsts[(int) (n_firsts * 0.99) < n_firsts ? (int) (n_firsts * 0.99) : n_firsts - 1] : -1,
              n_firsts ? firsts[n_firsts - 1] : -1,
              now () - t0, tokens);
      return 0;
    }

  if (strcmp (mode, "hold") == 0)
    {
      long rss_base, rss, cpu0, cpu1, tokens0, tokens1;
      double t0 = now (), w0, w1, clk = sysconf (_SC_CLK_TCK);
      int still_open = 0;

      if (pid <= 0)
        usage ();
      rss_base = proc_rss_kib (pid);
      while (n_first + n_failed < n_conns && now () - t0 < timeout)
        {
          while (opened < n_conns && opened - n_first - n_failed < pending_max)
            conn_open (&conns[opened++], port);
          pump (20);
        }
      fprintf (stderr, "hold: %d streams with a first byte, %d failed, in %.1f s\n",
               n_first, n_failed, now () - t0);
      for (double end = now () + settle; now () < end;)
        pump (50);
      cpu0 = proc_cpu_ticks (pid);
      tokens0 = tokens;
      w0 = now ();
      for (double end = w0 + window; now () < end;)
        pump (50);
      cpu1 = proc_cpu_ticks (pid);
      tokens1 = tokens;
      w1 = now ();
      rss = proc_rss_kib (pid);
      for (int i = 0; i < n_conns; i++)
        still_open += conns[i].state == READING;
      printf ("n=%d held=%d failed=%d setup_s=%.1f rss_base_kib=%ld rss_kib=%ld rss_per_stream_kib=%.2f "
              "tokens=%ld tokens_per_s=%.0f cpu_s=%.3f cpu_us_per_token=%.2f\n",
              n_conns, still_open, n_failed, w0 - t0 - settle, rss_base, rss,
              (double) (rss - rss_base) / (still_open ? still_open : 1),
              tokens1 - tokens0, (tokens1 - tokens0) / (w1 - w0),
              (cpu1 - cpu0) / clk,
              tokens1 > tokens0 ? (cpu1 - cpu0) / clk * 1e6 / (tokens1 - tokens0) : -1);
      return 0;
    }
  usage ();
  return 2;
}
