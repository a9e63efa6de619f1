#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *s;
	size_t pos;
	char *err;
	size_t errlen;
	int depth;
};

static void fail(struct parser *p, const char *what)
{
	if (p->err && !p->err[0])
		snprintf(p->err, p->errlen, "%s at offset %zu", what, p->pos);
}

static void skip_ws(struct parser *p)
{
	while (isspace((unsigned char)p->s[p->pos]))
		p->pos++;
}

static struct json *value(struct parser *p);

static char *string(struct parser *p)
{
	if (p->s[p->pos] != '"') {
		fail(p, "expected string");
		return NULL;
	}
	p->pos++;
	size_t cap = 32, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (;;) {
		char c = p->s[p->pos++];
		if (c == '\0') {
			fail(p, "unterminated string");
			free(out);
			return NULL;
		}
		if (c == '"')
			break;
		if (c == '\\') {
			char e = p->s[p->pos++];
			switch (e) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				unsigned v = 0;
				for (int i = 0; i < 4; i++) {
					char h = p->s[p->pos++];
					if (!isxdigit((unsigned char)h)) {
						fail(p, "bad \\u escape");
						free(out);
						return NULL;
					}
					v = v * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
				}
				c = v < 128 ? (char)v : '?';
				break;
			}
			case '"': case '\\': case '/': c = e; break;
			default:
				fail(p, "bad escape");
				free(out);
				return NULL;
			}
		}
		if (n + 2 > cap) {
			cap *= 2;
			char *o = realloc(out, cap);
			if (!o) {
				free(out);
				return NULL;
			}
			out = o;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

static struct json *node(enum json_type t)
{
	struct json *j = calloc(1, sizeof *j);
	if (j)
		j->type = t;
	return j;
}

static struct json *container(struct parser *p, int object)
{
	struct json *j = node(object ? JSON_OBJECT : JSON_ARRAY);
	struct json **tail = &j->child;
	char close = object ? '}' : ']';
	p->pos++;
	skip_ws(p);
	if (p->s[p->pos] == close) {
		p->pos++;
		return j;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(p);
		if (object) {
			key = string(p);
			if (!key)
				goto bad;
			skip_ws(p);
			if (p->s[p->pos] != ':') {
				free(key);
				fail(p, "expected ':'");
				goto bad;
			}
			p->pos++;
		}
		struct json *v = value(p);
		if (!v) {
			free(key);
			goto bad;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		skip_ws(p);
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == close) {
			p->pos++;
			return j;
		}
		fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
		goto bad;
	}
bad:
	json_free(j);
	return NULL;
}

static struct json *value(struct parser *p)
{
	skip_ws(p);
	if (++p->depth > 64) {
		fail(p, "nesting too deep");
		return NULL;
	}
	struct json *j = NULL;
	const char *s = p->s + p->pos;
	if (*s == '{' || *s == '[') {
		j = container(p, *s == '{');
	} else if (*s == '"') {
		char *str = string(p);
		if (str) {
			j = node(JSON_STRING);
			j->str = str;
		}
	} else if (!strncmp(s, "true", 4) || !strncmp(s, "false", 5)) {
		j = node(JSON_BOOL);
		j->boolean = *s == 't';
		p->pos += j->boolean ? 4 : 5;
	} else if (!strncmp(s, "null", 4)) {
		j = node(JSON_NULL);
		p->pos += 4;
	} else if (*s == '-' || isdigit((unsigned char)*s)) {
		char *end;
		j = node(JSON_NUMBER);
		j->number = strtod(s, &end);
		size_t len = (size_t)(end - s);
		int integer = *s != '-' && strspn(s, "0123456789") == len;
		if (integer) {
			j->u64 = strtoull(s, NULL, 10);
			j->is_integer = 1;
		}
		p->pos += len;
	} else {
		fail(p, "unexpected character");
	}
	p->depth--;
	return j;
}

struct json *json_parse(const char *text, char *err, size_t errlen)
{
	struct parser p = { .s = text, .err = err, .errlen = errlen };
	if (err && errlen)
		err[0] = '\0';
	struct json *j = value(&p);
	if (!j)
		return NULL;
	skip_ws(&p);
	if (p.s[p.pos]) {
		fail(&p, "trailing data");
		json_free(j);
		return NULL;
	}
	return j;
}

void json_free(struct json *j)
{
	while (j) {
		struct json *next = j->next;
		json_free(j->child);
		free(j->str);
		free(j->key);
		free(j);
		j = next;
	}
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json *c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

size_t json_len(const struct json *arr)
{
	size_t n = 0;
	for (const struct json *c = arr ? arr->child : NULL; c; c = c->next)
		n++;
	return n;
}
