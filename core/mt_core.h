/*  mt_core.h — the metactor actor runtime, public API.

    An actor is a behaviour (a handler function), private state and a mailbox.
    It handles one message at a time, so its state needs no lock. Many actors
    share a small pool of worker threads (M:N); blocking work goes to pinned
    actors, each on its own thread.

    Life cycles
    * Runtime: mt_runtime_new → … → mt_runtime_destroy (stops every actor,
      runs their destructors, frees queued messages, joins every thread).
    * Actor reference (mt_actor_t *): counted. mt_spawn returns one reference
      that the caller owns; mt_actor_ref adds one, mt_actor_unref drops one.
      A reference stays valid after the actor stopped: sends to a stopped
      actor are dropped and counted. Drop your references before destroying
      the runtime.
    * Message (mt_msg_t *): created with mt_msg_new, owned by whoever holds
      it. mt_send always takes ownership. The runtime frees a delivered
      message after the behaviour returns unless the behaviour called
      mt_msg_keep (then the behaviour owns it: mt_msg_free or send it on).

    Threads: every function may be called from any thread unless it says
    "actor only" (callable only from inside that actor's behaviour).
*/
#ifndef MT_CORE_H_INCLUDED
#define MT_CORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mt_export.h"          /* MT_API: what libmetactor-core.so exports */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

/*  One error space for the whole project. 0 is success; public functions
    that can fail return one of these (never a bare -1). Higher layers wrap
    library codes (MySQL, zmq) into their own ranges. */
typedef enum {
    MT_OK = 0,
    MT_ENOMEM,      /* out of memory */
    MT_EINVAL,      /* invalid argument */
    MT_ENOENT,      /* no such entity (name, timer, ...) */
    MT_EEXIST,      /* already exists */
    MT_ETIMEDOUT,   /* a wait or an ask ran out of time */
    MT_ECLOSED,     /* the actor or runtime has stopped */
    MT_ESYSTEM,     /* an operating system call failed; errno tells */
    MT_ECOUNT_      /* first code free for other layers */
} mt_err_t;

/*  The text of any code: core's, or one of a range registered with
    mt_strerror_range; "unknown error" for the rest. Never NULL. */
MT_API const char *mt_strerror(int err);
/*  A higher layer's codes [first, first + count), first >= MT_ECOUNT_:
    texts[i] is the text of code first + i (every one non-empty, the array
    kept for the life of the program). Registering the same table again
    does nothing. MT_EEXIST if the range overlaps another, MT_EINVAL,
    MT_ENOMEM past 8 ranges. */
MT_API int mt_strerror_range(int first, int count, const char *const *texts);

/* ---- messages ---------------------------------------------------------- */

typedef struct mt_actor mt_actor_t;
typedef struct mt_runtime mt_runtime_t;
typedef struct mt_timer mt_timer_t;
typedef struct mt_msg mt_msg_t;

/*  Message types below MT_MSG_USER belong to the runtime. */
enum {
    MT_MSG_TIMEOUT = 1,   /* an ask ran out of time; corr says which */
    MT_MSG_DOWN = 2,      /* a monitored actor stopped; payload mt_down_t */
    MT_MSG_USER = 256
};

/*  A message is a small header followed by `size` payload bytes
    (mt_msg_data). Fields marked (rt) are the runtime's; the others may be
    read and set by the application. */
struct mt_msg {
    mt_msg_t *_Atomic next;     /* (rt) mailbox and mt_msgq_t link */
    mt_actor_t *from;           /* reply-to: a reference, released with the message */
    uint64_t corr;              /* correlation id of an ask and its reply, else 0 */
    mt_timer_t *timer;          /* (rt) the timer that fired this message */
    void (*drop)(mt_msg_t *);   /* frees what the payload owns; called by mt_msg_free */
    uint16_t type;              /* application type, >= MT_MSG_USER */
    uint16_t flags;             /* (rt) */
    uint32_t size;              /* payload bytes */
};

/*  Allocates a message with `size` zeroed payload bytes. Aborts on OOM:
    a runtime that cannot allocate a message cannot do anything useful. */
