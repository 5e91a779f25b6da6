// SPDX-License-Identifier: Apache-2.0
/*
 * replay.c: runs a fuzz target over every file of its corpus directories,
 * deterministically, so the corpus is a regression test without libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t
replay_dir(const char *dirname)
{
	char path[4096], *names[4096];
	struct dirent *de;
	size_t n = 0, i;
	DIR *dir;

	if ((dir = opendir(dirname)) == NULL) {
		fprintf(stderr, "replay: cannot open %s\n", dirname);
		exit(2);
	}
	while ((de = readdir(dir)) != NULL && n < 4096)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(dir);
	qsort(names, n, sizeof(char *), cmp);
	for (i = 0; i < n; i++) {
		FILE *f;
		uint8_t *buf;
		long len;

		snprintf(path, sizeof(path), "%s/%s", dirname, names[i]);
		if ((f = fopen(path, "rb")) != NULL) {
			fseek(f, 0, SEEK_END);
			len = ftell(f);
			rewind(f);
			buf = malloc(len > 0 ? (size_t)len : 1);
			if (buf != NULL && fread(buf, 1, (size_t)len, f) ==
			    (size_t)len)
				LLVMFuzzerTestOneInput(buf, (size_t)len);
			free(buf);
			fclose(f);
		}
		free(names[i]);
	}
	printf("replayed %zu inputs from %s\n", n, dirname);
	return n;
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		replay_dir(argv[i]);
	return 0;
}
