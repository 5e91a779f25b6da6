// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_phase.c: the rollout's phases in the seed's order (prepare, etcd,
 * HA, masters, workers): their names, the roles whose nodes take part in
 * each, and where a node fetches its bundle (prepare). Pure.
 */
#include "rollout.h"

#include <string.h>

static const char *const phase_names[PH__COUNT] = {
	"prepare", "etcd", "ha", "masters", "workers",
};

const char *
rollout_phase_name(enum rollout_phase p)
{
	return (unsigned int)p < PH__COUNT ? phase_names[p] : "?";
}

int
rollout_phase_parse(const char *s, enum rollout_phase *out)
{
	int i;

	for (i = 0; i < PH__COUNT; i++)
		if (s != NULL && strcmp(s, phase_names[i]) == 0) {
			*out = (enum rollout_phase)i;
			return 0;
		}
	if (s != NULL && strcmp(s, "HA") == 0) {
		*out = PH_HA;
		return 0;
	}
	return SLW_ERR_INVALID;
}

unsigned int
rollout_phase_roles(enum rollout_phase p)
{
	switch (p) {
	case PH_PREPARE:
		return ROLE_ETCD | ROLE_MASTER | ROLE_WORKER;
	case PH_ETCD:
		return ROLE_ETCD;
	case PH_HA:
	case PH_MASTERS:
		return ROLE_MASTER;
	case PH_WORKERS:
		return ROLE_WORKER;
	default:
		return 0;
	}
}

int
rollout_phase_includes(enum rollout_phase p, const struct inv_node *n)
{
	return (n->roles & rollout_phase_roles(p)) != 0;
}

/*
 * Every node fetches its bundle in prepare (every node takes part in
 * it): the bundle carries the node certificate its binaries are fetched
 * with, and the binaries step checks them before anything starts.
 */
enum rollout_phase
rollout_phase_of_bundle(const struct inv_node *n)
{
	return rollout_phase_includes(PH_PREPARE, n) ? PH_PREPARE : PH__COUNT;
}