MT_API mt_msg_t *mt_msg_new(uint16_t type, size_t size);
MT_API void mt_msg_free(mt_msg_t *msg);
/*  Actor only: the behaviour keeps the message it is handling. */
MT_API void mt_msg_keep(mt_msg_t *msg);

static inline void *mt_msg_data(mt_msg_t *msg) { return (void *) (msg + 1); }

/*  A message carrying one int64 payload, the common case. */
MT_API mt_msg_t *mt_msg_new_i64(uint16_t type, int64_t value);
static inline int64_t mt_msg_i64(mt_msg_t *msg) { return *(int64_t *) mt_msg_data(msg); }

/*  Payload of MT_MSG_DOWN. `actor` is a reference owned by the message. */
typedef struct {
    mt_actor_t *actor;
    int reason;
} mt_down_t;

/* ---- message queues ---------------------------------------------------- */

/*  A FIFO of messages kept by one actor: a stash of what it cannot handle
    yet, requests waiting for one answer, work for whoever is free. Linked
    through msg->next (a message is in one queue or mailbox at a time), so
    push and pop never allocate. Not thread-safe: its owner alone uses it.
    A zeroed mt_msgq_t is an empty queue. */
typedef struct {
    mt_msg_t *head, *tail;      /* oldest, newest; both NULL when empty */
} mt_msgq_t;

MT_API void mt_msgq_init(mt_msgq_t *q);
/*  Appends msg; the queue owns it until popped. */
MT_API void mt_msgq_push(mt_msgq_t *q, mt_msg_t *msg);
/*  Removes the oldest message and gives it to the caller; NULL if empty. */
MT_API mt_msg_t *mt_msgq_pop(mt_msgq_t *q);
/*  The oldest message, still the queue's; NULL if empty. */
MT_API mt_msg_t *mt_msgq_peek(const mt_msgq_t *q);
MT_API bool mt_msgq_empty(const mt_msgq_t *q);
/*  Walks the queue: O(n). Keep a counter of your own on a hot path. */
MT_API size_t mt_msgq_count(const mt_msgq_t *q);
/*  mt_msg_free on every message, oldest first; the queue is empty after. */
MT_API void mt_msgq_free_all(mt_msgq_t *q);

/* ---- runtime ----------------------------------------------------------- */

typedef struct {
    int workers;     /* worker threads; 0 = one per online CPU */
    int batch;       /* messages an actor handles per turn; 0 = 64 */
} mt_runtime_opts_t;

/*  NULL opts = defaults. Returns NULL (and errno) if threads cannot start. */
MT_API mt_runtime_t *mt_runtime_new(const mt_runtime_opts_t *opts);
MT_API void mt_runtime_destroy(mt_runtime_t **rt_p);

#define MT_MAX_WORKERS 64

typedef struct {
    uint64_t actors_alive;       /* spawned and not yet stopped */
    uint64_t actors_spawned;
    uint64_t msgs_sent;          /* given to mt_send (= delivered + dropped + queued) */
    uint64_t msgs_delivered;     /* handed to a behaviour */
    uint64_t msgs_dropped;       /* sent to a stopped actor, stale timer, late reply */
    uint64_t timers_armed;       /* live timers */
    uint64_t worker_runs[MT_MAX_WORKERS];  /* actor turns per worker */
    uint64_t steals;             /* actors taken from another worker */
    uint64_t parks;              /* times a worker went to sleep */
    int workers;
    uint64_t pool_bytes;         /* mapped by the message and actor pool now */
} mt_stats_t;

MT_API void mt_runtime_stats(mt_runtime_t *rt, mt_stats_t *out);

/* ---- actors ------------------------------------------------------------ */

typedef void (mt_behaviour_fn) (mt_actor_t *self, void *state, mt_msg_t *msg);

/*  A pinned actor's wait hook: block until the mailbox fd is readable or the
    actor's own I/O is ready (then handle that I/O), at most timeout_ms
    (-1 = forever). Return 0, or an mt_err_t to stop the actor. Lets the
    transport layer wait on zmq sockets without core knowing zmq. */
