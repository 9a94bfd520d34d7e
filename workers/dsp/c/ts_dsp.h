/*
 * ts_dsp.h - TinyStudio signal processing blocks for devices (C99, float32, no allocation).
 *
 * The C twin of the numpy blocks in workers/dsp: raw, flatten, spectral analysis, MFCC, MFE and
 * spectrogram. A parity test feeds the same windows to both and checks the features agree.
 *
 * Conventions, for every block:
 *  - `window` is one window of `window_samples` x `axes` floats, time-major and interleaved
 *    (t0 axis0, t0 axis1, ..., t1 axis0, ...), exactly as sampled.
 *  - `out` receives ts_dsp_<block>_output_floats(cfg) floats, in the order the numpy block
 *    documents (flattened row-major).
 *  - `scratch` is caller-provided working memory of ts_dsp_<block>_scratch_floats(cfg) floats
 *    (the TS_DSP_<BLOCK>_SCRATCH_FLOATS macros give the same number at compile time); it may be
 *    shared between blocks that do not run at the same time. NULL is fine when the size is 0.
 *  - Functions return TS_DSP_OK (0) or TS_DSP_ERR_CONFIG (< 0) for a configuration they cannot
 *    run (e.g. an FFT length that is not a power of two); they never allocate.
 *  - Configurations are plain structs; workers/dsp/c_config.py writes their initialisers from
 *    the impulse's block parameters, so values derived on the server (filter coefficients, mel
 *    corners, kept FFT bins) are identical on both sides.
 *  - Agreement with numpy (tests/workers/dsp/test_dsp_c_parity.py, host and Cortex-M4F): raw is
 *    exact; every other feature is within 1e-4 relative, judged against 1 for values near 0
 *    (logs, moments, normalised features) and against the signal's scale for flatten's
 *    location statistics. numpy computes in float64; the difference is float32 rounding here.
 *  - Sources: this header and ts_dsp.c; they need only <stddef.h>, <stdint.h> and <math.h>
 *    (sqrtf, logf, log10f, cosf, sinf).
 */
#ifndef TS_DSP_H
#define TS_DSP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_DSP_OK 0
#define TS_DSP_ERR_CONFIG (-1)

#define TS_DSP_MAX_SECTIONS 4   /* biquads: Butterworth order up to 8 */
#define TS_DSP_MAX_BANDS 32     /* spectral power-edge bands */
#define TS_DSP_MAX_FILTERS 128  /* mel filters */
#define TS_DSP_MIN_FFT 8
#define TS_DSP_MAX_FFT 4096

/* Floats one real FFT of length n needs: the frame (n + 2) and a twiddle table (n). */
#define TS_DSP_FFT_SCRATCH_FLOATS(n) (2u * (size_t)(n) + 2u)

/* ---------------------------------------------------------------- raw */

/* out[i] = window[i] * scale. Output: window_samples * axes floats. Scratch: none. */
typedef struct {
    uint32_t window_samples;
    uint32_t axes;
    float scale;
} ts_dsp_raw_config_t;

#define TS_DSP_RAW_SCRATCH_FLOATS 0u
size_t ts_dsp_raw_output_floats(const ts_dsp_raw_config_t *cfg);
size_t ts_dsp_raw_scratch_floats(const ts_dsp_raw_config_t *cfg);
int ts_dsp_raw(const ts_dsp_raw_config_t *cfg, const float *window, float *out, float *scratch);

/* ---------------------------------------------------------------- flatten */

/*
 * Per axis (axis-major), for each statistic switched on (nonzero), in this order: average,
 * minimum, maximum, rms, stdev (population), skewness (biased), kurtosis (Fisher, biased);
 * skewness and kurtosis are 0 for a constant axis. Values are multiplied by `scale` first.
 * Output: axes * (statistics on) floats. Scratch: none.
 */
typedef struct {
    uint32_t window_samples;
    uint32_t axes;
    float scale;
    uint8_t average;
    uint8_t minimum;
    uint8_t maximum;
    uint8_t rms;
    uint8_t stdev;
    uint8_t skewness;
    uint8_t kurtosis;
} ts_dsp_flatten_config_t;

