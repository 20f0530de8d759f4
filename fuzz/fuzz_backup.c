/* libFuzzer target: backup archives as an upload brings them — backup_verify
 * reads the .tar.gz (libarchive), its manifest (jansson) and checks every
 * member; with the first byte odd, the input is also read as an encrypted
 * backup's header and chunks (with a fixed passphrase). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "../src/backup/backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64], out[80];
	if (!*path) {
		if (sodium_init() < 0)
			abort();
		snprintf(path, sizeof(path), "/tmp/zt-fuzz-backup-%d", (int)getpid());
		snprintf(out, sizeof(out), "%s.out", path);
	}
	if (size < 1)
		return 0;
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data + 1, 1, size - 1, f);
	fclose(f);
	char err[512];
	json_t *m = backup_verify(path, NULL, err, sizeof(err));
	json_decref(m);
	/* the decryption path only for inputs that pass the magic: argon2 is slow */
	if ((data[0] & 1) && backup_is_encrypted(path))
		backup_decrypt(path, out, "fuzz passphrase", err, sizeof(err));
	return 0;
}