typedef int (mt_wait_fn) (mt_actor_t *self, void *state, int mailbox_fd, int timeout_ms);
/*  Called on a pinned actor's thread when a watched fd is ready. */
typedef void (mt_fd_fn) (mt_actor_t *self, void *state, int fd, short revents);

typedef struct {
    mt_behaviour_fn *behaviour;    /* required */
    void *state;                   /* the actor's state, or NULL with state_size */
    size_t state_size;             /* > 0: the runtime allocates zeroed state inline */
    void (*init)(void *state, void *arg);  /* fills inline state before the actor can run */
    void *init_arg;
    void (*destroy)(void *state);  /* runs on stop, on the actor's thread */
    const char *name;              /* optional: registered, unregistered on stop */
    bool pinned;                   /* run on a dedicated thread (blocking work) */
    mt_wait_fn *wait;              /* pinned only: custom wait (see above) */
    mt_fd_fn *on_fd;               /* pinned only: called for watched fds */
    const char *thread_name;       /* pinned only: as top -H shows it (15 chars kept) */
} mt_spawn_opts_t;

/*  Returns a reference owned by the caller, or NULL (name taken, thread
    could not start, runtime shutting down). On failure the destructor runs
    only if `init` did (the state was the runtime's); otherwise the caller
    keeps ownership of `state`. */
MT_API mt_actor_t *mt_spawn_opts(mt_runtime_t *rt, const mt_spawn_opts_t *opts);
MT_API mt_actor_t *mt_spawn(mt_runtime_t *rt, mt_behaviour_fn *fn, void *state,
                            void (*destroy)(void *state));

MT_API mt_actor_t *mt_actor_ref(mt_actor_t *a);
MT_API void mt_actor_unref(mt_actor_t **a_p);

/*  Sends msg to `to` and takes ownership of it. Never blocks. Messages from
    one sender to one receiver arrive in the order sent. Returns MT_ECLOSED
    when `to` had stopped (the message was dropped and counted); MT_OK means
    accepted — an actor that stops before handling it drops it (counted). */
MT_API int mt_send(mt_actor_t *to, mt_msg_t *msg);
static inline int mt_send_i64(mt_actor_t *to, uint16_t type, int64_t value)
{ return mt_send(to, mt_msg_new_i64(type, value)); }

/*  Stops `a` with `reason` (0 = normal). From inside a's behaviour the actor
    stops when the handler returns; from elsewhere a stop request is queued
    behind the messages already sent. Its destructor runs, its name is
    unregistered, monitors get MT_MSG_DOWN, remaining messages are dropped. */
MT_API void mt_stop(mt_actor_t *a, int reason);

MT_API bool mt_actor_alive(mt_actor_t *a);
MT_API uint64_t mt_actor_id(mt_actor_t *a);
MT_API mt_runtime_t *mt_actor_runtime(mt_actor_t *a);
/*  The actor whose behaviour runs on this thread, or NULL. */
MT_API mt_actor_t *mt_self(void);

/*  Pinned actors only, actor only: watch fd for `events` (POLLIN, ...);
    on_fd is called when ready. At most MT_MAX_WATCH fds. */
#define MT_MAX_WATCH 8
MT_API int mt_actor_watch_fd(mt_actor_t *self, int fd, short events);
MT_API int mt_actor_unwatch_fd(mt_actor_t *self, int fd);
/*  Pinned actors only, actor only: until until_ms (mt_now_ms) messages do
    not wake the thread; then `end` (taken, even on error) is sent to the
    actor itself, behind whatever came meanwhile, which is handled in order.
    For an actor that waits on purpose (a store writer gathering heartbeats):
    each message would otherwise cost a wake-up for nothing, and `end` is its
    timer. A new hold replaces the one under way (its `end` is dropped);
    end = NULL ends a hold without a message. Runtime shutdown waits for a
    hold too (at most a second). */
MT_API int mt_actor_hold_mail(mt_actor_t *self, uint64_t until_ms, mt_msg_t *end);

