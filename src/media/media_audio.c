/*
 * media_audio — audio files in memory through libsndfile's virtual I/O:
 * decoding whatever libsndfile reads into 16-bit mono PCM at the rate
 * asked for (channels averaged, resampled by media_dsp's resampler), and
 * writing 16-bit mono WAV. The input is hostile: its length, channels and
 * rate are bounded, its duration is counted while decoding (a header's
 * frame count may lie), and every refusal has a reason for the user.
 */
#include "media_audio.h"

#include <limits.h>
#include <ogg/ogg.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vorbis/codec.h>

#include "media_dsp.h"

#define AUDIO_MAX_CHANNELS   16
#define AUDIO_CHUNK	     1024 /* frames read at a time */
#define AUDIO_STR2(x)	     #x
#define AUDIO_STR(x)	     AUDIO_STR2(x)
#define MEDIA_AUDIO_MAX_TEXT AUDIO_STR(MEDIA_AUDIO_MAX_SECONDS)

/* A file in memory: read-only for decoding, growing for writing. */
struct audio_mem {
	const uint8_t *rd;
	uint8_t *wr;
	sf_count_t len, cap, pos;
};

static sf_count_t mem_len(void *u)
{
	return ((struct audio_mem *)u)->len;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *u)
{
	struct audio_mem *m = u;
	sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len;
	if ((off < 0 && -off > base) || (off > 0 && off > INT64_MAX - base))
		return -1;
	m->pos = base + off;
	return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *u)
{
	struct audio_mem *m = u;
	if (count <= 0 || m->pos >= m->len)
		return 0;
	sf_count_t n = m->len - m->pos < count ? m->len - m->pos : count;
	memcpy(ptr, (m->rd ? m->rd : m->wr) + m->pos, (size_t)n);
	m->pos += n;
	return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *u)
{
	struct audio_mem *m = u;
	if (!m->wr && m->rd)
		return 0;
	if (count <= 0)
		return 0;
	if (count > INT32_MAX || m->pos > INT32_MAX - count)
		return 0; /* a WAV file is below 4 GB anyway */
	sf_count_t end = m->pos + count;
	if (end > m->cap) {
		sf_count_t cap = m->cap ? m->cap : 4096;
		while (cap < end)
			cap *= 2;
		uint8_t *p = realloc(m->wr, (size_t)cap);
		if (!p)
			return 0;
		m->wr = p;
		m->cap = cap;
	}
	if (m->pos > m->len) /* a seek past the end: a hole of zeros */
		memset(m->wr + m->len, 0, (size_t)(m->pos - m->len));
	memcpy(m->wr + m->pos, ptr, (size_t)count);
	m->pos = end;
	if (end > m->len)
		m->len = end;
	return count;
}

static sf_count_t mem_tell(void *u)
{
	return ((struct audio_mem *)u)->pos;
}

static SF_VIRTUAL_IO mem_io = {mem_len, mem_seek, mem_read, mem_write, mem_tell};

/* The output, grown as decoding goes; never beyond `max` samples. */
struct audio_out {
	int16_t *s;
	size_t n, cap, max;
};

static bool out_room(struct audio_out *o, size_t more)
{
	if (more > o->max || o->n > o->max - more)
		return false;
	if (o->n + more <= o->cap)
		return true;
	size_t cap = o->cap ? o->cap : 8192;
	while (cap < o->n + more)
		cap *= 2;
	int16_t *p = realloc(o->s, cap * sizeof(*p));
	if (!p)
		return false;
	o->s = p;
	o->cap = cap;
	return true;
}

/* Mono samples into the output, through the resampler if there is one. */
static int out_put(struct audio_out *o, struct media_resampler *rs, const int16_t *mono, int n,
		   int in_rate, int rate)
{
	size_t room = rs ? (size_t)n * (size_t)rate / (size_t)in_rate + 64 : (size_t)n;
	if (!out_room(o, room))
		return -1;
	int k = n;
	if (rs)
		k = media_resample(rs, mono, n, o->s + o->n, (int)room);
	else
		memcpy(o->s + o->n, mono, (size_t)n * sizeof(*mono));
	if (k < 0)
		return -1;
	o->n += (size_t)k;
	return 0;
}

