/* Signal helpers for the media tests: sines, noise, Goertzel power and SNR. */
#ifndef MEDIA_SIG_H
#define MEDIA_SIG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* amp in linear units (full scale 32767), phase continues at sample off */
static inline void sig_sine(int16_t *pcm, size_t n, double freq, int rate, double amp, size_t off)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(amp * sin(2 * M_PI * freq * (double)(i + off) / rate));
}

/* Goertzel: the power at freq, normalised to the block's total power (0-1). */
static inline double sig_goertzel_share(const int16_t *pcm, size_t n, double freq, int rate)
{
	double k = 2 * cos(2 * M_PI * freq / rate), s1 = 0, s2 = 0, total = 0;
	for (size_t i = 0; i < n; i++) {
		double s = pcm[i] + k * s1 - s2;
		s2 = s1;
		s1 = s;
		total += (double)pcm[i] * pcm[i];
	}
	double p = s1 * s1 + s2 * s2 - k * s1 * s2; /* |X(f)|^2 */
	/* a pure sine of amplitude A: |X|^2 = (A n / 2)^2, total = A^2 n / 2 */
	return total > 0 ? (p * 2 / n) / total : 0;
}

/* SNR in dB of y against reference x, y delayed by lag samples. */
static inline double sig_snr(const int16_t *x, const int16_t *y, size_t n, size_t lag)
{
	double sig = 0, err = 0;
	for (size_t i = 0; i + lag < n; i++) {
		double d = (double)y[i + lag] - x[i];
		sig += (double)x[i] * x[i];
		err += d * d;
	}
	return err > 0 ? 10 * log10(sig / err) : 200;
}

/* RMS level in dBFS, -100 for silence (independent of media_dsp's) */
static inline double sig_level_dbfs(const int16_t *pcm, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)pcm[i] * pcm[i];
	return e > 0 ? 10 * log10(e / n / (32768.0 * 32768.0)) : -100;
}

/* deterministic white noise, uniform in [-amp, amp] */
static inline void sig_noise(int16_t *pcm, size_t n, double amp, uint32_t *seed)
{
	for (size_t i = 0; i < n; i++) {
		*seed = *seed * 1103515245u + 12345u;
		double u = ((*seed >> 8) & 0xffff) / 32768.0 - 1.0;
		pcm[i] = (int16_t)lrint(amp * u);
	}
}

#endif
