/* SPDX-License-Identifier: MIT */
/*
 * registry.c -- this process's shared writing handles (see registry.h): a
 * short list under one mutex (a process opens few stores). The mutex is
 * taken around fork() so a child never inherits it locked; entries keep
 * the pid of the process that opened them, so a child closes its
 * inherited references normally but never shares them with its own opens.
 */
#include "srd_features.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handover.h"
#include "registry.h"
#include "store_impl.h"

typedef struct reg_entry {
    struct srd_store *st;
    dev_t dev;
    ino_t ino;
    pid_t pid;
    unsigned refs;
    struct reg_entry *next;
} reg_entry;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static reg_entry *reg_all;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void reg_prepare(void) { pthread_mutex_lock(&reg_mu); }
static void reg_parent(void) { pthread_mutex_unlock(&reg_mu); }

/* The child's copies of its parent's writer locks must not hold the store
 * (srdd could not take it over from the parent). */
static void reg_child(void)
{
    for (reg_entry *e = reg_all; e; e = e->next)
        srdi_store_child_unlock(e->st);
    pthread_mutex_unlock(&reg_mu);
}

/* fork() runs prepare handlers last-installed first: the registry's mutex
 * is taken before handover.c's, as srd_open takes them. */
static void reg_init(void)
{
    srdi_handover_atfork_init();
    pthread_atfork(reg_prepare, reg_parent, reg_child);
}

void srdi_registry_lock(void)
{
    pthread_once(&reg_once, reg_init);
    pthread_mutex_lock(&reg_mu);
}

void srdi_registry_unlock(void) { pthread_mutex_unlock(&reg_mu); }

bool srdi_registry_lock_id(const char *path, dev_t *dev, ino_t *ino)
{
    char lock[PATH_MAX + 8];
    struct stat sb;
    if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock ||
        stat(lock, &sb) != 0)
        return false;
    *dev = sb.st_dev;
    *ino = sb.st_ino;
    return true;
}

struct srd_store *srdi_registry_share(const char *path)
{
    dev_t dev;
    ino_t ino;
    if (!srdi_registry_lock_id(path, &dev, &ino))
        return NULL;
    pid_t me = getpid();
    for (reg_entry *e = reg_all; e; e = e->next)
        if (e->dev == dev && e->ino == ino && e->pid == me) {
            e->refs++;
            return e->st;
        }
    return NULL;
}

bool srdi_registry_add(struct srd_store *st, const char *path)
{
    reg_entry *e = calloc(1, sizeof *e);
    if (!e)
        return false;
    if (!srdi_registry_lock_id(path, &e->dev, &e->ino)) {
        free(e);
        return false;
    }
    e->st = st;
    e->pid = getpid();
    e->refs = 1;
    e->next = reg_all;
    reg_all = e;
    return true;
}

bool srdi_registry_release(struct srd_store *st)
{
    for (reg_entry **pp = &reg_all; *pp; pp = &(*pp)->next) {
        reg_entry *e = *pp;
        if (e->st != st)
            continue;
        if (--e->refs > 0)
            return false;
        *pp = e->next;
        free(e);
        return true;
    }
    return true;
}