/* ---- monitors ---------------------------------------------------------- */

/*  `watcher` receives MT_MSG_DOWN when `target` stops (at once if it has
    stopped already). Each call adds one monitor. */
MT_API int mt_monitor(mt_actor_t *watcher, mt_actor_t *target);
/*  Removes one monitor of watcher on target; MT_ENOENT if none. */
MT_API int mt_demonitor(mt_actor_t *watcher, mt_actor_t *target);

/* ---- names ------------------------------------------------------------- */

MT_API int mt_register(mt_runtime_t *rt, const char *name, mt_actor_t *a);  /* MT_EEXIST */
/*  Returns a new reference, or NULL. */
MT_API mt_actor_t *mt_lookup(mt_runtime_t *rt, const char *name);
MT_API int mt_unregister(mt_runtime_t *rt, const char *name);               /* MT_ENOENT */

/* ---- timers ------------------------------------------------------------ */

/*  A re-armable timer owned by its creator (typically an actor's state).
    Millisecond resolution; arm, re-arm and cancel cost O(log n). */
MT_API mt_timer_t *mt_timer_new(mt_runtime_t *rt);
/*  Cancels and frees. */
MT_API void mt_timer_destroy(mt_timer_t **t_p);
/*  Delivers msg to `to` after delay_ms. Re-arming cancels the previous
    message. Takes ownership of msg. */
MT_API void mt_timer_start(mt_timer_t *t, mt_actor_t *to, mt_msg_t *msg, uint64_t delay_ms);
/*  After cancel returns the message is never handled, even if it had already
    fired and sits in the mailbox. Returns true if the timer was armed. */
MT_API bool mt_timer_cancel(mt_timer_t *t);
MT_API bool mt_timer_armed(mt_timer_t *t);

/*  One-shot, fire-and-forget form of mt_timer_start. */
MT_API void mt_send_after(mt_actor_t *to, mt_msg_t *msg, uint64_t delay_ms);

/*  Monotonic clock in milliseconds. */
MT_API uint64_t mt_now_ms(void);

/* ---- ask --------------------------------------------------------------- */

/*  Actor only. Sends req to `to` with a fresh correlation id and self as
    reply-to. Exactly one of these later reaches self as an ordinary message:
    the reply (any type, msg->corr == the returned id), or MT_MSG_TIMEOUT
    with the same corr after timeout_ms. A reply after the timeout is dropped.
    Returns the correlation id. */
MT_API uint64_t mt_ask(mt_actor_t *self, mt_actor_t *to, mt_msg_t *req, uint32_t timeout_ms);

/*  Answers the request `req` (sets corr, sends to req->from). Takes
    ownership of reply; does nothing but free it if req has no reply-to. */
MT_API int mt_reply(mt_msg_t *req, mt_msg_t *reply);

/*  Blocking ask for non-actor threads (tests, main). On MT_OK *reply is
    owned by the caller. MT_ETIMEDOUT when no reply came in time. */
MT_API int mt_ask_wait(mt_runtime_t *rt, mt_actor_t *to, mt_msg_t *req,
                       uint32_t timeout_ms, mt_msg_t **reply);

/* ---- probe ------------------------------------------------------------- */

/*  An actor whose messages a non-actor thread receives: for tests, and for
    main threads that wait for an actor's answer. */
typedef struct mt_probe mt_probe_t;

MT_API mt_probe_t *mt_probe_new(mt_runtime_t *rt);
MT_API void mt_probe_destroy(mt_probe_t **p_p);
/*  Borrowed reference: mt_actor_ref it to keep it. */
MT_API mt_actor_t *mt_probe_actor(mt_probe_t *p);
/*  Next message, or NULL after timeout_ms (-1 = forever). Caller frees. */
MT_API mt_msg_t *mt_probe_recv(mt_probe_t *p, int timeout_ms);
/*  Receives until a message of `type` arrives, freeing others; NULL on timeout. */
MT_API mt_msg_t *mt_probe_expect(mt_probe_t *p, uint16_t type, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
