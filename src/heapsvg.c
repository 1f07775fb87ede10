/*
 * heapsvg.c — the heap as a picture: umalloc_heap_svg(fd) writes an SVG of
 * every region the allocator owns (walk.c's regions: the brk heap, mmap'd
 * main segments, each arena's heaps, then the mapped chunks), each chunk a
 * rectangle coloured by its state (walk.c's chunk_state), to scale within
 * its region: a region is drawn as rows of equal byte spans, left to right.
 * A region with too many chunks to draw one by one is drawn in cells of a
 * fixed power-of-two size, each coloured by the state that holds most of
 * its bytes (the cell size is written beside the region), which keeps a
 * 1 GiB heap's picture under 2 MB. Hover titles give addresses and sizes.
 * Cached and free memory whose pages are not resident (never touched, or
 * given back with madvise) is drawn pale, from mincore on the region.
 * No malloc, no stdio: text goes through a buffer on the stack and write(2);
 * per-cell tallies live in a scratch mapping.
 */
#include <sys/mman.h>

#include "internal.h"
#include "umalloc.h"

#define NR UM_CS_N          /* tally column: bytes not resident (cached/free) */
#define TALLY_W (UM_CS_N + 1)

#define SVG_W 1200
#define LEFT 170          /* x of a row's start */
#define ROW_W 1000        /* px per row */
#define ROW_H 12
#define ROW_PITCH 15
#define MAX_ROWS 32
#define MAX_CELLS 2048    /* per region in cell mode */
#define CHUNK_BUDGET 3000 /* rectangles per region in chunk mode */
#define TOTAL_BUDGET 9000 /* rectangles in all (about 180 bytes each) */
#define MIN_CELLS 64      /* kept for every region, however many there are */
#define MAX_MAPPED 64     /* mapped chunks drawn one by one */

static const char *const fill[UM_CS_N] = {
    "#3b6fc4", "#9b59b6", "#d2a8e6", "#f0a030", "#f4d03f", "#5cb85c", "#1e7a4a", "#d5dde3", "#444",
};

struct svg {
    int fd, err;
    size_t len;
    char buf[8192];
    /* the region being drawn */
    int open, cells, mapped;
    char *lo, *hi;
    size_t row_bytes, cell, ncells, y, elements;
    size_t *tally;        /* ncells * TALLY_W bytes, cell mode */
    size_t tally_len;
    unsigned char *vec;   /* residency of the region's pages (mincore) */
    size_t vec_len, vec_pages;
    uintptr_t vec_lo;
    size_t nr_bytes;      /* cached/free bytes not resident, whole picture */
    /* the whole picture */
    size_t count[UM_CS_N], bytes[UM_CS_N];
    size_t regions, heap_regions, heap_drawn, height, mapped_seen, mapped_max, mapped_rest, mapped_rest_bytes;
};

static void flush(struct svg *g)
{
    size_t off = 0;
    while (off < g->len) {
        ssize_t w = write(g->fd, g->buf + off, g->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            g->err = 1;
            break;
        }
        off += (size_t)w;
    }
    g->len = 0;
}

#define OUT(g, ...)                                                                      \
    do {                                                                                 \
        if ((g)->len > sizeof (g)->buf - 512)                                            \
            flush(g);                                                                    \
        (g)->len += um_snprintf((g)->buf + (g)->len, sizeof (g)->buf - (g)->len, __VA_ARGS__); \
        if ((g)->len >= sizeof (g)->buf)                                                 \
            (g)->len = sizeof (g)->buf - 1;                                              \
    } while (0)

/* "1.5 MiB", "48 B": one decimal, integer arithmetic */
static const char *human(char *b, size_t cap, size_t v)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    size_t scale = 1;
    while (u < 4 && v >= scale * 1024) {
        scale *= 1024;
        u++;
    }
    if (u == 0)
        um_snprintf(b, cap, "%zu B", v);
    else
        um_snprintf(b, cap, "%zu.%zu %s", v / scale, (v % scale) * 10 / scale, unit[u]);
    return b;
}

