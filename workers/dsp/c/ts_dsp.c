/*
 * ts_dsp.c - TinyStudio signal processing blocks for devices; see ts_dsp.h for the contract.
 *
 * float32 throughout (single-precision FPUs such as the Cortex-M4F's run it natively), no
 * allocation, no global state. The numpy blocks in workers/dsp compute the same features.
 */
#include "ts_dsp.h"

#include <math.h>

#define TS_PI 3.14159265358979323846f
/* log() of an exactly zero energy: float64's epsilon, as the numpy block uses. */
#define TS_ZERO_ENERGY 2.220446049250313e-16f
#define TS_LOG_FLOOR 1e-10f
#define TS_DB_FLOOR 1e-30f
#define TS_PCM_SCALE (1.0f / 32768.0f)
#define TS_MFE_PREEMPHASIS 0.98f
/* Variance below this share of the signal power is rounding noise (constant signal). */
#define TS_DEGENERATE_VARIANCE 1e-10f
/* Sums run in chunks of this many terms, then the chunk sums are added: it keeps float32
 * rounding error near (chunk + count / chunk) ulps instead of count ulps on long windows. */
#define TS_SUM_CHUNK 64u

/* ---------------------------------------------------------------- helpers */

static int fft_length_ok(uint32_t n)
{
    return n >= TS_DSP_MIN_FFT && n <= TS_DSP_MAX_FFT && (n & (n - 1u)) == 0u;
}

static size_t spectrum_bins(uint32_t n)
{
    return (size_t)n / 2u + 1u;
}

typedef struct {
    float mean, minimum, maximum, rms, stdev, skewness, kurtosis;
} stats_t;

