// A mapped block that realloc moves out of its mapping (cut to 1 KiB) must
// not raise the dynamic mmap threshold: glibc raises it only in free(), for
// a size the program may ask for again, and a block realloc shrinks is not
// one. umalloc raised it to the old block's size (20 MiB here), so every
// later request of 128 KiB to 20 MiB came from the heap, where its pages
// stay (a helper's review). free() of a mapped block still raises it.
#include "../common.h"

#include <malloc.h>

int main(void)
{
    char *p = malloc(20 << 20);
    CHECK(p != NULL);
    memset(p, 1, 20 << 20);
    t_escape(p);
    CHECK(mallinfo2().hblks >= 1); /* (the premise: a mapped block) */
    p = realloc(p, 1024);
    CHECK(p != NULL);
    CHECK(p[0] == 1 && p[1023] == 1);
    size_t before = mallinfo2().hblks;
    char *q = malloc(200 << 10);
    CHECK(q != NULL);
    t_escape(q);
    size_t after = mallinfo2().hblks;
    printf("after realloc cut a 20 MiB mapped block: malloc(200 KiB) %s\n",
           after == before + 1 ? "mapped (threshold kept)" : "from the heap (threshold raised)");
    EXPECTF(after == before + 1, "malloc(200 KiB) after the realloc was not mapped (mapped blocks %zu -> %zu)",
            before, after);
    free(q);
    /* free() of a mapped block does raise it (glibc's dynamic threshold) */
    char *r = malloc(300 << 10);
    CHECK(r != NULL);
    t_escape(r);
    free(r);
    before = mallinfo2().hblks;
    char *s = malloc(250 << 10);
    CHECK(s != NULL);
    t_escape(s);
    after = mallinfo2().hblks;
    printf("after free of a 300 KiB mapped block: malloc(250 KiB) %s\n",
           after == before ? "from the heap (threshold raised)" : "mapped");
    EXPECTF(after == before, "free() of a mapped block no longer raised the threshold");
    free(s);
    free(p);
    return t_done();
}
