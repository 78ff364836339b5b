/*  rc_keys.c — how an agent contacts its remote: the reference's keys and
    the client secret the agent holds for it.

    The secret is the one piece of a reference that memory keeps although
    no reply or notice may carry it: every replica probes, so every agent
    needs it. It arrives with the requests that set it (on the replica
    that wrote it) and from the database (reloads; a read of the one row
    when a notice showed keys the agent holds no secret for), never from a
    notice. It is kept beside the public key it belongs to (checked with
    zmq_curve_public), outside the reference block, and wiped when it is
    replaced, when the reference no longer has a keypair and when the
    agent stops. */
#include "rcs_internal.h"
#include "mt_key.h"

#include <stdio.h>
#include <string.h>

void mt__rc_secret_wipe(mt__rc_secret_t *s)
{
    explicit_bzero(s, sizeof *s);
}

void mt__rc_secret_learn(mt__rc_secret_t *s, const char *pub, const char *sec)
{
    char scratch[8];
    if (!pub || !*pub) {
        mt__rc_secret_wipe(s);      /* no keypair any more */
        return;
    }
    if (!sec || !*sec || mt_key_pair_check(pub, sec, scratch, sizeof scratch) != MT_OK)
        return;                     /* nothing usable: keep what we have */
    mt__rc_secret_wipe(s);
    memcpy(s->public_key, pub, MT_RC_KEY_LEN);
    memcpy(s->secret_key, sec, MT_RC_KEY_LEN);
}

bool mt__rc_secret_missing(const mt__rc_secret_t *s, const mt_rc_t *ref)
{
    return ref && ref->client_public && ref->client_public[0]
        && strcmp(ref->client_public, s->public_key) != 0;
}

/*  The keypair for client_public when we hold it. */
static void keypair(const mt__rc_secret_t *s, const char *pub, mt__rc_keys_t *k)
{
    if (pub && *pub && strcmp(pub, s->public_key) == 0) {
        memcpy(k->client_public, s->public_key, sizeof k->client_public);
        memcpy(k->client_secret, s->secret_key, sizeof k->client_secret);
    }
}

void mt__rc_keys_of(const mt__rc_secret_t *s, const mt_rc_t *ref, mt__rc_keys_t *k)
{
    memset(k, 0, sizeof *k);
    k->demand_encryption = ref->demand_encryption;
    snprintf(k->server_key, sizeof k->server_key, "%s", ref->server_key ? ref->server_key : "");
    keypair(s, ref->client_public, k);
}

void mt__rc_keys_merge(const mt__rc_secret_t *s, const mt_rc_t *ref, const mt_rc_req_t *r,
                       mt__rc_keys_t *k)
{
    if (ref)
        mt__rc_keys_of(s, ref, k);
    else
        memset(k, 0, sizeof *k);
    if (r->has_demand_encryption)
        k->demand_encryption = r->demand_encryption;
    if (r->server_key)
        snprintf(k->server_key, sizeof k->server_key, "%s", r->server_key);
    if (r->client_public) {
        explicit_bzero(k->client_secret, sizeof k->client_secret);
        snprintf(k->client_public, sizeof k->client_public, "%s", r->client_public);
        snprintf(k->client_secret, sizeof k->client_secret, "%s",
                 r->client_secret ? r->client_secret : "");
    }
}

bool mt__rc_keys_change_contact(const mt_rc_t *ref, const mt_rc_req_t *r)
{
    return (r->server_key && strcmp(r->server_key, ref->server_key) != 0)
        || (r->client_public && strcmp(r->client_public, ref->client_public) != 0)
        || (r->has_demand_encryption && r->demand_encryption && !ref->demand_encryption);
}

mt_msg_t *mt__rc_secret_load_new(const char *id)
{
    mt_msg_t *m = mt_store_msg_rc_scan(0);
    mt_store_scan_req_t *q = mt_msg_data(m);
    snprintf(q->rc_id, sizeof q->rc_id, "%s", id);
    return m;
}
