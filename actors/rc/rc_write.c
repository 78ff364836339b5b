/*  rc_write.c — a reference agent's writes up to the store (see rc_agent.c
    for the messages and states): starting one, and what an rc.add's or
    rc.set's probe answer leads to — the store's insert or update, or, with
    just_validate, the would-be view to the registry (MT__RC_VALIDATED),
    which answers; nothing is stored then. */
#include "rc_agent.h"

#include <stdio.h>
#include <string.h>

void mt__rca_start_write(mt_actor_t *self, agent_t *a, write_t kind, mt_msg_t *req,
                        mt_msg_t *store_msg)
{
    a->gen++;
    a->writing = kind;
    a->inflight = req;
    a->state = kind == W_ADD ? ADDING : WRITING;
    a->store_corr = mt_ask(self, mt_store_writer(a->cfg->store, a->id), store_msg,
                           (uint32_t) a->cfg->store_timeout_ms);
}

/*  rc.add: the probe answered; insert what it learned. */
void mt__rca_add_probed(mt_actor_t *self, agent_t *a, mt_msg_t *msg)
{
    const mt__rc_probed_t *p = mt_msg_data(msg);
    mt_msg_t *req = a->inflight;
    a->probe_corr = 0;
    if (p->err != MT_OK) {
        mt_rc_reply_error(req, p->err == MT_ECONFLICT ? MT_ECONFLICT : MT_EUNAVAIL,
                          "cannot reach the remote cluster: %s", p->message);
        mt_msg_free(req);
        a->inflight = NULL;
        mt__rca_gone(a);
        return;
    }
    mt_rc_req_t *r = mt_rc_req(req);
    const char *nodes[MT_RC_NODES_MAX];
    uint32_t n = p->nalive < MT_RC_NODES_MAX ? p->nalive : MT_RC_NODES_MAX;
    for (uint32_t i = 0; i < n; i++)
        nodes[i] = p->alive[i];
    mt_rc_t t = {
        .id = a->id, .name = r->name, .hostname = r->hostname, .uuid = p->uuid,
        .username = r->username ? r->username : "", .password = r->password ? r->password : "",
        .demand_encryption = r->demand_encryption, .node_list = nodes, .nnodes = n,
        .refreshed_at = mt_wall_ms(), .server_key = r->server_key ? r->server_key : "",
        .client_public = r->client_public ? r->client_public : "",
        .client_secret = r->client_secret && r->client_secret[0] ? r->client_secret : NULL,
        .restrict_hostname_replace = r->restrict_hostname_replace,
        .connectivity = p->first_answered ? MT_RC_CONN_OK : MT_RC_CONN_DEGRADED,
    };
    a->inflight = NULL;             /* start_write takes it again */
    if (r->just_validate) {
        /*  Nothing is stored, so there is no id; the registry checks the
            remote is not referenced yet, and answers. */
        t.id = "";
        t.password = NULL;
        t.client_secret = NULL;
        mt_send(a->cfg->registry, mt__rc_validated_new(req, mt_rc_build(&t)));
        mt__rca_gone(a);
        return;
    }
    mt__rca_start_write(self, a, W_ADD, req, mt_store_msg_rc_add(mt_rc_build(&t)));
}

void mt__rca_set_request(mt_actor_t *self, agent_t *a, mt_msg_t *req)
{
    mt_rc_req_t *r = mt_rc_req(req);
    mt_rc_t t = *a->ref;
    t.password = r->password;
    if (r->new_name[0])
        t.name = r->new_name;
    if (r->hostname)
        t.hostname = r->hostname;
    if (r->username)
        t.username = r->username;
    if (r->has_demand_encryption)
        t.demand_encryption = r->demand_encryption;
    if (r->server_key)
        t.server_key = r->server_key;
    t.client_secret = NULL;
    if (r->client_public) {
        t.client_public = r->client_public;
        t.client_secret = r->client_secret;
    }
    if (r->has_restrict_hostname_replace)
        t.restrict_hostname_replace = r->restrict_hostname_replace;
    if (r->just_validate) {
        /*  The view as the write would make it (same revision: nothing is
            stored); a new name's clash is the registry's to see. */
        t.password = NULL;
        t.client_secret = NULL;
        a->state = IDLE;
        mt_send(a->cfg->registry, mt__rc_validated_new(req, mt_rc_build(&t)));
        return;
    }
    mt_msg_t *w = mt_store_msg_rc_set(mt_rc_build(&t), r->new_name[0] != 0, r->hostname != NULL,
                                      r->username != NULL, r->password != NULL,
                                      r->has_demand_encryption, r->has_revision ? r->revision : 0);
    mt_store_rc_write_t *wp = mt_msg_data(w);
    wp->has_server_key = r->server_key != NULL;
    wp->has_client_keys = r->client_public != NULL;
    wp->has_restrict_hostname_replace = r->has_restrict_hostname_replace;
    mt__rca_start_write(self, a, W_SET, req, w);
}

/*  A new hostname must belong to the same remote cluster, and new keys
    must reach it: probe first. */
void mt__rca_set_probed(mt_actor_t *self, agent_t *a, mt_msg_t *msg)
{
    const mt__rc_probed_t *p = mt_msg_data(msg);
    mt_msg_t *req = a->inflight;
    a->probe_corr = 0;
    a->inflight = NULL;
    a->state = IDLE;
    if (p->err == MT_OK) {
        mt__rca_set_request(self, a, req);
        return;
    }
    if (p->err == MT_ECONFLICT)
        mt_rc_reply_error(req, MT_EBADREQ, "refused: %s", p->message);
    else
        mt_rc_reply_error(req, MT_EUNAVAIL, "cannot reach the remote cluster with the new"
                          " settings: %s", p->message);
    mt_msg_free(req);
}
