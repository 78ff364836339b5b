/*  pinned.c — actors on a thread of their own, for blocking work.

    A MySQL connection or a zmq socket must stay on one thread and may block
    it; such an actor gets a dedicated thread that waits on an eventfd (the
    mailbox's doorbell, rung on the empty→non-empty transition only) and on
    the actor's own descriptors at once. Core knows nothing of zmq: a
    transport actor passes a `wait` hook that polls its sockets together
    with the doorbell. */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct mt__pinned {
    pthread_t thread;
    int efd;
    mt_wait_fn *wait;
    mt_fd_fn *on_fd;
    int nwatch;
    struct pollfd watch[MT_MAX_WATCH];
    char name[16];
    uint64_t hold_until;            /* mt_actor_hold_mail, while hold_end is set */
    mt_msg_t *hold_end;             /* sent to the actor itself when the hold ends */
};

void mt__pinned_wake(mt_actor_t *a)
{
    eventfd_write(a->pinned->efd, 1);
}

/*  Default wait: poll the doorbell and the watched fds. */
static int wait_poll(mt_actor_t *a, int timeout_ms)
{
    mt__pinned_t *p = a->pinned;
    struct pollfd fds[MT_MAX_WATCH + 1];
    fds[0] = (struct pollfd) { .fd = p->efd, .events = POLLIN };
    int n = p->nwatch;
    memcpy(fds + 1, p->watch, (size_t) n * sizeof *fds);
    int rc = poll(fds, (nfds_t) n + 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? MT_OK : MT_ESYSTEM;
    for (int i = 1; i <= n && p->on_fd; i++) {
        if (fds[i].revents) {
            mt__tls.current = a;
            p->on_fd(a, a->state, fds[i].fd, fds[i].revents);
            mt__tls.current = NULL;
        }
    }
    return MT_OK;
}

static void *pinned_main(void *arg)
{
    mt_actor_t *a = arg;
    mt__pinned_t *p = a->pinned;
    mt_runtime_t *rt = a->rt;
    mt__tls.rt = rt;               /* counts go to rt->foreign */
    mt__tls.helps = true;
    pthread_setname_np(pthread_self(), p->name);
    for (;;) {
        /*  This thread is the mailbox's only consumer: the token is its own
            whether a sender took it (and rang the doorbell) or it is free. */
        mt__mailbox_acquire(&a->mbox);
        if (atomic_load_explicit(&rt->stopping, memory_order_acquire)) {
            a->stop_reason = MT_ECLOSED;
            mt__actor_terminate(a);
            break;
        }
        bool more = mt__actor_run(a, rt->batch, NULL);     /* helps between messages */
        if (!mt_actor_alive(a))
            break;
        if (p->hold_end) {
            uint64_t now = mt_now_ms();
            if (now >= p->hold_until) {         /* over: its message ends it */
                mt_msg_t *end = p->hold_end;
                p->hold_end = NULL;
                mt_send(a, end);
                continue;
            }
            if (!more) {
                /*  Deaf until then: the doorbell stays rung for what comes. */
                uint64_t ms = p->hold_until - now;
                poll(NULL, 0, (int) (ms > 1000 ? 1000 : ms));
                continue;
            }
        }
        if (more)
            continue;
        int rc;
        if (p->wait) {
            mt__tls.current = a;
            rc = p->wait(a, a->state, p->efd, -1);
            mt__tls.current = NULL;
        }
        else
            rc = wait_poll(a, -1);
        mt__sched_help();           /* what its sockets' traffic made runnable */
        eventfd_t v;
        eventfd_read(p->efd, &v);    /* non-blocking: resets the doorbell */
        if (rc != MT_OK) {
            a->stop_reason = rc;
            mt__actor_terminate(a);
            break;
        }
    }
    mt__sched_help();               /* what its end made runnable */
    mt__tls = (mt__tls_t) { 0 };
    mt_actor_unref(&a);             /* the thread's reference */
    /*  Last touch of rt: the runtime may be freed once it sees zero. */
    pthread_mutex_lock(&rt->pinned_lock);
    if (--rt->pinned_running == 0)
        pthread_cond_broadcast(&rt->pinned_cond);
    pthread_mutex_unlock(&rt->pinned_lock);
    return NULL;
}

int mt__pinned_start(mt_actor_t *a, const mt_spawn_opts_t *opts)
{
    mt__pinned_t *p = calloc(1, sizeof *p);
    if (!p)
        return MT_ENOMEM;
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        free(p);
        return MT_ESYSTEM;
    }
    p->wait = opts->wait;
    p->on_fd = opts->on_fd;
    snprintf(p->name, sizeof p->name, "%s", opts->thread_name ? opts->thread_name : "mt-pinned");
    a->pinned = p;
    /*  The thread holds a reference of its own, so the actor outlives its
        terminate on that thread. */
    mt_actor_ref(a);
    pthread_mutex_lock(&a->rt->pinned_lock);
    a->rt->pinned_running++;
    pthread_mutex_unlock(&a->rt->pinned_lock);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&p->thread, &attr, pinned_main, a);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&a->rt->pinned_lock);
        a->rt->pinned_running--;
        pthread_mutex_unlock(&a->rt->pinned_lock);
        atomic_fetch_sub(&a->refs, 1);
        close(p->efd);
        free(p);
        a->pinned = NULL;
        errno = rc;
        return MT_ESYSTEM;
    }
    return MT_OK;
}

