/* Source of the fuzzing seeds: a tiny program with a struct, built with DWARF 4
   and DWARF 5, and once with compressed debug sections. See ../README.md. */
struct hmap { long count; unsigned char flags, B; unsigned short noverflow; unsigned hash0;
              void *buckets, *oldbuckets; unsigned long nevacuate; struct hmap *extra; };
static int used(struct hmap *h) { return h->flags + h->B; }
int main(void) { struct hmap h = {0}; return used(&h); }
