/*
 * imap_thread: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256
 * section 4; imap_thread.h).
 *
 * REFERENCES works on an array of containers (one per message-ID seen,
 * plus one per message without a usable one) linked by index: parent,
 * first child, next sibling. A small open-addressing table maps
 * message-IDs to containers, another base subjects to top-level threads.
 * Sibling lists are sorted by copying them to an array. The output walks
 * chains of only children in a loop and recurses only where a thread
 * branches.
 * Sibling lists are doubly linked with a last pointer, so linking and
 * unlinking are O(1) however many replies a message has.
 * XXX: the loop check walks up from the new parent when the child has
 * children of its own, so a pathological set of messages that re-parent
 * deep subtrees costs O(n * depth); real threads are shallow.
 *
 * SECURITY: header values come from messages anyone can send; IDs and
 * subjects are copied into owned strings; every walk is bounded by the
 * number of containers (links never form a cycle: each new link is
 * checked first).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

#include "imap_sort.h"
#include "imap_thread.h"

bool imap_thread_algo_parse(const char *name, enum imap_thread_algo *r)
{
	if (strcasecmp(name, "ORDEREDSUBJECT") == 0)
		*r = IMAP_THREAD_ORDEREDSUBJECT;
	else if (strcasecmp(name, "REFERENCES") == 0)
		*r = IMAP_THREAD_REFERENCES;
	else
		return false;
	return true;
}

bool imap_thread_next_msgid(const char **pos, struct str *id_r)
{
	const char *p = *pos, *end;

	for (;;) {
		p = strchr(p, '<');
		if (p == NULL) {
			*pos = strchr(*pos, '\0');
			return false;
		}
		end = strchr(p + 1, '>');
		if (end == NULL) {
			*pos = strchr(p, '\0');
			return false;
		}
		str_clear(id_r);
		for (const char *c = p + 1; c < end; c++)
			if (*c != ' ' && *c != '\t' && *c != '\r' &&
			    *c != '\n')
				str_append_c(id_r, *c);
		p = end + 1;
		/* "<>" and "<a <b@c>": only the last '<' opens the ID. */
		if (id_r->len > 0 &&
		    memchr(id_r->data, '<', id_r->len) == NULL) {
			*pos = p;
			return true;
		}
		if (id_r->len > 0) {
			const char *lt = strrchr(str_c(id_r), '<');

			str_consume(id_r, (size_t)(lt - id_r->data) + 1);
			if (id_r->len > 0) {
				*pos = p;
				return true;
			}
		}
	}
}

/*
 * Small string-keyed hash table: index of the entry, or -1.
 */
struct imap_thread_hash {
	char **keys;
	int *vals;
	size_t cap, count;
};