#define TS_DSP_FLATTEN_SCRATCH_FLOATS 0u
size_t ts_dsp_flatten_output_floats(const ts_dsp_flatten_config_t *cfg);
size_t ts_dsp_flatten_scratch_floats(const ts_dsp_flatten_config_t *cfg);
int ts_dsp_flatten(const ts_dsp_flatten_config_t *cfg, const float *window, float *out,
                   float *scratch);

/* ---------------------------------------------------------------- spectral analysis */

/* One second-order section, y = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2) x. */
typedef struct {
    float b0, b1, b2, a1, a2;
} ts_dsp_biquad_t;

/*
 * Per axis: x * scale; the biquad cascade (transposed direct form II, zero initial state);
 * minus its mean; then [rms, skewness, kurtosis] of that, then the max-hold power spectrum
 * (maximum over FFT frames of |FFT|^2 / fft_length; frames start every `hop` samples while inside
 * the window and are zero-padded past its end): with band_count == 0, bins first_bin ..
 * first_bin + bin_count - 1 one by one; otherwise one value per band, the mean over bins
 * [band_start[k], band_end[k]) (an empty band is 0). log10 of each value (clamped at 1e-10) if
 * do_log. Output: axes * (3 + outputs) floats, outputs = band_count ? band_count : bin_count.
 * Scratch: the filtered axis, an FFT frame and twiddles, one spectrum and the max-hold spectrum.
 */
typedef struct {
    uint32_t window_samples;
    uint32_t axes;
    float scale;
    uint32_t section_count; /* 0 = no filter */
    ts_dsp_biquad_t sections[TS_DSP_MAX_SECTIONS];
    uint32_t fft_length;    /* power of two, TS_DSP_MIN_FFT..TS_DSP_MAX_FFT */
    uint32_t hop;           /* fft_length / 2 with overlap, else fft_length */
    uint32_t first_bin;     /* per-bin output (band_count == 0) */
    uint32_t bin_count;
    uint32_t band_count;    /* power-edge bands, 0 for per-bin output */
    uint16_t band_start[TS_DSP_MAX_BANDS];
    uint16_t band_end[TS_DSP_MAX_BANDS];
    uint8_t do_log;
} ts_dsp_spectral_config_t;

#define TS_DSP_SPECTRAL_SCRATCH_FLOATS(window_samples, fft_length) \
    ((size_t)(window_samples) + TS_DSP_FFT_SCRATCH_FLOATS(fft_length) \
     + 2u * ((size_t)(fft_length) / 2u + 1u))
size_t ts_dsp_spectral_output_floats(const ts_dsp_spectral_config_t *cfg);
size_t ts_dsp_spectral_scratch_floats(const ts_dsp_spectral_config_t *cfg);
int ts_dsp_spectral(const ts_dsp_spectral_config_t *cfg, const float *window, float *out,
                    float *scratch);

/* ---------------------------------------------------------------- audio: framing and mel */

/*
 * Frames: frame_count frames of frame_samples samples starting every frame_stride samples;
 * each frame is cropped or zero-padded to fft_length and turned into |FFT|^2 / fft_length.
 * Mel filter j rises linearly from FFT bin mel_bins[j] (weight 0) to mel_bins[j + 1] (weight 1)
 * and falls to mel_bins[j + 2] (weight 0, exclusive).
 */

/*
 * MFCC, per axis: pre-emphasis y[t] = x[t] - pre_cof * x[t-1] (x[-1] = 0); per frame: mel
 * energies, natural log (0 -> 2.220446e-16), orthonormal DCT-II, first num_cepstral
 * coefficients with coefficient 0 replaced by log(total frame power); then, if win_size > 0,
 * sliding mean/variance normalisation over win_size frames (symmetric padding; divide by
 * std + 1e-10). Output: axes * frame_count * num_cepstral floats (frame-major per axis).
 */
