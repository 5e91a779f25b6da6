// SPDX-License-Identifier: Apache-2.0
/*
 * csr_watch.c: fuzz target over a watch stream as the API server would send
 * it: bytes split into lines (in two chunks at a point the input chooses),
 * each line parsed as a watch event, each object read as a CSR. No I/O;
 * must never crash or leak whatever the bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "approver.h"
#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
line(void *arg, const uint8_t *p, size_t n)
{
	struct approver_csr c;
	const char *type;
	cJSON *obj = NULL;

	(void)arg;
	if (kube_event_parse(p, n, &type, &obj, NULL) != 0)
		return 0;
	if (approver_csr_from_json(obj, &c, NULL) == 0)
		approver_csr_free(&c);
	cJSON_Delete(obj);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_lines l;
	size_t cut;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	data++;
	size--;
	if (cut > size)
		cut = size;
	memset(&l, 0, sizeof(l));
	if (kube_lines_feed(&l, data, cut, line, NULL) == 0)
		kube_lines_feed(&l, data + cut, size - cut, line, NULL);
	kube_lines_free(&l);
	return 0;
}
