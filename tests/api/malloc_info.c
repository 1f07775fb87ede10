// malloc_info(0, fp): XML from "<malloc version=" to "</malloc>";
// options != 0 -> -1 with errno EINVAL.
#include "../common.h"

static char out[1 << 20];

int main(void)
{
    void *a = malloc(100), *b = malloc(300 * 1024), *c = malloc(5000);
    CHECK(a && b && c);
    free(c);

    FILE *fp = tmpfile();
    CHECK(fp != NULL);
    int rc = malloc_info(0, fp);
    EXPECTF(rc == 0, "malloc_info(0, fp) returned %d", rc);
    fflush(fp);
    ssize_t n = pread(fileno(fp), out, sizeof out - 1, 0);
    CHECK(n >= 0);
    out[n] = 0;
    const char *s = out;
    while (*s == ' ' || *s == '\n' || *s == '\t')
        s++;
    EXPECTF(strncmp(s, "<malloc version=", 16) == 0, "output starts with \"%.40s\"", s);
    size_t len = strlen(out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = 0;
    EXPECTF(len >= 9 && strcmp(out + len - 9, "</malloc>") == 0, "output ends with \"%s\"",
            len > 40 ? out + len - 40 : out);
    EXPECTF(strstr(out, "<heap nr=") != NULL, "no <heap nr=...> element");
    fclose(fp);

    /* writes through a FILE* that was used before */
    fp = tmpfile();
    CHECK(fp != NULL);
    fputs("prefix\n", fp);
    EXPECT(malloc_info(0, fp) == 0);
    fflush(fp);
    n = pread(fileno(fp), out, sizeof out - 1, 0);
    CHECK(n >= 0);
    out[n] = 0;
    EXPECTF(strncmp(out, "prefix\n", 7) == 0 && strstr(out, "<malloc version=") != NULL &&
            strstr(out, "</malloc>") != NULL, "malloc_info after other output: \"%.60s\"", out);
    fclose(fp);

    /* options must be 0 */
    fp = tmpfile();
    CHECK(fp != NULL);
    errno = 0;
    rc = malloc_info(1, fp);
    int e = errno;
    EXPECTF(rc == -1 && e == EINVAL, "malloc_info(1, fp) returned %d errno %d, expected -1/EINVAL",
            rc, e);
    fflush(fp);
    EXPECTF(lseek(fileno(fp), 0, SEEK_END) == 0, "malloc_info(1, fp) wrote output");
    fclose(fp);

    free(a);
    free(b);
    return t_done();
}
