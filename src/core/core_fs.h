/*
 * core_fs — the few file-system chores several roles share: removing a
 * directory tree (leftovers of interrupted work) and making a file or a
 * directory's entries durable before a rename counts on them.
 */
#ifndef CORE_FS_H
#define CORE_FS_H

/* Removes path and everything below it, not following symlinks. */
void core_fs_rm_tree(const char *path);
/* fsync(2) of a file or directory by name; 0 or -1. */
int core_fs_sync(const char *path);
/* All of b written to fd (one write(2) takes only so many of a buffer's
 * chunks: an upload of a few MiB needs several), b drained; 0 or -1. */
struct evbuffer;
int core_fs_write_all(int fd, struct evbuffer *b);

#endif
