/*  rc_agent.h — what the files of the reference agent share (rc_agent.c:
    requests, writes, merges, the behaviour; rc_refresh.c: probe rounds and
    the hostname writer's plan). Not a public header. */
#ifndef MT_RC_AGENT_H_INCLUDED
#define MT_RC_AGENT_H_INCLUDED

#include "rcs_internal.h"

/*  ADDING: the add's probe and insert; IDLE; WRITING: one store write (or
    rc.set's probe) in flight, requests stashed; GONE: deleted, answers
    not_found until the registry lets it stop. */
typedef enum { ADDING, IDLE, WRITING, GONE } state_t;
typedef enum { W_NONE, W_ADD, W_SET, W_DEL, W_HOSTNAME } write_t;

typedef struct {
    mt__rcs_cfg_t *cfg;
    mt_rc_t *ref;                   /* current, without password; NULL while adding */
    state_t state;
    int priority;                   /* -1: unknown, never write */
    mt_timer_t *tick, *writer;
    uint64_t gen;                   /* bumped by writes: older probes are stale */
    uint64_t probe_corr, probe_gen;
    mt_msgq_t probe_waiters;        /* rc.get refresh requests, in order */
    bool planned;
    char planned_host[MT_ENDPOINT_MAX];
    int64_t planned_rev;
    uint64_t store_corr;
    write_t writing;
    mt_msg_t *inflight;             /* the request being written, or NULL */
    mt_msgq_t stash;
    mt__rc_secret_t secret;         /* the client keypair's secret we hold */
    uint64_t load_corr;             /* the read of our row for it */
    char id[MT_RC_ID_MAX + 1];
} agent_t;

/*  rc_agent.c */
void mt__rca_notify(agent_t *a, mt_node_change_t change, bool local);
void mt__rca_reply_ref(agent_t *a, mt_msg_t *req);

/*  rc_refresh.c */
void mt__rca_cancel_plan(agent_t *a, bool someone_else_wrote);
/*  Asks a prober (keys copied into the message, *keys wiped). */
uint64_t mt__rca_ask_probe(mt_actor_t *self, agent_t *a, const char *uuid, const char *host,
                           const mt_rc_t *list, mt__rc_keys_t *keys, uint32_t wait);
/*  A refresh round, unless one runs (its waiters share it); reads our row
    first when the client secret is missing. */
void mt__rca_start_probe(mt_actor_t *self, agent_t *a);
/*  Our row's answer (NULL: none in time). */
void mt__rca_secret_loaded(mt_actor_t *self, agent_t *a, const mt_store_rc_scanned_t *s);
void mt__rca_answer_waiters(agent_t *a, int err, const char *message);
/*  A refresh round's answer: node list, notice, the hostname check. */
void mt__rca_probed(mt_actor_t *self, agent_t *a, mt_msg_t *msg);

#endif
