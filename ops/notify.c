/*  notify.c — the service manager's notify protocol, through libsystemd's
    own sd_notify (it finds NOTIFY_SOCKET, abstract sockets included, and
    does nothing without one). The status lines show in `systemctl
    status`; they never carry a secret. */
#include "mt_ops.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

static void notify(const char *state, const char *status)
{
    if (status)
        sd_notifyf(0, "%s\nSTATUS=%s", state, status);
    else
        sd_notify(0, state);
}

void mt_ops_notify_ready(const char *status)
{
    notify("READY=1", status);
}

void mt_ops_notify_stopping(const char *status)
{
    notify("STOPPING=1", status);
}

void mt_ops_notify_status(const char *status)
{
    sd_notifyf(0, "STATUS=%s", status ? status : "");
}