/* Reads the whole file, averaging channels; *frames counts what was read. */
static int audio_read(SNDFILE *sf, const SF_INFO *info, struct media_resampler *rs, int rate,
		      struct audio_out *o, sf_count_t *frames, const char **why)
{
	static const int16_t zeros[256];
	int16_t buf[AUDIO_CHUNK * AUDIO_MAX_CHANNELS], mono[AUDIO_CHUNK];
	sf_count_t got, limit = (sf_count_t)MEDIA_AUDIO_MAX_SECONDS * info->samplerate;
	*frames = 0;
	while ((got = sf_readf_short(sf, buf, AUDIO_CHUNK)) > 0) {
		if ((*frames += got) > limit) {
			*why = "longer than " MEDIA_AUDIO_MAX_TEXT " s";
			return -1;
		}
		for (sf_count_t i = 0; i < got; i++) {
			int sum = 0;
			for (int c = 0; c < info->channels; c++)
				sum += buf[i * info->channels + c];
			mono[i] = (int16_t)(sum / info->channels);
		}
		if (out_put(o, rs, mono, (int)got, info->samplerate, rate) < 0)
			goto nomem;
	}
	if (*frames == 0) {
		*why = "holds no audio";
		return -1;
	}
	if (!rs)
		return 0;
	/* the resampler's tail: zeros in until the output has its length */
	size_t want = (size_t)((double)*frames * rate / info->samplerate + 0.5);
	for (int i = 0; i < 64 && o->n < want; i++)
		if (out_put(o, rs, zeros, 256, info->samplerate, rate) < 0)
			goto nomem;
	if (o->n > want)
		o->n = want;
	if (o->n == 0) { /* less than a sample at the rate asked */
		*why = "holds no audio";
		return -1;
	}
	return 0;
nomem:
	*why = "out of memory";
	return -1;
}

/* Where libsndfile would read an Ogg stream from: "OggS" at the start or
 * after ID3v2 tags (as its guess_file_type and id3_skip do); -1 if not. */
static long audio_ogg_start(const uint8_t *data, size_t len)
{
	size_t off = 0;
	while (len - off >= 10 && memcmp(data + off, "ID3", 3) == 0 && data[off + 3] >= 2 &&
	       data[off + 3] <= 4) {
		size_t tag = 10 + ((size_t)(data[off + 6] & 0x7f) << 21 |
				   (size_t)(data[off + 7] & 0x7f) << 14 |
				   (size_t)(data[off + 8] & 0x7f) << 7 | (data[off + 9] & 0x7f));
		if (tag >= len - off)
			return -1;
		off += tag;
	}
	return len - off >= 4 && memcmp(data + off, "OggS", 4) == 0 ? (long)off : -1;
}

/* The first Ogg page's stream (found as libsndfile finds it, skipping what
 * comes before), when it is Vorbis: its three headers must be whole and
 * good, on the pages libsndfile expects (the identification header alone
 * on the first page, which begins the stream). Anything else is
 * libsndfile's to judge. */
static bool audio_vorbis_ok(const uint8_t *data, size_t len)
{
	long start = len > LONG_MAX ? -1 : audio_ogg_start(data, len);
	if (start < 0)
		return true;
	data += start;
	len -= (size_t)start;
	ogg_sync_state oy;
	ogg_stream_state os;
	ogg_page og;
	ogg_packet op;
	vorbis_info vi;
	vorbis_comment vc;
	bool ok = false, stream = false;
	ogg_sync_init(&oy);
	vorbis_info_init(&vi);
	vorbis_comment_init(&vc);
	char *buf = ogg_sync_buffer(&oy, (long)len);
	if (!buf)
		goto out;
	memcpy(buf, data, len);
	ogg_sync_wrote(&oy, (long)len);
	int r;
	while ((r = ogg_sync_pageout(&oy, &og)) != 1)
		if (r == 0) { /* no page: libsndfile refuses it before Vorbis */
			ok = true;
			goto out;
		} /* -1: bytes skipped before a page, as libsndfile does */
	ogg_stream_init(&os, ogg_page_serialno(&og));
	stream = true;
	if (ogg_stream_pagein(&os, &og) != 0 || ogg_stream_packetout(&os, &op) != 1)
		goto out;
	if (op.bytes < 7 || memcmp(op.packet, "\001vorbis", 7) != 0) {
		ok = true; /* not Vorbis */
		goto out;
	}
	if (!op.b_o_s || ogg_stream_packetpeek(&os, NULL) != 0 ||
	    vorbis_synthesis_headerin(&vi, &vc, &op) != 0)
		goto out;
	for (int i = 0; i < 2;) {
		int r = ogg_stream_packetout(&os, &op);
		if (r < 0)
			goto out;
		if (r == 1) {
			if (vorbis_synthesis_headerin(&vi, &vc, &op) != 0)
				goto out;
			i++;
			continue;
		}
		while ((r = ogg_sync_pageout(&oy, &og)) == -1)
			;
		if (r != 1)
			goto out;
		ogg_stream_pagein(&os, &og); /* another stream's page: skipped */
	}
	ok = true;
out:
	if (stream)
		ogg_stream_clear(&os);
	vorbis_comment_clear(&vc);
	vorbis_info_clear(&vi);
	ogg_sync_clear(&oy);
	return ok;
}

