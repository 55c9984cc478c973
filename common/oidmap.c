#include "oidmap.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* One key and its value, in one allocation: the value, then the key. */
struct oidmap_item {
	uint64_t hash;
	size_t len;
	/* value_size bytes, rounded up to 8, then len bytes of key */
};

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)
#define FIRST_SLOTS 64

static unsigned char *item_value(struct oidmap_item *it)
{
	return (unsigned char *)(it + 1);
}

static unsigned char *item_key(const struct oidmap *m, struct oidmap_item *it)
{
	return item_value(it) + ALIGN8(m->value_size);
}

/*
 * FNV-1a over the whole key. Object ids are hashes already, but a key
 * may begin with the same tree id under several parents' ids (or with
 * zeros for none), so every byte counts.
 */
static uint64_t hash_of(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void oidmap_init(struct oidmap *m, size_t value_size, size_t max)
{
	memset(m, 0, sizeof(*m));
	m->value_size = value_size;
	m->max = max < OIDMAP_MAX_ITEMS ? max : OIDMAP_MAX_ITEMS;
}

/* The slot of `key`: where it is, or the empty slot where it would go. */
static size_t find(const struct oidmap *m, const void *key, size_t len,
		   uint64_t hash)
{
	size_t mask = m->nr_slots - 1, i = (size_t)hash & mask;
	struct oidmap_item *it;

	while ((it = m->slots[i])) {
		if (it->hash == hash && it->len == len &&
		    !memcmp(item_key(m, it), key, len))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

void *oidmap_get(const struct oidmap *m, const void *key, size_t len)
{
	struct oidmap_item *it;

	if (!m->nr_slots || !len || len > OIDMAP_MAX_KEY)
		return NULL;
	it = m->slots[find(m, key, len, hash_of(key, len))];
	return it ? item_value(it) : NULL;
}

/* Double the table (kept at most half full: probes stay short). */
static void grow(struct oidmap *m)
{
	struct oidmap_item **old = m->slots;
	size_t old_nr = m->nr_slots, i;

	m->nr_slots = old_nr ? 2 * old_nr : FIRST_SLOTS;
	m->slots = xcalloc(m->nr_slots, sizeof(*m->slots));
	for (i = 0; i < old_nr; i++) {
		struct oidmap_item *it = old[i];
		size_t mask = m->nr_slots - 1, j;

		if (!it)
			continue;
		for (j = (size_t)it->hash & mask; m->slots[j];
		     j = (j + 1) & mask)
			;
		m->slots[j] = it;
	}
	free(old);
}

void *oidmap_put(struct oidmap *m, const void *key, size_t len)
{
	struct oidmap_item *it;
	uint64_t hash;
	size_t i;

	if (!len || len > OIDMAP_MAX_KEY)
		return NULL;
	hash = hash_of(key, len);
	if (m->nr_slots) {
		i = find(m, key, len, hash);
		if (m->slots[i])
			return item_value(m->slots[i]);
	}
	if (m->nr >= m->max)
		return NULL;
	if (2 * (m->nr + 1) > m->nr_slots)
		grow(m);
	i = find(m, key, len, hash);
	it = xcalloc(1, sizeof(*it) + ALIGN8(m->value_size) + len);
	it->hash = hash;
	it->len = len;
	memcpy(item_key(m, it), key, len);
	m->slots[i] = it;
	m->nr++;
	return item_value(it);
}

void oidmap_release(struct oidmap *m)
{
	size_t i;

	for (i = 0; i < m->nr_slots; i++)
		free(m->slots[i]);
	free(m->slots);
	m->slots = NULL;
	m->nr_slots = 0;
	m->nr = 0;
}