/* Statistics of count values x[0], x[stride], ... each multiplied by scale (two passes). */
static void stats_of(const float *x, size_t count, size_t stride, float scale, stats_t *s)
{
    float sum = 0.0f, power = 0.0f, lo = x[0] * scale, hi = lo;
    size_t i = 0;
    while (i < count) {
        const size_t end = (count - i > TS_SUM_CHUNK) ? i + TS_SUM_CHUNK : count;
        float chunk_sum = 0.0f, chunk_power = 0.0f;
        for (; i < end; i++) {
            const float v = x[i * stride] * scale;
            chunk_sum += v;
            chunk_power += v * v;
            if (v < lo) {
                lo = v;
            }
            if (v > hi) {
                hi = v;
            }
        }
        sum += chunk_sum;
        power += chunk_power;
    }
    const float n = (float)count;
    /* Refine the float32 mean by the mean of the residuals (one more pass): with a large
     * offset (gravity on accZ) an unrefined mean skews the third and fourth moments. */
    float residual = 0.0f;
    i = 0;
    while (i < count) {
        const size_t end = (count - i > TS_SUM_CHUNK) ? i + TS_SUM_CHUNK : count;
        float chunk_residual = 0.0f;
        for (; i < end; i++) {
            chunk_residual += x[i * stride] * scale - sum / n;
        }
        residual += chunk_residual;
    }
    const float mean = sum / n + residual / n;
    float m2 = 0.0f, m3 = 0.0f, m4 = 0.0f;
    i = 0;
    while (i < count) {
        const size_t end = (count - i > TS_SUM_CHUNK) ? i + TS_SUM_CHUNK : count;
        float c2 = 0.0f, c3 = 0.0f, c4 = 0.0f;
        for (; i < end; i++) {
            const float d = x[i * stride] * scale - mean;
            const float d2 = d * d;
            c2 += d2;
            c3 += d2 * d;
            c4 += d2 * d2;
        }
        m2 += c2;
        m3 += c3;
        m4 += c4;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    power /= n;
    s->mean = mean;
    s->minimum = lo;
    s->maximum = hi;
    s->rms = sqrtf(power);
    s->stdev = sqrtf(m2);
    if (m2 <= TS_DEGENERATE_VARIANCE * power) {
        s->skewness = 0.0f;
        s->kurtosis = 0.0f;
    } else {
        s->skewness = m3 / (m2 * sqrtf(m2));
        s->kurtosis = m4 / (m2 * m2) - 3.0f;
    }
}

static float clip01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

static float normalised_db(float power, float noise_floor_db)
{
    const float db = 10.0f * log10f(power > TS_DB_FLOOR ? power : TS_DB_FLOOR);
    return clip01((db - noise_floor_db) / (12.0f - noise_floor_db));
}

/* ---------------------------------------------------------------- FFT */

void ts_dsp_fft_twiddles(uint32_t n, float *twiddles)
{
    const float step = 2.0f * TS_PI / (float)n;
    for (uint32_t t = 0; t < n / 2u; t++) {
        const float angle = step * (float)t;
        twiddles[2u * t] = cosf(angle);
        twiddles[2u * t + 1u] = sinf(angle);
    }
}

/* Real FFT of length n as a complex FFT of length n / 2 on the even/odd samples, then split. */
void ts_dsp_rfft_power(uint32_t n, float *z, const float *twiddles, float *power)
{
    const uint32_t h = n / 2u;
    const float inv_n = 1.0f / (float)n;

    for (uint32_t i = 1u, j = 0u; i < h; i++) {
        uint32_t bit = h >> 1;
        for (; j & bit; bit >>= 1) {
            j ^= bit;
        }
        j ^= bit;
        if (i < j) {
            const float re = z[2u * i], im = z[2u * i + 1u];
            z[2u * i] = z[2u * j];
            z[2u * i + 1u] = z[2u * j + 1u];
            z[2u * j] = re;
            z[2u * j + 1u] = im;
        }
    }
    for (uint32_t len = 2u; len <= h; len <<= 1) {
        const uint32_t half = len / 2u, step = n / len;
        for (uint32_t i = 0; i < h; i += len) {
            for (uint32_t k = 0; k < half; k++) {
                const float wr = twiddles[2u * k * step];
                const float wi = -twiddles[2u * k * step + 1u];
                float *a = &z[2u * (i + k)];
                float *b = &z[2u * (i + k + half)];
                const float tr = wr * b[0] - wi * b[1];
                const float ti = wr * b[1] + wi * b[0];
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
        }
    }
    {
        const float dc = z[0] + z[1], nyquist = z[0] - z[1];
        power[0] = dc * dc * inv_n;
        power[h] = nyquist * nyquist * inv_n;
    }
    for (uint32_t k = 1u; k < h; k++) {
        const float ar = z[2u * k], ai = z[2u * k + 1u];
        const float br = z[2u * (h - k)], bi = -z[2u * (h - k) + 1u]; /* conj(Z[h - k]) */
        const float er = 0.5f * (ar + br), ei = 0.5f * (ai + bi);     /* even samples' DFT */
        const float or_ = 0.5f * (ai - bi), oi = -0.5f * (ar - br);   /* odd samples' DFT */
        const float c = twiddles[2u * k], s = twiddles[2u * k + 1u];  /* W = c - i s */
        const float xr = er + c * or_ + s * oi;
        const float xi = ei + c * oi - s * or_;
        power[k] = (xr * xr + xi * xi) * inv_n;
    }
}

/* ---------------------------------------------------------------- raw */

size_t ts_dsp_raw_output_floats(const ts_dsp_raw_config_t *cfg)
{
    return (size_t)cfg->window_samples * cfg->axes;
}

size_t ts_dsp_raw_scratch_floats(const ts_dsp_raw_config_t *cfg)
{
    (void)cfg;
    return TS_DSP_RAW_SCRATCH_FLOATS;
}

int ts_dsp_raw(const ts_dsp_raw_config_t *cfg, const float *window, float *out, float *scratch)
{
    (void)scratch;
    const size_t count = ts_dsp_raw_output_floats(cfg);
    for (size_t i = 0; i < count; i++) {
        out[i] = window[i] * cfg->scale;
    }
    return TS_DSP_OK;
}

/* ---------------------------------------------------------------- flatten */

static size_t flatten_statistics(const ts_dsp_flatten_config_t *cfg)
{
    return (size_t)(cfg->average != 0) + (cfg->minimum != 0) + (cfg->maximum != 0) +
           (cfg->rms != 0) + (cfg->stdev != 0) + (cfg->skewness != 0) + (cfg->kurtosis != 0);
}

size_t ts_dsp_flatten_output_floats(const ts_dsp_flatten_config_t *cfg)
{
    return (size_t)cfg->axes * flatten_statistics(cfg);
}

size_t ts_dsp_flatten_scratch_floats(const ts_dsp_flatten_config_t *cfg)
{
    (void)cfg;
    return TS_DSP_FLATTEN_SCRATCH_FLOATS;
}

int ts_dsp_flatten(const ts_dsp_flatten_config_t *cfg, const float *window, float *out,
                   float *scratch)
{
    (void)scratch;
    if (cfg->window_samples == 0u || cfg->axes == 0u || flatten_statistics(cfg) == 0u) {
        return TS_DSP_ERR_CONFIG;
    }
    for (uint32_t a = 0; a < cfg->axes; a++) {
        stats_t s;
        stats_of(window + a, cfg->window_samples, cfg->axes, cfg->scale, &s);
        if (cfg->average) {
            *out++ = s.mean;
        }
        if (cfg->minimum) {
            *out++ = s.minimum;
        }
        if (cfg->maximum) {
            *out++ = s.maximum;
        }
        if (cfg->rms) {
            *out++ = s.rms;
        }
        if (cfg->stdev) {
            *out++ = s.stdev;
        }
        if (cfg->skewness) {
            *out++ = s.skewness;
        }
        if (cfg->kurtosis) {
            *out++ = s.kurtosis;
        }
    }
    return TS_DSP_OK;
}

/* ---------------------------------------------------------------- spectral analysis */

static size_t spectral_outputs(const ts_dsp_spectral_config_t *cfg)
{
    return cfg->band_count ? cfg->band_count : cfg->bin_count;
}

size_t ts_dsp_spectral_output_floats(const ts_dsp_spectral_config_t *cfg)
{
    return (size_t)cfg->axes * (3u + spectral_outputs(cfg));
}

size_t ts_dsp_spectral_scratch_floats(const ts_dsp_spectral_config_t *cfg)
{
    return TS_DSP_SPECTRAL_SCRATCH_FLOATS(cfg->window_samples, cfg->fft_length);
}

static int spectral_config_ok(const ts_dsp_spectral_config_t *cfg)
{
    const size_t bins = spectrum_bins(cfg->fft_length);
    if (cfg->window_samples == 0u || cfg->axes == 0u || !fft_length_ok(cfg->fft_length) ||
        cfg->hop == 0u || cfg->hop > cfg->fft_length || cfg->section_count > TS_DSP_MAX_SECTIONS ||
        cfg->band_count > TS_DSP_MAX_BANDS) {
        return 0;
    }
    if (cfg->band_count == 0u) {
        return cfg->bin_count > 0u && (size_t)cfg->first_bin + cfg->bin_count <= bins;
    }
    for (uint32_t k = 0; k < cfg->band_count; k++) {
        if (cfg->band_start[k] > cfg->band_end[k] || cfg->band_end[k] > bins) {
            return 0;
        }
    }
    return 1;
}

static float spectral_value(const ts_dsp_spectral_config_t *cfg, float power)
{
    if (!cfg->do_log) {
        return power;
    }
    return log10f(power > TS_LOG_FLOOR ? power : TS_LOG_FLOOR);
}

int ts_dsp_spectral(const ts_dsp_spectral_config_t *cfg, const float *window, float *out,
                    float *scratch)
{
    if (!spectral_config_ok(cfg)) {
        return TS_DSP_ERR_CONFIG;
    }
    const uint32_t samples = cfg->window_samples, n = cfg->fft_length;
    const size_t bins = spectrum_bins(n);
    float *x = scratch;
    float *frame = x + samples;
    float *twiddles = frame + n + 2u;
    float *power = twiddles + n;
    float *max_power = power + bins;

    ts_dsp_fft_twiddles(n, twiddles);
    for (uint32_t a = 0; a < cfg->axes; a++) {
        for (uint32_t t = 0; t < samples; t++) {
            x[t] = window[(size_t)t * cfg->axes + a] * cfg->scale;
        }
        for (uint32_t s = 0; s < cfg->section_count; s++) {
            const ts_dsp_biquad_t *q = &cfg->sections[s];
            float z1 = 0.0f, z2 = 0.0f;
            for (uint32_t t = 0; t < samples; t++) {
                const float xt = x[t];
                const float yt = q->b0 * xt + z1;
                z1 = q->b1 * xt - q->a1 * yt + z2;
                z2 = q->b2 * xt - q->a2 * yt;
                x[t] = yt;
            }
        }
        stats_t st;
        stats_of(x, samples, 1u, 1.0f, &st);
        for (uint32_t t = 0; t < samples; t++) {
            x[t] -= st.mean;
        }
        stats_of(x, samples, 1u, 1.0f, &st);
        *out++ = st.rms;
        *out++ = st.skewness;
        *out++ = st.kurtosis;

        for (size_t k = 0; k < bins; k++) {
            max_power[k] = 0.0f;
        }
        for (uint32_t start = 0; start < samples; start += cfg->hop) {
            const uint32_t len = (samples - start < n) ? samples - start : n;
            for (uint32_t t = 0; t < len; t++) {
                frame[t] = x[start + t];
            }
            for (uint32_t t = len; t < n; t++) {
                frame[t] = 0.0f;
            }
            ts_dsp_rfft_power(n, frame, twiddles, power);
            for (size_t k = 0; k < bins; k++) {
                if (power[k] > max_power[k]) {
                    max_power[k] = power[k];
                }
            }
        }
        if (cfg->band_count == 0u) {
            for (uint32_t k = 0; k < cfg->bin_count; k++) {
                *out++ = spectral_value(cfg, max_power[cfg->first_bin + k]);
            }
        } else {
            for (uint32_t k = 0; k < cfg->band_count; k++) {
                float sum = 0.0f;
                const uint32_t lo = cfg->band_start[k], hi = cfg->band_end[k];
                for (uint32_t b = lo; b < hi; b++) {
                    sum += max_power[b];
                }
                *out++ = spectral_value(cfg, hi > lo ? sum / (float)(hi - lo) : 0.0f);
            }
        }
    }
    return TS_DSP_OK;
}

/* ---------------------------------------------------------------- audio */

static int frames_ok(uint32_t window_samples, uint32_t axes, uint32_t frame_samples,
                     uint32_t frame_stride, uint32_t frame_count, uint32_t fft_length)
{
    return axes > 0u && frame_samples > 0u && frame_stride > 0u && frame_count > 0u &&
           fft_length_ok(fft_length) &&
           (size_t)(frame_count - 1u) * frame_stride + frame_samples <= window_samples;
}

static int mel_ok(const uint16_t *mel_bins, uint32_t num_filters, uint32_t fft_length)
{
    if (num_filters < 2u || num_filters > TS_DSP_MAX_FILTERS) {
        return 0;
    }
    for (uint32_t j = 0; j + 1u < num_filters + 2u; j++) {
        if (mel_bins[j] > mel_bins[j + 1u]) {
            return 0;
        }
    }
    return mel_bins[num_filters + 1u] <= spectrum_bins(fft_length);
}

/*
 * Loads frame f of one axis into `frame` (cropped or zero-padded to n), scaled by `scale` and
 * pre-emphasised with `pre_cof` (the sample before the window counts as 0).
 */
static void load_frame(const float *window, uint32_t axes, uint32_t start, uint32_t frame_samples,
                       uint32_t n, float scale, float pre_cof, float *frame)
{
    const uint32_t len = frame_samples < n ? frame_samples : n;
    for (uint32_t t = 0; t < len; t++) {
        const size_t i = (size_t)start + t;
        const float v = window[i * axes] * scale;
        const float previous = i > 0u ? window[(i - 1u) * axes] * scale : 0.0f;
        frame[t] = pre_cof != 0.0f ? v - pre_cof * previous : v;
    }
    for (uint32_t t = len; t < n; t++) {
        frame[t] = 0.0f;
    }
}

static void mel_energies(const uint16_t *mel_bins, uint32_t num_filters, const float *power,
                         float *energies)
{
    for (uint32_t j = 0; j < num_filters; j++) {
        const uint32_t left = mel_bins[j], mid = mel_bins[j + 1u], right = mel_bins[j + 2u];
        float e = 0.0f;
        for (uint32_t k = left; k < mid; k++) {
            e += power[k] * ((float)(k - left) / (float)(mid - left));
        }
        for (uint32_t k = mid; k < right; k++) {
            e += power[k] * ((float)(right - k) / (float)(right - mid));
        }
        energies[j] = e;
    }
}

static uint32_t reflect(int32_t j, uint32_t rows)
{
    const int32_t period = 2 * (int32_t)rows;
    int32_t m = j % period;
    if (m < 0) {
        m += period;
    }
    return (uint32_t)(m >= (int32_t)rows ? period - 1 - m : m);
}

/* Sliding mean and variance normalisation of a rows x cols matrix, in place. */
static void sliding_normalise(float *v, uint32_t rows, uint32_t cols, uint32_t win,
                              float *mean_subtracted)
{
    const int32_t pad = (int32_t)(win - 1u) / 2;
    const float inv_win = 1.0f / (float)win;
    for (uint32_t c = 0; c < cols; c++) {
        for (uint32_t i = 0; i < rows; i++) {
            float sum = 0.0f;
            for (int32_t j = (int32_t)i - pad; j <= (int32_t)i + pad; j++) {
                sum += v[(size_t)reflect(j, rows) * cols + c];
            }
            mean_subtracted[(size_t)i * cols + c] = v[(size_t)i * cols + c] - sum * inv_win;
        }
        for (uint32_t i = 0; i < rows; i++) {
            float sum = 0.0f;
            for (int32_t j = (int32_t)i - pad; j <= (int32_t)i + pad; j++) {
                sum += mean_subtracted[(size_t)reflect(j, rows) * cols + c];
            }
            const float mean = sum * inv_win;
            float squares = 0.0f;
            for (int32_t j = (int32_t)i - pad; j <= (int32_t)i + pad; j++) {
                const float d = mean_subtracted[(size_t)reflect(j, rows) * cols + c] - mean;
                squares += d * d;
            }
            v[(size_t)i * cols + c] =
                mean_subtracted[(size_t)i * cols + c] / (sqrtf(squares * inv_win) + 1e-10f);
        }
    }
}

size_t ts_dsp_mfcc_output_floats(const ts_dsp_mfcc_config_t *cfg)
{
    return (size_t)cfg->axes * cfg->frame_count * cfg->num_cepstral;
}

size_t ts_dsp_mfcc_scratch_floats(const ts_dsp_mfcc_config_t *cfg)
{
    return TS_DSP_MFCC_SCRATCH_FLOATS(cfg->fft_length, cfg->num_filters, cfg->num_cepstral,
                                      cfg->frame_count);
}

int ts_dsp_mfcc(const ts_dsp_mfcc_config_t *cfg, const float *window, float *out, float *scratch)
{
    const uint32_t n = cfg->fft_length, filters = cfg->num_filters, ceps = cfg->num_cepstral;
    if (!frames_ok(cfg->window_samples, cfg->axes, cfg->frame_samples, cfg->frame_stride,
                   cfg->frame_count, n) ||
        !mel_ok(cfg->mel_bins, filters, n) || ceps == 0u || ceps > filters ||
        (cfg->win_size != 0u && cfg->win_size % 2u == 0u)) {
        return TS_DSP_ERR_CONFIG;
    }
    const size_t bins = spectrum_bins(n);
    float *frame = scratch;
    float *twiddles = frame + n + 2u;
    float *power = twiddles + n;
    float *energies = power + bins;
    float *dct = energies + filters;
    float *mean_subtracted = dct + (size_t)ceps * filters;

    ts_dsp_fft_twiddles(n, twiddles);
    {
        const float first = sqrtf(1.0f / (float)filters), rest = sqrtf(2.0f / (float)filters);
        for (uint32_t k = 0; k < ceps; k++) {
            for (uint32_t m = 0; m < filters; m++) {
                const float angle = TS_PI * (float)k * (float)(2u * m + 1u) / (float)(2u * filters);
                dct[(size_t)k * filters + m] = (k == 0u ? first : rest) * cosf(angle);
            }
        }
    }
    for (uint32_t a = 0; a < cfg->axes; a++) {
        float *cepstra = out + (size_t)a * cfg->frame_count * ceps;
        for (uint32_t f = 0; f < cfg->frame_count; f++) {
            load_frame(window + a, cfg->axes, f * cfg->frame_stride, cfg->frame_samples, n, 1.0f,
                       cfg->pre_cof, frame);
            ts_dsp_rfft_power(n, frame, twiddles, power);
            float total = 0.0f;
            for (size_t k = 0; k < bins; k++) {
                total += power[k];
            }
            mel_energies(cfg->mel_bins, filters, power, energies);
            for (uint32_t m = 0; m < filters; m++) {
                energies[m] = logf(energies[m] == 0.0f ? TS_ZERO_ENERGY : energies[m]);
            }
            float *row = cepstra + (size_t)f * ceps;
            row[0] = logf(total == 0.0f ? TS_ZERO_ENERGY : total);
            for (uint32_t k = 1u; k < ceps; k++) {
                float c = 0.0f;
                for (uint32_t m = 0; m < filters; m++) {
                    c += dct[(size_t)k * filters + m] * energies[m];
                }
                row[k] = c;
            }
        }
        if (cfg->win_size != 0u) {
            sliding_normalise(cepstra, cfg->frame_count, ceps, cfg->win_size, mean_subtracted);
        }
    }
    return TS_DSP_OK;
}

size_t ts_dsp_mfe_output_floats(const ts_dsp_mfe_config_t *cfg)
{
    return (size_t)cfg->axes * cfg->frame_count * cfg->num_filters;
}

size_t ts_dsp_mfe_scratch_floats(const ts_dsp_mfe_config_t *cfg)
{
    return TS_DSP_MFE_SCRATCH_FLOATS(cfg->fft_length);
}

int ts_dsp_mfe(const ts_dsp_mfe_config_t *cfg, const float *window, float *out, float *scratch)
{
    const uint32_t n = cfg->fft_length, filters = cfg->num_filters;
    if (!frames_ok(cfg->window_samples, cfg->axes, cfg->frame_samples, cfg->frame_stride,
                   cfg->frame_count, n) ||
        !mel_ok(cfg->mel_bins, filters, n) || !(cfg->noise_floor_db < 12.0f)) {
        return TS_DSP_ERR_CONFIG;
    }
    float *frame = scratch;
    float *twiddles = frame + n + 2u;
    float *power = twiddles + n;

    ts_dsp_fft_twiddles(n, twiddles);
    for (uint32_t a = 0; a < cfg->axes; a++) {
        for (uint32_t f = 0; f < cfg->frame_count; f++) {
            float *row = out + ((size_t)a * cfg->frame_count + f) * filters;
            load_frame(window + a, cfg->axes, f * cfg->frame_stride, cfg->frame_samples, n,
                       TS_PCM_SCALE, TS_MFE_PREEMPHASIS, frame);
            ts_dsp_rfft_power(n, frame, twiddles, power);
            mel_energies(cfg->mel_bins, filters, power, row);
            for (uint32_t m = 0; m < filters; m++) {
                row[m] = normalised_db(row[m], cfg->noise_floor_db);
            }
        }
    }
    return TS_DSP_OK;
}

size_t ts_dsp_spectrogram_output_floats(const ts_dsp_spectrogram_config_t *cfg)
{
    return (size_t)cfg->axes * cfg->frame_count * spectrum_bins(cfg->fft_length);
}

size_t ts_dsp_spectrogram_scratch_floats(const ts_dsp_spectrogram_config_t *cfg)
{
    return TS_DSP_SPECTROGRAM_SCRATCH_FLOATS(cfg->fft_length);
}

int ts_dsp_spectrogram(const ts_dsp_spectrogram_config_t *cfg, const float *window, float *out,
                       float *scratch)
{
    const uint32_t n = cfg->fft_length;
    if (!frames_ok(cfg->window_samples, cfg->axes, cfg->frame_samples, cfg->frame_stride,
                   cfg->frame_count, n) ||
        !(cfg->noise_floor_db < 12.0f)) {
        return TS_DSP_ERR_CONFIG;
    }
    const size_t bins = spectrum_bins(n);
    float *frame = scratch;
    float *twiddles = frame + n + 2u;

    ts_dsp_fft_twiddles(n, twiddles);
    for (uint32_t a = 0; a < cfg->axes; a++) {
        for (uint32_t f = 0; f < cfg->frame_count; f++) {
            float *row = out + ((size_t)a * cfg->frame_count + f) * bins;
            load_frame(window + a, cfg->axes, f * cfg->frame_stride, cfg->frame_samples, n,
                       TS_PCM_SCALE, 0.0f, frame);
            ts_dsp_rfft_power(n, frame, twiddles, row);
            for (size_t k = 0; k < bins; k++) {
                row[k] = normalised_db(row[k], cfg->noise_floor_db);
            }
        }
    }
    return TS_DSP_OK;
}