/*  Shutdown: every pinned thread terminates its actor when it sees the
    runtime stopping; wait until the last one is gone. */
void mt__pinned_stop_all(mt_runtime_t *rt)
{
    for (int s = 0; s < MT__SHARDS; s++) {
        pthread_mutex_lock(&rt->shards[s].lock);
        mt_actor_t *head = &rt->shards[s].head;
        for (mt_actor_t *a = head->all_next; a != head; a = a->all_next)
            if (a->pinned)
                eventfd_write(a->pinned->efd, 1);
        pthread_mutex_unlock(&rt->shards[s].lock);
    }
    pthread_mutex_lock(&rt->pinned_lock);
    while (rt->pinned_running > 0)
        pthread_cond_wait(&rt->pinned_cond, &rt->pinned_lock);
    pthread_mutex_unlock(&rt->pinned_lock);
}

void mt__pinned_free(mt_actor_t *a)
{
    mt__pinned_t *p = a->pinned;
    if (!p)
        return;
    close(p->efd);
    mt_msg_free(p->hold_end);
    free(p);
    a->pinned = NULL;
}

int mt_actor_watch_fd(mt_actor_t *self, int fd, short events)
{
    mt__pinned_t *p = self->pinned;
    if (!p || mt__tls.current != self || fd < 0)
        return MT_EINVAL;
    for (int i = 0; i < p->nwatch; i++) {
        if (p->watch[i].fd == fd) {
            p->watch[i].events = events;
            return MT_OK;
        }
    }
    if (p->nwatch == MT_MAX_WATCH)
        return MT_ENOMEM;
    p->watch[p->nwatch++] = (struct pollfd) { .fd = fd, .events = events };
    return MT_OK;
}

int mt_actor_hold_mail(mt_actor_t *self, uint64_t until_ms, mt_msg_t *end)
{
    mt__pinned_t *p = self->pinned;
    if (!p || mt__tls.current != self) {
        mt_msg_free(end);
        return MT_EINVAL;
    }
    mt_msg_free(p->hold_end);
    p->hold_end = end;
    p->hold_until = until_ms;
    return MT_OK;
}

int mt_actor_unwatch_fd(mt_actor_t *self, int fd)
{
    mt__pinned_t *p = self->pinned;
    if (!p || mt__tls.current != self)
        return MT_EINVAL;
    for (int i = 0; i < p->nwatch; i++) {
        if (p->watch[i].fd == fd) {
            p->watch[i] = p->watch[--p->nwatch];
            return MT_OK;
        }
    }
    return MT_ENOENT;
}
