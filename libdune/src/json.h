/* A small JSON reader for policy files: parses a whole document into a tree. */
#ifndef DUNE_JSON_H
#define DUNE_JSON_H

#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	char *str;        /* JSON_STRING; member key for object members */
	char *key;
	int boolean;
	double number;
	uint64_t u64;     /* exact value for non-negative integers */
	int is_integer;
	struct json *child; /* first element / member */
	struct json *next;
};

/* NULL on error, with a message in err. */
struct json *json_parse(const char *text, char *err, size_t errlen);
void json_free(struct json *j);
const struct json *json_get(const struct json *obj, const char *key);
size_t json_len(const struct json *arr);

#endif