typedef struct {
    uint32_t window_samples;
    uint32_t axes;
    uint32_t frame_samples;
    uint32_t frame_stride;
    uint32_t frame_count;
    uint32_t fft_length;
    uint32_t num_filters;
    uint32_t num_cepstral;
    uint32_t win_size;      /* odd, or 0 for no normalisation */
    float pre_cof;
    uint16_t mel_bins[TS_DSP_MAX_FILTERS + 2];
} ts_dsp_mfcc_config_t;

#define TS_DSP_MFCC_SCRATCH_FLOATS(fft_length, num_filters, num_cepstral, frame_count) \
    (TS_DSP_FFT_SCRATCH_FLOATS(fft_length) + (size_t)(fft_length) / 2u + 1u + (size_t)(num_filters) \
     + (size_t)(num_cepstral) * (size_t)(num_filters) + (size_t)(frame_count) * (size_t)(num_cepstral))
size_t ts_dsp_mfcc_output_floats(const ts_dsp_mfcc_config_t *cfg);
size_t ts_dsp_mfcc_scratch_floats(const ts_dsp_mfcc_config_t *cfg);
int ts_dsp_mfcc(const ts_dsp_mfcc_config_t *cfg, const float *window, float *out, float *scratch);

/*
 * MFE, per axis: x / 32768; pre-emphasis 0.98 (x[-1] = 0); per frame: mel energies,
 * 10 log10 (clamped at 1e-30), (dB - noise_floor_db) / (12 - noise_floor_db) clipped to [0, 1].
 * Output: axes * frame_count * num_filters floats.
 */
typedef struct {
    uint32_t window_samples;
    uint32_t axes;
    uint32_t frame_samples;
    uint32_t frame_stride;
    uint32_t frame_count;
    uint32_t fft_length;
    uint32_t num_filters;
    float noise_floor_db;
    uint16_t mel_bins[TS_DSP_MAX_FILTERS + 2];
} ts_dsp_mfe_config_t;

#define TS_DSP_MFE_SCRATCH_FLOATS(fft_length) \
    (TS_DSP_FFT_SCRATCH_FLOATS(fft_length) + (size_t)(fft_length) / 2u + 1u)
size_t ts_dsp_mfe_output_floats(const ts_dsp_mfe_config_t *cfg);
size_t ts_dsp_mfe_scratch_floats(const ts_dsp_mfe_config_t *cfg);
int ts_dsp_mfe(const ts_dsp_mfe_config_t *cfg, const float *window, float *out, float *scratch);

/*
 * Spectrogram, per axis: x / 32768; per frame: |FFT|^2 / fft_length for bins 0..fft_length/2,
 * 10 log10 (clamped at 1e-30), (dB - noise_floor_db) / (12 - noise_floor_db) clipped to [0, 1].
 * Output: axes * frame_count * (fft_length / 2 + 1) floats.
 */
typedef struct {
    uint32_t window_samples;
    uint32_t axes;
    uint32_t frame_samples;
    uint32_t frame_stride;
    uint32_t frame_count;
    uint32_t fft_length;
    float noise_floor_db;
} ts_dsp_spectrogram_config_t;

#define TS_DSP_SPECTROGRAM_SCRATCH_FLOATS(fft_length) TS_DSP_FFT_SCRATCH_FLOATS(fft_length)
size_t ts_dsp_spectrogram_output_floats(const ts_dsp_spectrogram_config_t *cfg);
size_t ts_dsp_spectrogram_scratch_floats(const ts_dsp_spectrogram_config_t *cfg);
int ts_dsp_spectrogram(const ts_dsp_spectrogram_config_t *cfg, const float *window, float *out,
                       float *scratch);

/* ---------------------------------------------------------------- building block */

/*
 * Power spectrum of a real signal: power[k] = |X[k]|^2 / n for k = 0..n/2, where X is the DFT of
 * frame[0..n-1]. `frame` holds n + 2 floats and is destroyed; `twiddles` holds n floats filled
 * by ts_dsp_fft_twiddles(n). n must be a power of two >= TS_DSP_MIN_FFT.
 */
void ts_dsp_fft_twiddles(uint32_t n, float *twiddles);
void ts_dsp_rfft_power(uint32_t n, float *frame, const float *twiddles, float *power);

#ifdef __cplusplus
}
#endif

#endif /* TS_DSP_H */