static size_t pow2_at_least(size_t v)
{
    size_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

/* Row span of a region of `size` bytes: a power of two, >= a page, at most MAX_ROWS rows. */
static size_t row_bytes_for(size_t size) { return pow2_at_least(size / MAX_ROWS + 1 > um_pagesize ? size / MAX_ROWS + 1 : um_pagesize); }

static size_t region_height(size_t size) { return 20 + ((size + row_bytes_for(size) - 1) / row_bytes_for(size)) * ROW_PITCH + 8; }

/* ---- pass 1: the picture's height ---- */
static int measure_region(void *ctx, const struct um_region *r)
{
    struct svg *g = ctx;
    if (r->kind == UM_REGION_MAPPED) {
        size_t sz = (size_t)(r->hi - r->lo);
        g->mapped_max = sz > g->mapped_max ? sz : g->mapped_max;
        g->mapped_seen++;
        return 0;
    }
    g->height += region_height((size_t)(r->hi - r->lo));
    g->heap_regions++;
    return 0;
}

/* ---- pass 2 ---- */
static void rect(struct svg *g, int state, size_t x, size_t y, size_t w, int more)
{
    /* x and w in 1/1000 px (the region's group scales by 0.001) */
    OUT(g, "<rect class=\"c%d%s\" x=\"%zu\" y=\"%zu\" width=\"%zu\" height=\"%d\"", state,
        more ? " more" : "", x, y, w ? w : 1, ROW_H);
}

/* A span [off, off+size) of the current region, split at row ends. */
static void draw_span(struct svg *g, size_t off, size_t size, int state, const char *title)
{
    int first = 1;
    while (size > 0) {
        size_t row = off / g->row_bytes, in = off % g->row_bytes;
        size_t n = g->row_bytes - in < size ? g->row_bytes - in : size;
        rect(g, state, in * 1000000 / g->row_bytes, g->y + row * ROW_PITCH,
             n * 1000000 / g->row_bytes, !first);
        if (first && title)
            OUT(g, "><title>%s</title></rect>\n", title);
        else
            OUT(g, "/>\n");
        g->elements++;
        first = 0;
        off += n;
        size -= n;
    }
}

/* ---- residency: which pages of the region have RAM behind them ---- */
static void vec_release(struct svg *g)
{
    if (g->vec)
        um_os_unmap(g->vec, g->vec_len);
    g->vec = NULL;
}

static void vec_load(struct svg *g)
{
    vec_release(g);
    uintptr_t lo = (uintptr_t)g->lo & ~(uintptr_t)(um_pagesize - 1);
    uintptr_t hi = ((uintptr_t)g->hi + um_pagesize - 1) & ~(uintptr_t)(um_pagesize - 1);
    g->vec_pages = (hi - lo) / um_pagesize;
    g->vec_len = (g->vec_pages + um_pagesize - 1) & ~(um_pagesize - 1);
    g->vec_lo = lo;
    g->vec = um_os_map(g->vec_len);
    if (g->vec && mincore((void *)lo, hi - lo, g->vec) != 0)
        vec_release(g);
}

/* Is the page holding region offset off resident? (Unknown: yes.) */
static int resident_at(const struct svg *g, size_t off)
{
    size_t pg = ((uintptr_t)g->lo + off - g->vec_lo) / um_pagesize;
    return !g->vec || pg >= g->vec_pages || (g->vec[pg] & 1);
}

/* Offset of the end of the page run (same residency) that starts at off,
 * clipped to end. */
static size_t run_end(const struct svg *g, size_t off, size_t end)
{
    if (!g->vec)
        return end;
    int res = resident_at(g, off);
    size_t a = (size_t)(((uintptr_t)g->lo + off) - g->vec_lo);
    a = (a / um_pagesize + 1) * um_pagesize; /* next page, vec-relative */
    size_t next = a - (size_t)((uintptr_t)g->lo - g->vec_lo);
    while (next < end && resident_at(g, next) == res)
        next += um_pagesize;
    return next < end ? next : end;
}

static size_t nonresident_bytes(const struct svg *g, size_t off, size_t size)
{
    size_t n = 0, end = off + size;
    while (off < end) {
        size_t e = run_end(g, off, end);
        if (!resident_at(g, off))
            n += e - off;
        off = e;
    }
    return n;
}

/* Pale overlay on [off, off+size), split at row ends. */
static void draw_pale(struct svg *g, size_t off, size_t size)
{
    while (size > 0) {
        size_t row = off / g->row_bytes, in = off % g->row_bytes;
        size_t n = g->row_bytes - in < size ? g->row_bytes - in : size;
        /* the state's colour stays as a stripe on top; the rest is washed out */
        OUT(g, "<rect class=\"nr more\" x=\"%zu\" y=\"%zu\" width=\"%zu\" height=\"%d\"/>\n",
            in * 1000000 / g->row_bytes, g->y + row * ROW_PITCH + 4,
            n * 1000000 / g->row_bytes ? n * 1000000 / g->row_bytes : 1, ROW_H - 4);
        g->elements++;
        off += n;
        size -= n;
    }
}

static void draw_pale_runs(struct svg *g, size_t off, size_t size)
{
    size_t end = off + size;
    while (off < end) {
        size_t e = run_end(g, off, end);
        if (!resident_at(g, off))
            draw_pale(g, off, e - off);
        off = e;
    }
}

static int pale_state(int state) { return state != UM_CS_USED && state != UM_CS_META; }

static void close_region(struct svg *g)
{
    if (!g->open)
        return;
    if (g->cells) {
        for (size_t c = 0; c < g->ncells; c++) {
            size_t *t = g->tally + c * TALLY_W, total = 0;
            int best = -1;
            for (int s = 0; s < UM_CS_N; s++) {
                total += t[s];
                if (t[s] && (best < 0 || t[s] > t[best]))
                    best = s;
            }
            if (best < 0)
                continue;
            char title[400], hb[32];
            size_t n = um_snprintf(title, sizeof title, "cell %p, %s:", (void *)(g->lo + c * g->cell),
                                   human(hb, sizeof hb, g->cell));
            for (int s = 0; s < UM_CS_N && n < sizeof title; s++)
                if (t[s])
                    n += um_snprintf(title + n, sizeof title - n, " %zu%% %s", t[s] * 100 / total,
                                     um_cstate_name[s]);
            if (t[NR] && n < sizeof title)
                um_snprintf(title + n, sizeof title - n, "; %zu%% cached/free and not resident",
                            t[NR] * 100 / total);
            size_t len = g->cell < (size_t)(g->hi - g->lo) - c * g->cell
                             ? g->cell : (size_t)(g->hi - g->lo) - c * g->cell;
            draw_span(g, c * g->cell, len, best, title);
            if (pale_state(best) && t[NR] * 2 > total)
                draw_pale(g, c * g->cell, len);
        }
        um_os_unmap(g->tally, g->tally_len);
        g->tally = NULL;
    }
    vec_release(g);
    OUT(g, "</g>\n");
    g->open = 0;
}

/* Count the rectangles a heap's chunks would need (lock held by the walk). */
static size_t chunk_rects(const struct um_region *r, size_t row_bytes)
{
    arena *av = r->av;
    size_t n = 1, limit = CHUNK_BUDGET + 1;
    size_t off = um_first_chunk_off(av, (const heap *)r->lo);
    for (chunk *p = chunk_at(r->lo, off); (char *)p < r->hi && n < limit;) {
        size_t s = hdr_load_acq(p) & ~(size_t)SIZE_BITS;
        n += 1 + ((size_t)((char *)p - r->lo) % row_bytes + (s ? s : 1) - 1) / row_bytes;
        if (p == av->top || s < MINSIZE || (char *)p + s > r->hi)
            break;
        p = chunk_at(p, s);
    }
    return n;
}

static int begin_region(void *ctx, const struct um_region *r)
{
    struct svg *g = ctx;
    close_region(g);
    size_t size = (size_t)(r->hi - r->lo);
    char hb[32], hc[32];
    if (r->kind == UM_REGION_MAPPED) {
        if (g->mapped_seen == 0) {
            g->y += 6;
            OUT(g, "<text x=\"10\" y=\"%zu\" class=\"h\">mapped chunks (own mmap, bars to scale with the largest, %s)</text>\n",
                g->y + 12, human(hb, sizeof hb, g->mapped_max));
            g->y += 20;
        }
        g->mapped_seen++;
        if (g->mapped_seen > MAX_MAPPED) {
            g->mapped_rest++;
            g->mapped_rest_bytes += size;
            return 0;
        }
        /* one row, the bar as long as the mapping relative to the largest */
        g->lo = r->lo;
        g->hi = r->hi;
        g->row_bytes = g->mapped_max ? g->mapped_max : 1;
        g->cells = 0;
        g->open = 1;
        g->mapped = 1;
        g->regions++;
        OUT(g, "<text x=\"%d\" y=\"%zu\" class=\"a\">%p</text>\n", LEFT - 6, g->y + 10, (void *)r->lo);
        OUT(g, "<g class=\"region\" data-kind=\"mapped\" data-mode=\"chunks\" "
               "transform=\"translate(%d,0) scale(0.001,1)\">\n", LEFT);
        return 1;
    }
    static const char *const kinds[] = {"?", "brk heap", "mmap'd segment", "heap"};
    size_t rb = row_bytes_for(size);
    g->lo = r->lo;
    g->hi = r->hi;
    g->row_bytes = rb;
    g->open = 1;
    g->mapped = 0;
    g->regions++;
    size_t rects = chunk_rects(r, rb);
    /* what is left of the budget, keeping MIN_CELLS for each region to come */
    size_t later = g->heap_regions > g->heap_drawn + 1 ? g->heap_regions - g->heap_drawn - 1 : 0;
    size_t left = TOTAL_BUDGET > g->elements + later * MIN_CELLS
                      ? TOTAL_BUDGET - g->elements - later * MIN_CELLS : 0;
    g->heap_drawn++;
    g->cells = rects > CHUNK_BUDGET || rects > left;
    size_t max_cells = left < MIN_CELLS ? MIN_CELLS : left > MAX_CELLS ? MAX_CELLS : left;
    OUT(g, "<text x=\"10\" y=\"%zu\" class=\"h\">arena %d, %s %p-%p, %s; row = %s", g->y + 13,
        r->av->index, kinds[r->kind], (void *)r->lo, (void *)r->hi, human(hb, sizeof hb, size),
        human(hc, sizeof hc, rb));
    if (g->cells) {
        size_t cell = um_pagesize;
        while ((size + cell - 1) / cell > max_cells || rb / cell > 64)
            cell *= 2;
        g->cell = cell;
        g->ncells = (size + cell - 1) / cell;
        g->tally_len = (g->ncells * TALLY_W * sizeof(size_t) + um_pagesize - 1) & ~(um_pagesize - 1);
        g->tally = um_os_map(g->tally_len);
        if (!g->tally) {
            g->err = 1;
            g->open = 0;
            return 0;
        }
        OUT(g, "; drawn in cells of %s, each coloured by what fills most of it",
            human(hb, sizeof hb, cell));
    }
    OUT(g, "</text>\n");
    vec_load(g);
    g->y += 20;
    for (size_t row = 0; row * rb < size; row++)
        OUT(g, "<text x=\"%d\" y=\"%zu\" class=\"a\">%p</text>\n", LEFT - 6,
            g->y + row * ROW_PITCH + 10, (void *)(r->lo + row * rb));
    OUT(g, "<g class=\"region\" data-kind=\"%s\" data-arena=\"%d\" data-mode=\"%s\" "
           "transform=\"translate(%d,0) scale(0.001,1)\">\n",
        r->kind == HEAP_BRK ? "brk" : r->kind == HEAP_MMAP ? "mmap" : "heap", r->av->index,
        g->cells ? "cells" : "chunks", LEFT);
    /* the program break, where it lies in (or at the end of) this region */
    if (r->kind == HEAP_BRK) {
        char *brk = um_os_brk_end();
        if (brk >= r->lo && brk <= r->hi) {
            size_t off = (size_t)(brk - r->lo), row = off / rb, in = off % rb;
            if (off == size && in == 0 && row > 0) {
                row--;
                in = rb;
            }
            OUT(g, "<rect class=\"brk\" x=\"%zu\" y=\"%zu\" width=\"3000\" height=\"%d\">"
                   "<title>program break %p</title></rect>\n",
                in * 1000000 / rb, g->y + row * ROW_PITCH - 2, ROW_H + 4, (void *)brk);
        }
    }
    return 1;
}

static void visit_chunk(void *ctx, const struct um_region *r, char *p, size_t size, int state)
{
    struct svg *g = ctx;
    (void)r;
    if (!g->open)
        return;
    g->count[state]++;
    g->bytes[state] += size;
    size_t off = (size_t)(p - g->lo);
    int pale = r->kind != UM_REGION_MAPPED && pale_state(state);
    size_t nr = pale ? nonresident_bytes(g, off, size) : 0;
    g->nr_bytes += nr;
    if (g->cells) {
        while (size > 0) {
            size_t c = off / g->cell, in = off % g->cell;
            size_t n = g->cell - in < size ? g->cell - in : size;
            if (c < g->ncells) {
                g->tally[c * TALLY_W + (size_t)state] += n;
                if (nr)
                    g->tally[c * TALLY_W + NR] += nonresident_bytes(g, off, n);
            }
            off += n;
            size -= n;
        }
        return;
    }
    char title[200], hb[32], hn[32];
    if (state == UM_CS_META)
        um_snprintf(title, sizeof title, "%p: %s (%zu B) of metadata", (void *)p, human(hb, sizeof hb, size), size);
    else if (nr)
        um_snprintf(title, sizeof title, "chunk %p, %s (%zu B): %s; %s not resident", (void *)p,
                    human(hb, sizeof hb, size), size, um_cstate_name[state], human(hn, sizeof hn, nr));
    else
        um_snprintf(title, sizeof title, "chunk %p, %s (%zu B): %s", (void *)p,
                    human(hb, sizeof hb, size), size, um_cstate_name[state]);
    if (r->kind == UM_REGION_MAPPED) {
        if (state == UM_CS_META)
            return; /* the mapping's record: part of the bar */
        rect(g, state, 0, g->y, (size_t)(g->hi - g->lo) * 1000000 / g->row_bytes, 0);
        OUT(g, "><title>%s</title></rect>\n", title);
        g->elements++;
        return;
    }
    draw_span(g, off, size, state, title);
    if (nr)
        draw_pale_runs(g, off, size);
}

/* After a region's chunks: move down past its rows. */
static void end_region_rows(struct svg *g)
{
    if (!g->open)
        return;
    close_region(g);
    if (g->mapped)
        g->y += ROW_PITCH;
    else
        g->y += ((size_t)(g->hi - g->lo) + g->row_bytes - 1) / g->row_bytes * ROW_PITCH + 8;
}

static int begin_region_pass2(void *ctx, const struct um_region *r)
{
    struct svg *g = ctx;
    end_region_rows(g);
    return begin_region(ctx, r);
}

static void escape_into(struct svg *g, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '&')
            OUT(g, "&amp;");
        else if (c == '<')
            OUT(g, "&lt;");
        else if (c == '>')
            OUT(g, "&gt;");
        else if (c == '\0' || c == '\n' || c == '\t')
            OUT(g, " ");
        else if ((unsigned char)c >= 32 && c != 127)
            OUT(g, "%c", c);
    }
}