int media_audio_decode(const void *data, size_t len, int rate, struct media_pcm *out,
		       const char **why)
{
	const char *dummy;
	why = why ? why : &dummy;
	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (rate < 8000 || rate > 48000) {
		*why = "unsupported sampling rate";
		return -1;
	}
	if (!data || len == 0) {
		*why = "the file is empty";
		return -1;
	}
	if (len > INT64_MAX / 2) {
		*why = "the file is too large";
		return -1;
	}
	if (!audio_vorbis_ok(data, len)) {
		*why = "a damaged Ogg Vorbis file";
		return -1;
	}
	struct audio_mem m = {.rd = data, .len = (sf_count_t)len};
	SF_INFO info = {0};
	SNDFILE *sf = sf_open_virtual(&mem_io, SFM_READ, &info, &m);
	if (!sf) {
		*why = "not an audio file libsndfile reads";
		return -1;
	}
	struct media_resampler *rs = NULL;
	struct audio_out o = {.max = (size_t)MEDIA_AUDIO_MAX_SECONDS * (size_t)rate + 4096};
	sf_count_t frames = 0;
	int rc = -1;
	if (info.channels < 1 || info.channels > AUDIO_MAX_CHANNELS) {
		*why = "too many channels";
		goto out;
	}
	if (info.samplerate < 1000 || info.samplerate > 384000) {
		*why = "unsupported sampling rate in the file";
		goto out;
	}
	if (info.frames > 0 && info.frames != SF_COUNT_MAX &&
	    info.frames / info.samplerate >= MEDIA_AUDIO_MAX_SECONDS + 1) {
		*why = "longer than " MEDIA_AUDIO_MAX_TEXT " s";
		goto out;
	}
	sf_command(sf, SFC_SET_SCALE_FLOAT_INT_READ, NULL, SF_TRUE);
	if (info.samplerate != rate && !(rs = media_resampler_new(info.samplerate, rate))) {
		*why = "out of memory";
		goto out;
	}
	if (audio_read(sf, &info, rs, rate, &o, &frames, why) < 0)
		goto out;
	out->samples = o.s;
	out->n = o.n;
	out->rate = rate;
	o.s = NULL;
	rc = 0;
out:
	free(o.s);
	media_resampler_free(rs);
	sf_close(sf);
	return rc;
}

void media_pcm_free(struct media_pcm *p)
{
	if (!p)
		return;
	free(p->samples);
	p->samples = NULL;
	p->n = 0;
}

int media_audio_wav(const int16_t *pcm, size_t n, int rate, void **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (rate < 1000 || rate > 384000 || (n && !pcm) || n > (size_t)INT32_MAX / 2)
		return -1;
	struct audio_mem m = {0};
	SF_INFO info = {
		.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	SNDFILE *sf = sf_open_virtual(&mem_io, SFM_WRITE, &info, &m);
	if (!sf) {
		free(m.wr);
		return -1;
	}
	sf_count_t w = n ? sf_writef_short(sf, pcm, (sf_count_t)n) : 0;
	if (sf_close(sf) != 0 || w != (sf_count_t)n || !m.wr) {
		free(m.wr);
		return -1;
	}
	*out = m.wr;
	*len = (size_t)m.len;
	return 0;
}
