/* core_fs — see core_fs.h. */
#include "core_fs.h"

#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

#include <event2/buffer.h>

static int fs_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void core_fs_rm_tree(const char *path)
{
	nftw(path, fs_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int core_fs_sync(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int core_fs_write_all(int fd, struct evbuffer *b)
{
	while (evbuffer_get_length(b) > 0)
		if (evbuffer_write_atmost(b, fd, -1) <= 0)
			return -1;
	return 0;
}