static void command_line(struct svg *g)
{
    char cmd[96];
    size_t n = um_cmdline(cmd, sizeof cmd);
    escape_into(g, cmd, n);
    if (n == sizeof cmd - 1)
        OUT(g, "...");
}

PUBLIC int umalloc_heap_svg(int fd)
{
    um_ensure_init();
    static struct svg g; /* one picture at a time (um_svg_lock); keeps the stack small */
    um_lock_acquire(&um_svg_lock);
    for (size_t i = 0; i < sizeof g; i++)
        ((char *)&g)[i] = 0;
    g.fd = fd;

    struct um_walker measure = {measure_region, NULL, &g};
    um_walk_all(&measure);
    size_t nmapped = g.mapped_seen;
    size_t height = 142 + g.height + (nmapped ? 30 + (nmapped < MAX_MAPPED ? nmapped : MAX_MAPPED) * ROW_PITCH + 20 : 0) + 40;
    g.mapped_seen = 0;
    g.height = height;

    OUT(&g, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
            "viewBox=\"0 0 %d %zu\" font-family=\"monospace\" font-size=\"11\">\n",
        SVG_W, height, SVG_W, height);
    OUT(&g, "<style>text{fill:#222} .h{font-weight:bold} .a{font-size:9px;fill:#666;text-anchor:end} "
            ".brk{fill:#e01010} .nr{fill:#fff;fill-opacity:0.85}");
    for (int s = 0; s < UM_CS_N; s++)
        OUT(&g, " .c%d{fill:%s}", s, fill[s]);
    OUT(&g, "</style>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    OUT(&g, "<text x=\"10\" y=\"18\" class=\"h\" font-size=\"14\">umalloc heap of pid %d: ", (int)getpid());
    command_line(&g);
    OUT(&g, "</text>\n");
    /* legend: the states, pale = not resident, the program break; 5 a row */
    for (int s = 0; s < UM_CS_N + 2; s++) {
        size_t x = 10 + (size_t)(s % 5) * 235, y = 34 + (size_t)(s / 5) * 18;
        if (s < UM_CS_N)
            OUT(&g, "<rect class=\"c%d legend\" x=\"%zu\" y=\"%zu\" width=\"12\" height=\"12\"/>", s, x, y);
        else if (s == UM_CS_N)
            OUT(&g, "<rect class=\"c5 legend\" x=\"%zu\" y=\"%zu\" width=\"12\" height=\"12\"/>"
                    "<rect class=\"nr legend\" x=\"%zu\" y=\"%zu\" width=\"12\" height=\"8\"/>", x, y, x, y + 4);
        else
            OUT(&g, "<rect class=\"brk legend\" x=\"%zu\" y=\"%zu\" width=\"3\" height=\"12\"/>", x + 4, y);
        OUT(&g, "<text x=\"%zu\" y=\"%zu\">%s</text>\n", x + 16, y + 10,
            s < UM_CS_N ? um_cstate_name[s] : s == UM_CS_N ? "striped: not resident (no RAM)" : "program break");
    }
    g.y = 94;
    size_t legend_y = g.y;
    g.y += 34; /* two lines of totals */

    struct um_walker draw = {begin_region_pass2, visit_chunk, &g};
    um_walk_all(&draw);
    end_region_rows(&g);
    if (g.mapped_rest) {
        char hb[32];
        OUT(&g, "<text x=\"10\" y=\"%zu\">... and %zu more mapped chunks, %s</text>\n", g.y + 12,
            g.mapped_rest, human(hb, sizeof hb, g.mapped_rest_bytes));
        g.y += 20;
    }
    /* totals, placed under the legend */
    char hb[32];
    for (int line = 0; line < 2; line++) {
        OUT(&g, "<text x=\"10\" y=\"%zu\" class=\"totals\">", legend_y + 10 + (size_t)line * 14);
        for (int s = line ? 5 : 0; s < (line ? UM_CS_N : 5); s++)
            OUT(&g, "%s%s %zu (%s)", s % 5 ? ",  " : "", um_cstate_name[s], g.count[s],
                human(hb, sizeof hb, g.bytes[s]));
        if (line)
            OUT(&g, ";  not resident %s", human(hb, sizeof hb, g.nr_bytes));
        OUT(&g, "</text>\n");
    }
    OUT(&g, "</svg>\n");
    flush(&g);
    int err = g.err;
    um_lock_release(&um_svg_lock);
    return err ? -1 : 0;
}
