#ifndef OIDMAP_H
#define OIDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What a walk learnt about a tree, kept under the tree's id: a hash map
 * from keys made of object ids (one tree id, or a tree id followed by
 * the ids it is compared with) to a value of a fixed size that the
 * caller defines. A tree met again is then answered from the map, not
 * walked again (gittree_count(), the [verify] rules).
 *
 * The map holds at most `max` keys; past that oidmap_put() returns NULL
 * and the caller walks as if it had no map (slower, never wrong), so
 * memory stays bounded whatever a push holds.
 */

#define OIDMAP_MAX_KEY 4096	/* bytes in one key */
#define OIDMAP_MAX_ITEMS (4 * 1024 * 1024)	/* the most `max` may be */

struct oidmap_item;

struct oidmap {
	struct oidmap_item **slots;	/* open addressing, a power of 2 */
	size_t nr_slots;
	size_t nr;			/* keys held */
	size_t max;			/* keys it may hold */
	size_t value_size;
};

#define OIDMAP_INIT { NULL, 0, 0, 0, 0 }

/*
 * Empty map of values of `value_size` bytes, holding at most `max` keys
 * (clipped to OIDMAP_MAX_ITEMS). Allocates nothing yet.
 */
void oidmap_init(struct oidmap *m, size_t value_size, size_t max);

/*
 * The value kept under key (`key`, `len` bytes), or NULL. Borrowed until
 * the next oidmap_put() or oidmap_release().
 */
void *oidmap_get(const struct oidmap *m, const void *key, size_t len);

/*
 * The value under `key`, created zeroed if the key is new; NULL if the
 * map is full (or `len` is 0 or past OIDMAP_MAX_KEY). Borrowed as for
 * oidmap_get().
 */
void *oidmap_put(struct oidmap *m, const void *key, size_t len);

/* Free every key and value; `m` is left empty, with its settings. */
void oidmap_release(struct oidmap *m);

#endif