static size_t imap_thread_hash_fn(const char *s)
{
	size_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static size_t imap_thread_hash_slot(const struct imap_thread_hash *h,
				    const char *key)
{
	size_t i = imap_thread_hash_fn(key) & (h->cap - 1);

	while (h->keys[i] != NULL && strcmp(h->keys[i], key) != 0)
		i = (i + 1) & (h->cap - 1);
	return i;
}

static void imap_thread_hash_init(struct imap_thread_hash *h, size_t n)
{
	h->cap = 16;
	while (h->cap < n * 2)
		h->cap *= 2;
	h->keys = mem_array(h->cap, sizeof(*h->keys));
	h->vals = mem_array(h->cap, sizeof(*h->vals));
	h->count = 0;
}

static void imap_thread_hash_free(struct imap_thread_hash *h)
{
	for (size_t i = 0; i < h->cap; i++)
		free(h->keys[i]);
	free(h->keys);
	free(h->vals);
}

static int imap_thread_hash_get(const struct imap_thread_hash *h,
				const char *key)
{
	size_t i = imap_thread_hash_slot(h, key);

	return h->keys[i] == NULL ? -1 : h->vals[i];
}

static void imap_thread_hash_set(struct imap_thread_hash *h,
				 const char *key, int val)
{
	size_t i;

	if ((h->count + 1) * 2 > h->cap) {
		struct imap_thread_hash bigger;

		imap_thread_hash_init(&bigger, h->cap);
		for (size_t j = 0; j < h->cap; j++)
			if (h->keys[j] != NULL) {
				size_t k = imap_thread_hash_slot(&bigger,
								 h->keys[j]);

				bigger.keys[k] = h->keys[j];
				bigger.vals[k] = h->vals[j];
				bigger.count++;
			}
		free(h->keys);
		free(h->vals);
		*h = bigger;
	}
	i = imap_thread_hash_slot(h, key);
	if (h->keys[i] == NULL) {
		h->keys[i] = mem_strdup(key);
		h->count++;
	}
	h->vals[i] = val;
}

/*
 * Containers.
 */
struct imap_thread_node {
	int parent;			/* indexes, -1 for none */
	int child, last;		/* first and last child */
	int prev, next;			/* siblings */
	int msg;			/* index in msgs, -1: a dummy */
	bool deleted;
};

struct imap_thread_ctx {
	const struct imap_thread_msg *msgs;
	struct imap_thread_node *nodes;
	size_t count, cap;
	struct imap_thread_hash ids;
	char **subjects;	/* base subject of each message */
	bool *replies;
};

static int imap_thread_new(struct imap_thread_ctx *ctx, int msg)
{
	struct imap_thread_node *n;

	if (ctx->count == ctx->cap) {
		ctx->cap = ctx->cap == 0 ? 64 : ctx->cap * 2;
		ctx->nodes = mem_array_realloc(ctx->nodes, ctx->cap,
					       sizeof(*ctx->nodes));
	}
	n = &ctx->nodes[ctx->count];
	n->parent = n->child = n->last = n->prev = n->next = -1;
	n->msg = msg;
	n->deleted = false;
	return (int)ctx->count++;
}

/* The container of id, created as a dummy if new. */
static int imap_thread_id(struct imap_thread_ctx *ctx, const char *id)
{
	int c = imap_thread_hash_get(&ctx->ids, id);

	if (c < 0) {
		c = imap_thread_new(ctx, -1);
		imap_thread_hash_set(&ctx->ids, id, c);
	}
	return c;
}

/* Is a an ancestor of b, or b itself? Only a container with children
 * can be an ancestor: new IDs (most of a References chain) cost
 * nothing. */
static bool imap_thread_above(const struct imap_thread_ctx *ctx, int a, int b)
{
	if (ctx->nodes[a].child < 0)
		return a == b;
	for (; b >= 0; b = ctx->nodes[b].parent)
		if (b == a)
			return true;
	return false;
}

/* Take c out of its parent's children (O(1): lists are doubly
 * linked, so a parent with 100,000 replies costs nothing extra). */
static void imap_thread_unlink(struct imap_thread_ctx *ctx, int c)
{
	struct imap_thread_node *nodes = ctx->nodes;
	int p = nodes[c].parent;

	if (p < 0)
		return;
	if (nodes[c].prev >= 0)
		nodes[nodes[c].prev].next = nodes[c].next;
	else
		nodes[p].child = nodes[c].next;
	if (nodes[c].next >= 0)
		nodes[nodes[c].next].prev = nodes[c].prev;
	else
		nodes[p].last = nodes[c].prev;
	nodes[c].parent = nodes[c].prev = nodes[c].next = -1;
}

/* Make c (which has no parent) the last child of p. */
static void imap_thread_link(struct imap_thread_ctx *ctx, int p, int c)
{
	struct imap_thread_node *nodes = ctx->nodes;

	nodes[c].parent = p;
	nodes[c].prev = nodes[p].last;
	nodes[c].next = -1;
	if (nodes[p].last >= 0)
		nodes[nodes[p].last].next = c;
	else
		nodes[p].child = c;
	nodes[p].last = c;
}

/* Step 1 for message m. */
static void imap_thread_add(struct imap_thread_ctx *ctx, int m, struct str *id)
{
	const struct imap_thread_msg *msg = &ctx->msgs[m];
	const char *refs = msg->references, *pos;
	int prev = -1, c;

	/* A: the References chain (or the first In-Reply-To). */
	pos = refs;
	if (refs == NULL || !imap_thread_next_msgid(&pos, id)) {
		refs = NULL;
		pos = msg->in_reply_to;
		if (pos != NULL && imap_thread_next_msgid(&pos, id))
			prev = imap_thread_id(ctx, str_c(id));
	} else {
		prev = imap_thread_id(ctx, str_c(id));
		while (imap_thread_next_msgid(&pos, id)) {
			int r = imap_thread_id(ctx, str_c(id));

			if (ctx->nodes[r].parent < 0 &&
			    !imap_thread_above(ctx, r, prev))
				imap_thread_link(ctx, prev, r);
			prev = r;
		}
	}
	/* The message's own container: a dummy waiting for it, or a new
	 * one when its ID is missing or already taken. */
	pos = msg->message_id;
	c = -1;
	if (pos != NULL && imap_thread_next_msgid(&pos, id)) {
		c = imap_thread_hash_get(&ctx->ids, str_c(id));
		if (c < 0) {
			c = imap_thread_new(ctx, m);
			imap_thread_hash_set(&ctx->ids, str_c(id), c);
		} else if (ctx->nodes[c].msg < 0) {
			ctx->nodes[c].msg = m;
		} else {
			c = -1;
		}
	}
	if (c < 0)
		c = imap_thread_new(ctx, m);
	/* B: under the last reference; its own References win over a
	 * parent that others' gave it. */
	if (prev >= 0 && ctx->nodes[c].parent == prev)
		return;
	imap_thread_unlink(ctx, c);
	if (prev >= 0 && !imap_thread_above(ctx, c, prev))
		imap_thread_link(ctx, prev, c);
}

/* Step 3: splice out dummies below the top, then settle top ones. */
static void imap_thread_prune(struct imap_thread_ctx *ctx)
{
	struct imap_thread_node *nodes = ctx->nodes;

	for (size_t i = 0; i < ctx->count; i++) {
		int d = (int)i, p = nodes[d].parent, c;
		int first = nodes[d].child, last = nodes[d].last;
		int before = nodes[d].prev, after = nodes[d].next;

		if (nodes[d].msg >= 0 || p < 0)
			continue;
		/* d's children take d's place among p's. */
		for (c = first; c >= 0; c = nodes[c].next)
			nodes[c].parent = p;
		if (first < 0)
			first = after, last = before;
		else {
			nodes[first].prev = before;
			nodes[last].next = after;
		}
		if (before >= 0)
			nodes[before].next = first >= 0 ? first : after;
		else
			nodes[p].child = first;
		if (after >= 0)
			nodes[after].prev = last >= 0 ? last : before;
		else
			nodes[p].last = last;
		nodes[d].deleted = true;
		nodes[d].parent = nodes[d].child = nodes[d].last = -1;
		nodes[d].prev = nodes[d].next = -1;
	}
	for (size_t i = 0; i < ctx->count; i++) {
		int d = (int)i, c = nodes[d].child;

		if (nodes[d].msg >= 0 || nodes[d].deleted ||
		    nodes[d].parent >= 0)
			continue;
		if (c < 0 || nodes[c].next < 0) {
			if (c >= 0)
				nodes[c].parent = -1;
			nodes[d].deleted = true;
			nodes[d].child = nodes[d].last = -1;
		}
	}
}

/* The message a top-level container stands for: itself, or a dummy's
 * first child. */
static int imap_thread_rep(const struct imap_thread_ctx *ctx, int c)
{
	return ctx->nodes[c].msg >= 0 ? c : ctx->nodes[c].child;
}

static int imap_thread_cmp(const void *pa, const void *pb, void *p)
{
	const struct imap_thread_ctx *ctx = p;
	const struct imap_thread_msg *a, *b;
	int ca = imap_thread_rep(ctx, *(const int *)pa);
	int cb = imap_thread_rep(ctx, *(const int *)pb);

	a = &ctx->msgs[ctx->nodes[ca].msg];
	b = &ctx->msgs[ctx->nodes[cb].msg];
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sort the children of p by date. */
static void imap_thread_sort_list(struct imap_thread_ctx *ctx, int p,
				  int **buf, size_t *bufcap)
{
	struct imap_thread_node *nodes = ctx->nodes;
	size_t n = 0;

	for (int c = nodes[p].child; c >= 0; c = nodes[c].next) {
		if (n == *bufcap) {
			*bufcap = *bufcap == 0 ? 64 : *bufcap * 2;
			*buf = mem_array_realloc(*buf, *bufcap, sizeof(int));
		}
		(*buf)[n++] = c;
	}
	if (n < 2)
		return;
	qsort_r(*buf, n, sizeof(int), imap_thread_cmp, ctx);
	nodes[p].child = (*buf)[0];
	nodes[p].last = (*buf)[n - 1];
	for (size_t i = 0; i < n; i++) {
		nodes[(*buf)[i]].prev = i > 0 ? (*buf)[i - 1] : -1;
		nodes[(*buf)[i]].next = i + 1 < n ? (*buf)[i + 1] : -1;
	}
}

/* The top-level containers in order, as an array. */
static size_t imap_thread_roots(struct imap_thread_ctx *ctx, int **roots_r)
{
	int *roots = mem_array(ctx->count + 1, sizeof(int));
	size_t n = 0;

	for (size_t i = 0; i < ctx->count; i++)
		if (!ctx->nodes[i].deleted && ctx->nodes[i].parent < 0)
			roots[n++] = (int)i;
	*roots_r = roots;
	return n;
}

/* Sort every sibling list below the top, then the top (step 4 and 6). */
static void imap_thread_sort(struct imap_thread_ctx *ctx, int *roots,
			     size_t n)
{
	int *buf = NULL;
	size_t bufcap = 0;

	for (size_t i = 0; i < ctx->count; i++)
		if (!ctx->nodes[i].deleted && ctx->nodes[i].child >= 0)
			imap_thread_sort_list(ctx, (int)i, &buf, &bufcap);
	free(buf);
	qsort_r(roots, n, sizeof(int), imap_thread_cmp, ctx);
}

/* Step 5: gather top-level threads with the same base subject (roots
 * is the top level before; the links say what it is after). */
static void imap_thread_subjects(struct imap_thread_ctx *ctx, int *roots,
				   size_t n)
{
	struct imap_thread_node *nodes;
	struct imap_thread_hash table;

	imap_thread_hash_init(&table, n);
	for (size_t i = 0; i < n; i++) {
		int c = roots[i], m = ctx->nodes[imap_thread_rep(ctx, c)].msg;
		const char *subj = ctx->subjects[m];
		int t;

		if (*subj == '\0')
			continue;
		t = imap_thread_hash_get(&table, subj);
		if (t < 0 ||
		    (ctx->nodes[c].msg < 0 && ctx->nodes[t].msg >= 0) ||
		    (ctx->nodes[t].msg >= 0 &&
		     ctx->replies[ctx->nodes[t].msg] &&
		     ctx->nodes[c].msg >= 0 && !ctx->replies[m]))
			imap_thread_hash_set(&table, subj, c);
	}
	for (size_t i = 0; i < n; i++) {
		int c = roots[i], m, t, d;
		const char *subj;

		/* Already put under another thread of its subject. */
		if (ctx->nodes[c].parent >= 0 || ctx->nodes[c].deleted)
			continue;
		m = ctx->nodes[imap_thread_rep(ctx, c)].msg;
		subj = ctx->subjects[m];
		t = *subj == '\0' ? -1 : imap_thread_hash_get(&table, subj);
		if (t < 0 || t == c)
			continue;
		nodes = ctx->nodes;
		if (nodes[t].msg < 0 && nodes[c].msg < 0) {
			int k;

			while ((k = nodes[c].child) >= 0) {
				imap_thread_unlink(ctx, k);
				imap_thread_link(ctx, t, k);
			}
			nodes[c].deleted = true;
		} else if (nodes[t].msg < 0 ||
			   (ctx->replies[m] && !ctx->replies[nodes[t].msg])) {
			imap_thread_link(ctx, t, c);
		} else {
			/* Both under a new dummy that takes t's place. */
			d = imap_thread_new(ctx, -1);
			nodes = ctx->nodes;
			imap_thread_link(ctx, d, t);
			imap_thread_link(ctx, d, c);
			imap_thread_hash_set(&table, subj, d);
		}
	}
	imap_thread_hash_free(&table);
}

/* One thread: numbers, chains of only children with spaces, branches
 * as parenthesised lists. */
static void imap_thread_write(const struct imap_thread_ctx *ctx, int c,
			      struct str *out)
{
	const struct imap_thread_node *nodes = ctx->nodes;
	bool first = true;

	for (;;) {
		if (nodes[c].msg >= 0) {
			str_printf(out, first ? "%u" : " %u",
				   ctx->msgs[nodes[c].msg].number);
			first = false;
		}
		if (nodes[c].child < 0)
			return;
		if (nodes[nodes[c].child].next < 0 && nodes[c].msg >= 0) {
			c = nodes[c].child;
			continue;
		}
		if (!first)
			str_append_c(out, ' ');
		for (int k = nodes[c].child; k >= 0; k = nodes[k].next) {
			str_append_c(out, '(');
			imap_thread_write(ctx, k, out);
			str_append_c(out, ')');
		}
		return;
	}
}

static void imap_thread_references(struct imap_thread_ctx *ctx, size_t n,
				   struct str *out)
{
	struct str id = STR_INIT;
	int *roots;
	size_t nroots;

	imap_thread_hash_init(&ctx->ids, n);
	for (size_t m = 0; m < n; m++)
		imap_thread_add(ctx, (int)m, &id);
	str_release(&id);
	imap_thread_prune(ctx);
	nroots = imap_thread_roots(ctx, &roots);
	imap_thread_sort(ctx, roots, nroots);
	imap_thread_subjects(ctx, roots, nroots);
	free(roots);
	nroots = imap_thread_roots(ctx, &roots);
	imap_thread_sort(ctx, roots, nroots);
	for (size_t i = 0; i < nroots; i++) {
		str_append_c(out, '(');
		imap_thread_write(ctx, roots[i], out);
		str_append_c(out, ')');
	}
	free(roots);
	imap_thread_hash_free(&ctx->ids);
}

/* ORDEREDSUBJECT: by base subject, then date; each run of one subject
 * is a thread whose first message is the parent of the rest. */
static int imap_thread_os_cmp(const void *pa, const void *pb, void *p)
{
	const struct imap_thread_ctx *ctx = p;
	int a = *(const int *)pa, b = *(const int *)pb;
	int r = strcmp(ctx->subjects[a], ctx->subjects[b]);

	if (r != 0)
		return r;
	if (ctx->msgs[a].date != ctx->msgs[b].date)
		return ctx->msgs[a].date < ctx->msgs[b].date ? -1 : 1;
	return ctx->msgs[a].seq < ctx->msgs[b].seq ? -1 :
	       ctx->msgs[a].seq > ctx->msgs[b].seq;
}

static void imap_thread_orderedsubject(struct imap_thread_ctx *ctx, size_t n,
				       struct str *out)
{
	int *order = mem_array(n, sizeof(int)), *roots;
	size_t i, j, nroots;

	/* Containers: one per message, threads built as parent + children
	 * so that the shared sort and writer apply. */
	for (i = 0; i < n; i++) {
		order[i] = (int)i;
		imap_thread_new(ctx, (int)i);
	}
	qsort_r(order, n, sizeof(int), imap_thread_os_cmp, ctx);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(ctx->subjects[order[i]],
						ctx->subjects[order[j]]) == 0;
		     j++)
			imap_thread_link(ctx, order[i], order[j]);
	}
	free(order);
	nroots = imap_thread_roots(ctx, &roots);
	qsort_r(roots, nroots, sizeof(int), imap_thread_cmp, ctx);
	for (i = 0; i < nroots; i++) {
		str_append_c(out, '(');
		imap_thread_write(ctx, roots[i], out);
		str_append_c(out, ')');
	}
	free(roots);
}

void imap_thread(const struct imap_thread_msg *msgs, size_t n,
		 enum imap_thread_algo algo, struct str *out)
{
	struct imap_thread_ctx ctx = { .msgs = msgs };
	struct str subj = STR_INIT;

	if (n == 0)
		return;
	ctx.subjects = mem_array(n, sizeof(*ctx.subjects));
	ctx.replies = mem_array(n, sizeof(*ctx.replies));
	for (size_t i = 0; i < n; i++) {
		str_clear(&subj);
		ctx.replies[i] = imap_base_subject(msgs[i].subject, &subj);
		ctx.subjects[i] = mem_strdup(str_c(&subj));
	}
	str_release(&subj);
	if (algo == IMAP_THREAD_REFERENCES)
		imap_thread_references(&ctx, n, out);
	else
		imap_thread_orderedsubject(&ctx, n, out);
	for (size_t i = 0; i < n; i++)
		free(ctx.subjects[i]);
	free(ctx.subjects);
	free(ctx.replies);
	free(ctx.nodes);
}
