/*
 * media_audio — audio files in memory, on libsndfile's virtual I/O: any
 * file libsndfile reads (WAV, OGG/Vorbis, Opus, FLAC, MP3) becomes 16-bit
 * mono PCM at the rate asked for (channels mixed down, resampled with
 * speexdsp), and PCM becomes a WAV file (16-bit PCM, mono). What uploads,
 * prompts and recordings go through. Pure: buffers in, buffers out.
 */
#ifndef MEDIA_AUDIO_H
#define MEDIA_AUDIO_H

#include <stddef.h>
#include <stdint.h>

/* Limits on what is decoded (an upload is hostile). The fuzz target
 * builds with a smaller one, so that an input decodes quickly. */
#ifndef MEDIA_AUDIO_MAX_SECONDS
#define MEDIA_AUDIO_MAX_SECONDS 3600
#endif

struct media_pcm {
	int16_t *samples; /* malloc'd, owned by whoever holds the struct */
	size_t n;
	int rate;
};

/* data (len bytes) → PCM at rate; 0, or -1 with a reason for the user in
 * why ("not an audio file libsndfile reads", "longer than 3600 s", ...). */
int media_audio_decode(const void *data, size_t len, int rate, struct media_pcm *out,
		       const char **why);
void media_pcm_free(struct media_pcm *p);
/* PCM → a WAV file in a malloc'd buffer (*out, *len); 0 or -1. */
int media_audio_wav(const int16_t *pcm, size_t n, int rate, void **out, size_t *len);

#endif
