/*
 * core_random — where libsodium's random bytes come from in every process
 * (randombytes_buf, randombytes_random, randombytes_uniform): a small
 * per-thread buffer filled from the kernel's CSPRNG (getrandom) 256 bytes at
 * a time. By default libsodium makes one getrandom() per call, and SIP asks
 * for a fresh branch or tag with most messages: 16 system calls a call
 * between the SBC and a phone system.
 *
 * Bytes handed out are wiped from the buffer, so a later look at memory
 * cannot tell what was given. A fork empties the child's buffer
 * (pthread_atfork), so a parent and its child never hand out the same
 * bytes. Requests of 64 bytes or more (keys) go to getrandom() directly.
 */
#ifndef CORE_RANDOM_H
#define CORE_RANDOM_H

/* Makes this libsodium's source of random bytes; before sodium_init(),
 * once per process (main does it first). 0, or -1 if libsodium refused. */
int core_random_install(void);

#endif
