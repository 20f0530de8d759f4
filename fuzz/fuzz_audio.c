/*
 * libFuzzer target for media_audio_decode (src/media): the input is an
 * uploaded file, hostile. Decoding must refuse it with a reason or give
 * PCM at the rate asked, never longer than the limit. Built with
 * MEDIA_AUDIO_MAX_SECONDS 30 so one input decodes in a moment.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/media/media_audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rate = size & 1 ? 16000 : 8000;
	struct media_pcm pcm;
	const char *why = NULL;
	if (media_audio_decode(data, size, rate, &pcm, &why) < 0) {
		if (!why || pcm.samples)
			abort();
		return 0;
	}
	if (why || pcm.rate != rate || pcm.n == 0 || !pcm.samples ||
	    pcm.n > (size_t)(MEDIA_AUDIO_MAX_SECONDS + 1) * (size_t)rate)
		abort();
	media_pcm_free(&pcm);
	return 0;
}
