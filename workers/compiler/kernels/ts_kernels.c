/* TinyStudio int8 kernels, bit-exact with TFLite's reference kernels (see ts_kernels.h). */
#include "ts_kernels.h"

#include <math.h>
#include <string.h>

/* The Cortex-M DSP extension paths are on unless a build turns them off with
 * -DTS_KERNELS_USE_DSP=0: they are taken only where the core has the extension (Cortex-M4/M7/
 * M33), so the studio's firmware, its libraries and a user's own build run the same code. */
#ifndef TS_KERNELS_USE_DSP
#define TS_KERNELS_USE_DSP 1
#endif

/* gemmlowp's SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating the one
 * overflowing case. */
static inline int32_t ts_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int32_t nudge;
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    /* C99 division truncates toward zero, as TFLite relies on. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded half away from zero. */
static inline int32_t ts_rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier with double rounding (the reference kernels), for
 * the non-negative multipliers the compiler emits: equal to
 * RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << left, m), right) in fewer steps,
 * since with m >= 0 the saturating case (both INT32_MIN) cannot occur and gemmlowp's
 * nudge-then-truncate equals (x * m + 2^30) >> 31 for both signs. */
static inline int32_t ts_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    if (shift >= 0) {
        /* Through unsigned so an overflowing shift wraps instead of being undefined. */
        const int64_t product = (int64_t)(int32_t)((uint32_t)x << shift) * multiplier;
        return (int32_t)((product + ((int64_t)1 << 30)) >> 31);
    }
    {
        /* Both roundings in one 64-bit sum: with h = (x * m + 2^30) >> 31 and e = -shift,
         * RoundingDivideByPOT(h, e) = (h + 2^(e-1) - (h < 0)) >> e, and since
         * floor((floor(a / 2^31) + k) / 2^e) = floor((a + k * 2^31) / 2^(31 + e)) this is
         * (x * m + 2^30 + k * 2^31) >> (31 + e) with k = 2^(e-1) - (h < 0). h < 0 is taken
         * as x < 0: they differ only where h = 0, and there both k give 0. The sum cannot
         * overflow, unlike h + k in 32 bits. */
        const int32_t e_minus_1 = ~shift;
        const int32_t k = (int32_t)(1u << e_minus_1) - (int32_t)((uint32_t)x >> 31);
#if defined(TS_KERNELS_USE_DSP) && TS_KERNELS_USE_DSP && defined(__ARM_FEATURE_DSP) && \
    defined(__GNUC__)
        /* The same sum on Cortex-M: k * 2^31 is (k & 1) << 31 in the low word and k >> 1 in
         * the high word, added with carry (GCC would build it in five instructions). */
        uint32_t lo = 1u << 30;
        int32_t hi = 0;
        __asm__("smlal %0, %1, %2, %3\n\t"
                "adds %0, %0, %4, lsl #31\n\t"
                "adc %1, %1, %4, asr #1"
                : "+&r"(lo), "+&r"(hi)
                : "r"(x), "r"(multiplier), "r"(k)
                : "cc");
        return hi >> e_minus_1;
#else
        const int64_t sum = (int64_t)x * multiplier + ((int64_t)1 << 30) +
                            (int64_t)k * ((int64_t)1 << 31);
        return (int32_t)(sum >> 32) >> e_minus_1;
#endif
    }
}

/* The single-rounding form: round(x * multiplier / 2^(31 - shift)) in 64 bits. LiteRT's
 * FULLY_CONNECTED runs through its GEMM backend (ruy) even with the reference op resolver,
 * and ruy rounds this way. */
static inline int32_t ts_mbqm_single(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)(((int64_t)x * (int64_t)multiplier + round) >> total_shift);
}

int32_t ts_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    return ts_mbqm(x, multiplier, shift);
}

static inline int8_t ts_clamp_s8(int32_t v, int32_t lo, int32_t hi)
{
    if (v < lo) {
        v = lo;
    }
    if (v > hi) {
        v = hi;
    }
    return (int8_t)v;
}

/* Cortex-M DSP extension (SXTB16, SMLAD: two 16-bit multiply-accumulates per instruction),
 * used when the core has it (unless TS_KERNELS_USE_DSP=0). Integer
 * arithmetic is exact either way, so both builds give the same outputs. */
#if defined(TS_KERNELS_USE_DSP) && TS_KERNELS_USE_DSP && defined(__ARM_FEATURE_DSP) && \
    defined(__GNUC__)
#define TS_DSP 1
static inline uint32_t ts_load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes 0 and 2, sign-extended to two halfwords. */
static inline uint32_t ts_sxtb16(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}

/* Bytes 1 and 3, sign-extended to two halfwords. */
static inline uint32_t ts_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline int32_t ts_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* Bytes 0 and 2 of x, sign-extended, added to the two halfwords of a. */
static inline uint32_t ts_sxtab16(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* Bytes 1 and 3 of x, sign-extended, added to the two halfwords of a. */
static inline uint32_t ts_sxtab16_ror8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* Volatile forms for unrolled loops: they keep each tap's widening next to its
 * multiply-accumulates, where GCC would otherwise hoist every tap's widening first and run out
 * of registers. */
static inline uint32_t ts_sxtb16_v(uint32_t x)
{
    uint32_t r;
    __asm__ volatile("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}

static inline uint32_t ts_sxtb16_ror8_v(uint32_t x)
{
    uint32_t r;
    __asm__ volatile("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* acc + low halfword of a * low halfword of b (both signed). */
static inline int32_t ts_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* acc + high halfword of a * high halfword of b (both signed). */
static inline int32_t ts_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
#define TS_DSP 0
#endif

static inline int32_t ts_sum_s8(const int8_t *a, int32_t n)
{
    int32_t sum = 0, i;
    for (i = 0; i < n; ++i) {
        sum += a[i];
    }
    return sum;
}

static inline int32_t ts_dot_s8(const int8_t *x, const int8_t *a, int32_t n, int32_t acc)
{
    int32_t i = 0;
#if TS_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = ts_load4(x + i);
        const uint32_t av = ts_load4(a + i);
        acc = ts_smlad(ts_sxtb16(xv), ts_sxtb16(av), acc);
        acc = ts_smlad(ts_sxtb16_ror8(xv), ts_sxtb16_ror8(av), acc);
    }
#endif
    for (; i + 4 <= n; i += 4) {
        acc += (int32_t)x[i] * a[i] + (int32_t)x[i + 1] * a[i + 1] +
               (int32_t)x[i + 2] * a[i + 2] + (int32_t)x[i + 3] * a[i + 3];
    }
    for (; i < n; ++i) {
        acc += (int32_t)x[i] * a[i];
    }
    return acc;
}

/* Four dot products over the same input run, one per filter (filters `stride` bytes apart). */
static inline void ts_dot4_s8(const int8_t *x, const int8_t *f, int32_t stride, int32_t n,
                              int32_t *acc)
{
    const int8_t *f0 = f;
    const int8_t *f1 = f0 + stride;
    const int8_t *f2 = f1 + stride;
    const int8_t *f3 = f2 + stride;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
#if TS_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = ts_load4(x + i);
        const uint32_t x02 = ts_sxtb16(xv);
        const uint32_t x13 = ts_sxtb16_ror8(xv);
        uint32_t w = ts_load4(f0 + i);
        a0 = ts_smlad(x02, ts_sxtb16(w), a0);
        a0 = ts_smlad(x13, ts_sxtb16_ror8(w), a0);
        w = ts_load4(f1 + i);
        a1 = ts_smlad(x02, ts_sxtb16(w), a1);
        a1 = ts_smlad(x13, ts_sxtb16_ror8(w), a1);
        w = ts_load4(f2 + i);
        a2 = ts_smlad(x02, ts_sxtb16(w), a2);
        a2 = ts_smlad(x13, ts_sxtb16_ror8(w), a2);
        w = ts_load4(f3 + i);
        a3 = ts_smlad(x02, ts_sxtb16(w), a3);
        a3 = ts_smlad(x13, ts_sxtb16_ror8(w), a3);
    }
#endif
    for (; i < n; ++i) {
        const int32_t x0 = x[i];
        a0 += x0 * f0[i];
        a1 += x0 * f1[i];
        a2 += x0 * f2[i];
        a3 += x0 * f3[i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Kept out of line so its loop gets the registers to itself. */
#if defined(__GNUC__)
#define TS_NOINLINE __attribute__((noinline))
#else
#define TS_NOINLINE
#endif

/* The requantized, clamped int8 value of one accumulator. */
static inline int8_t ts_output_s8(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset,
                                  int32_t act_min, int32_t act_max)
{
    return ts_clamp_s8(ts_mbqm(acc, multiplier, shift) + offset, act_min, act_max);
}

/* Blocks of four outputs against interleaved filters: for each 4-byte chunk of an input run a
 * block holds 16 weight bytes (filter 0's chunk, then filters 1, 2, 3), then the run's last
 * run % 4 bytes of filters 0, 1, 2 and 3. One pointer walks the weights and the four sums stay
 * in registers. The window is `rows` runs of `run` bytes, `row_step` apart. Returns the
 * weights pointer after the last block; fills `acc` with 4 * blocks sums (bias included). */
static TS_NOINLINE const int8_t *ts_blocks4_interleaved(const int8_t *px, int32_t row_step, int32_t rows,
                                            int32_t run, const int8_t *w,
                                            const int32_t *bias, int32_t blocks, int32_t *acc)
{
    const int32_t body = run & ~3;
    const int32_t tail = run & 3;
    int32_t b, r, i;
    for (b = 0; b < blocks; ++b) {
        int32_t a0 = bias[4 * b], a1 = bias[4 * b + 1];
        int32_t a2 = bias[4 * b + 2], a3 = bias[4 * b + 3];
        const int8_t *row = px;
        for (r = 0; r < rows; ++r, row += row_step) {
            const int8_t *x = row;
            const int8_t *end = row + body;
            while (x < end) {
#if TS_DSP
                const uint32_t xv = ts_load4(x);
                const uint32_t x02 = ts_sxtb16(xv);
                const uint32_t x13 = ts_sxtb16_ror8(xv);
                uint32_t wv = ts_load4(w);
                a0 = ts_smlad(x02, ts_sxtb16(wv), a0);
                a0 = ts_smlad(x13, ts_sxtb16_ror8(wv), a0);
                wv = ts_load4(w + 4);
                a1 = ts_smlad(x02, ts_sxtb16(wv), a1);
                a1 = ts_smlad(x13, ts_sxtb16_ror8(wv), a1);
                wv = ts_load4(w + 8);
                a2 = ts_smlad(x02, ts_sxtb16(wv), a2);
                a2 = ts_smlad(x13, ts_sxtb16_ror8(wv), a2);
                wv = ts_load4(w + 12);
                a3 = ts_smlad(x02, ts_sxtb16(wv), a3);
                a3 = ts_smlad(x13, ts_sxtb16_ror8(wv), a3);
#else
                const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
                a0 += x0 * w[0] + x1 * w[1] + x2 * w[2] + x3 * w[3];
                a1 += x0 * w[4] + x1 * w[5] + x2 * w[6] + x3 * w[7];
                a2 += x0 * w[8] + x1 * w[9] + x2 * w[10] + x3 * w[11];
                a3 += x0 * w[12] + x1 * w[13] + x2 * w[14] + x3 * w[15];
#endif
                x += 4;
                w += 16;
            }
            for (i = 0; i < tail; ++i) {
                const int32_t xi = x[i];
                a0 += xi * w[i];
                a1 += xi * w[tail + i];
                a2 += xi * w[2 * tail + i];
                a3 += xi * w[3 * tail + i];
            }
            w += 4 * tail;
        }
        acc[4 * b] = a0;
        acc[4 * b + 1] = a1;
        acc[4 * b + 2] = a2;
        acc[4 * b + 3] = a3;
    }
    return w;
}

/* Every output channel of one output pixel whose window is one contiguous run of `run` bytes
 * against interleaved filters (pointwise convolutions, gathered windows): blocks of four
 * outputs with their sums in registers and the requantization fused, one call per pixel.
 * Output channels beyond the last multiple of four are left to the caller. */
static TS_NOINLINE void ts_conv_pixel_run(const int8_t *px, int32_t run, const int8_t *w,
                                          const int32_t *bias_full, const int32_t *multiplier,
                                          const int32_t *shift, int32_t out_c,
                                          int32_t output_offset, int32_t act_min,
                                          int32_t act_max, int8_t *output)
{
    const int32_t body = run & ~3;
    const int32_t tail = run & 3;
    const int8_t *end = px + body;
    int32_t oc, i;
    for (oc = 0; oc + 4 <= out_c; oc += 4) {
        int32_t a0 = bias_full[oc], a1 = bias_full[oc + 1];
        int32_t a2 = bias_full[oc + 2], a3 = bias_full[oc + 3];
        const int8_t *x = px;
        while (x < end) {
#if TS_DSP
            const uint32_t xv = ts_load4(x);
            const uint32_t x02 = ts_sxtb16(xv);
            const uint32_t x13 = ts_sxtb16_ror8(xv);
            uint32_t wv = ts_load4(w);
            a0 = ts_smlad(x02, ts_sxtb16(wv), a0);
            a0 = ts_smlad(x13, ts_sxtb16_ror8(wv), a0);
            wv = ts_load4(w + 4);
            a1 = ts_smlad(x02, ts_sxtb16(wv), a1);
            a1 = ts_smlad(x13, ts_sxtb16_ror8(wv), a1);
            wv = ts_load4(w + 8);
            a2 = ts_smlad(x02, ts_sxtb16(wv), a2);
            a2 = ts_smlad(x13, ts_sxtb16_ror8(wv), a2);
            wv = ts_load4(w + 12);
            a3 = ts_smlad(x02, ts_sxtb16(wv), a3);
            a3 = ts_smlad(x13, ts_sxtb16_ror8(wv), a3);
#else
            const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
            a0 += x0 * w[0] + x1 * w[1] + x2 * w[2] + x3 * w[3];
            a1 += x0 * w[4] + x1 * w[5] + x2 * w[6] + x3 * w[7];
            a2 += x0 * w[8] + x1 * w[9] + x2 * w[10] + x3 * w[11];
            a3 += x0 * w[12] + x1 * w[13] + x2 * w[14] + x3 * w[15];
#endif
            x += 4;
            w += 16;
        }
        for (i = 0; i < tail; ++i) {
            const int32_t xi = x[i];
            a0 += xi * w[i];
            a1 += xi * w[tail + i];
            a2 += xi * w[2 * tail + i];
            a3 += xi * w[3 * tail + i];
        }
        w += 4 * tail;
        output[oc] =
            ts_output_s8(a0, multiplier[oc], shift[oc], output_offset, act_min, act_max);
        output[oc + 1] =
            ts_output_s8(a1, multiplier[oc + 1], shift[oc + 1], output_offset, act_min, act_max);
        output[oc + 2] =
            ts_output_s8(a2, multiplier[oc + 2], shift[oc + 2], output_offset, act_min, act_max);
        output[oc + 3] =
            ts_output_s8(a3, multiplier[oc + 3], shift[oc + 3], output_offset, act_min, act_max);
    }
}

#if TS_DSP
/* Every output channel of two output pixels whose windows are contiguous runs of `run` bytes
 * (pa, pb) against interleaved filters, as ts_conv_pixel_run. Both pixels' inputs are widened
 * to 16-bit pairs once, then each pass takes two filters against both pixels: every weight
 * word loaded and widened serves two pixels, every input word four multiply-accumulates. */
static TS_NOINLINE void ts_conv_pixel_pair(const int8_t *pa, const int8_t *pb, int32_t run,
                                           const int8_t *w, const int32_t *bias_full,
                                           const int32_t *multiplier, const int32_t *shift,
                                           int32_t out_c, int32_t output_offset,
                                           int32_t act_min, int32_t act_max, int8_t *out_a,
                                           int8_t *out_b)
{
    uint32_t wide[TS_CONV_PAIR_RUN];
    const int32_t chunks = run >> 2;
    const int32_t body = run & ~3;
    const int32_t tail = run & 3;
    int32_t oc, half, c, i;
    for (c = 0; c < chunks; ++c) {
        const uint32_t xa = ts_load4(pa + 4 * c);
        const uint32_t xb = ts_load4(pb + 4 * c);
        wide[4 * c] = ts_sxtb16(xa);
        wide[4 * c + 1] = ts_sxtb16_ror8(xa);
        wide[4 * c + 2] = ts_sxtb16(xb);
        wide[4 * c + 3] = ts_sxtb16_ror8(xb);
    }
    for (oc = 0; oc + 4 <= out_c; oc += 4) {
        for (half = 0; half < 4; half += 2) {
            const int32_t o = oc + half;
            int32_t a0 = bias_full[o], b0 = a0;
            int32_t a1 = bias_full[o + 1], b1 = a1;
            const uint32_t *x = wide;
            const uint32_t *x_end = wide + 4 * chunks;
            const int8_t *wp = w + 4 * half;
            while (x < x_end) {
                const uint32_t xa02 = x[0], xa13 = x[1], xb02 = x[2], xb13 = x[3];
                uint32_t wv = ts_load4(wp);
                uint32_t w02 = ts_sxtb16(wv), w13 = ts_sxtb16_ror8(wv);
                a0 = ts_smlad(xa02, w02, a0);
                a0 = ts_smlad(xa13, w13, a0);
                b0 = ts_smlad(xb02, w02, b0);
                b0 = ts_smlad(xb13, w13, b0);
                wv = ts_load4(wp + 4);
                w02 = ts_sxtb16(wv);
                w13 = ts_sxtb16_ror8(wv);
                a1 = ts_smlad(xa02, w02, a1);
                a1 = ts_smlad(xa13, w13, a1);
                b1 = ts_smlad(xb02, w02, b1);
                b1 = ts_smlad(xb13, w13, b1);
                x += 4;
                wp += 16;
            }
            /* The run's last run % 4 bytes: filter j's at w + 4 * body + j * tail. */
            for (i = 0; i < tail; ++i) {
                const int8_t *wt = w + 4 * body + i;
                const int32_t xa = pa[body + i], xb = pb[body + i];
                a0 += xa * wt[half * tail];
                b0 += xb * wt[half * tail];
                a1 += xa * wt[(half + 1) * tail];
                b1 += xb * wt[(half + 1) * tail];
            }
            out_a[o] = ts_output_s8(a0, multiplier[o], shift[o], output_offset, act_min, act_max);
            out_b[o] = ts_output_s8(b0, multiplier[o], shift[o], output_offset, act_min, act_max);
            out_a[o + 1] = ts_output_s8(a1, multiplier[o + 1], shift[o + 1], output_offset,
                                        act_min, act_max);
            out_b[o + 1] = ts_output_s8(b1, multiplier[o + 1], shift[o + 1], output_offset,
                                        act_min, act_max);
        }
        w += 4 * run;
    }
    /* The last out_c % 4 filters are stored plainly, one run each. */
    for (; oc < out_c; ++oc, w += run) {
        out_a[oc] = ts_output_s8(ts_dot_s8(pa, w, run, bias_full[oc]), multiplier[oc], shift[oc],
                                 output_offset, act_min, act_max);
        out_b[oc] = ts_output_s8(ts_dot_s8(pb, w, run, bias_full[oc]), multiplier[oc], shift[oc],
                                 output_offset, act_min, act_max);
    }
}
#endif

/* Every output channel of one output pixel whose window is `rows` runs of `run` contiguous
 * input bytes, `row_step` apart (the filter rows are contiguous): four channels at a time. */
static void ts_conv_pixel(const ts_conv_params *p, const int8_t *px, int32_t row_step,
                          int32_t rows, int32_t run, const int8_t *filter,
                          const int32_t *bias_full, const int32_t *multiplier,
                          const int32_t *shift, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t out_c = p->out_c;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t interleaved = p->interleaved;
    const int32_t stride = rows * run;
    int32_t oc = 0, r, i;
    if (interleaved && rows == 1) {
        ts_conv_pixel_run(px, run, filter, bias_full, multiplier, shift, out_c, output_offset,
                          act_min, act_max, output);
        oc = out_c & ~3;
    }
    for (; oc + 4 <= out_c; oc += 4) {
        const int8_t *f = filter + (size_t)oc * stride;
        const int8_t *x = px;
        int32_t acc[4];
        for (i = 0; i < 4; ++i) {
            acc[i] = bias_full[oc + i];
        }
        if (interleaved) {
            ts_blocks4_interleaved(x, row_step, rows, run, f, bias_full + oc, 1, acc);
        } else {
            for (r = 0; r < rows; ++r) {
                ts_dot4_s8(x, f, stride, run, acc);
                x += row_step;
                f += run;
            }
        }
        for (i = 0; i < 4; ++i) {
            const int32_t v = ts_mbqm(acc[i], multiplier[oc + i], shift[oc + i]) + output_offset;
            output[oc + i] = ts_clamp_s8(v, act_min, act_max);
        }
    }
    for (; oc < out_c; ++oc) {
        const int8_t *f = filter + (size_t)oc * stride;
        const int8_t *x = px;
        int32_t acc = bias_full[oc];
        for (r = 0; r < rows; ++r) {
            acc = ts_dot_s8(x, f, run, acc);
            x += row_step;
            f += run;
        }
        acc = ts_mbqm(acc, multiplier[oc], shift[oc]) + output_offset;
        output[oc] = ts_clamp_s8(acc, act_min, act_max);
    }
}

/* Copies the k_h x k_w window at (iy0, ix0) into `window` as one contiguous run, the zero
 * point where it leaves the image. */
static TS_NOINLINE void ts_gather_window(const int8_t *in_batch, int32_t iy0, int32_t ix0,
                                         int32_t k_h, int32_t k_w, int32_t dil_h, int32_t dil_w,
                                         int32_t in_h, int32_t in_w, int32_t in_c,
                                         int8_t zero_point, int8_t *window)
{
    const int32_t in_row = in_w * in_c;
    int32_t fy, fx, ic;
    if (dil_w == 1 && iy0 >= 0 && ix0 >= 0 && iy0 + (k_h - 1) * dil_h < in_h &&
        ix0 + k_w - 1 < in_w) {
        /* Inside the image (most windows): each filter row is one contiguous run, copied
         * without a bounds check per tap. */
        const int32_t run = k_w * in_c;
        const int8_t *src = in_batch + (size_t)iy0 * in_row + (size_t)ix0 * in_c;
        for (fy = 0; fy < k_h; ++fy, src += (size_t)dil_h * in_row) {
            for (ic = 0; ic < run; ++ic) {
                window[ic] = src[ic];
            }
            window += run;
        }
        return;
    }
    for (fy = 0; fy < k_h; ++fy) {
        const int32_t iy = iy0 + fy * dil_h;
        for (fx = 0; fx < k_w; ++fx) {
            const int32_t ix = ix0 + fx * dil_w;
            /* Windows are small (a few bytes per tap): plain loops beat library calls. */
            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                const int8_t *src = in_batch + (size_t)iy * in_row + (size_t)ix * in_c;
                for (ic = 0; ic < in_c; ++ic) {
                    window[ic] = src[ic];
                }
            } else {
                for (ic = 0; ic < in_c; ++ic) {
                    window[ic] = zero_point;
                }
            }
            window += in_c;
        }
    }
}

/* ts_conv2d_small_s8's requantization, ts_mbqm for a negative shift -e with its constants
 * from the channel record: the sum x * m + 2^30 + k * 2^31 with k = 2^(e-1) - (x < 0) is
 * x * m + R - (x < 0) * 2^31 with R = 2^30 + 2^(30+e) (head[2], head[3]), and its high word
 * shifted right by e - 1 (head[4]) is the result. */
static inline int32_t ts_small_requantize(int32_t acc, const int32_t *head)
{
#if TS_DSP
    uint32_t lo = (uint32_t)head[2];
    int32_t hi = head[3];
    __asm__("smlal %0, %1, %2, %3\n\t"
            "adds %0, %0, %4\n\t"
            "adc %1, %1, %2, asr #31"
            : "+&r"(lo), "+&r"(hi)
            : "r"(acc), "r"(head[1]), "r"((uint32_t)acc & 0x80000000u)
            : "cc");
    return hi >> head[4];
#else
    const int64_t sum = (int64_t)acc * head[1] +
                        (int64_t)(((uint64_t)(uint32_t)head[3] << 32) | (uint32_t)head[2]) -
                        (acc < 0 ? ((int64_t)1 << 31) : 0);
    return (int32_t)(sum >> 32) >> head[4];
#endif
}

/* Copies the window of a pixel whose rows of `run` <= 4 bytes lie inside the image, spelled
 * out per length: a copy loop here would become a memcpy call per row, which costs more than
 * the bytes. */
static inline void ts_small_copy(const int8_t *src, int32_t rows, int32_t run, int32_t row_step,
                                 int8_t *dst)
{
    int32_t r;
    for (r = 0; r < rows; ++r, src += row_step, dst += run) {
        switch (run) {
        case 4:
            dst[3] = src[3];
            /* fall through */
        case 3:
            dst[2] = src[2];
            /* fall through */
        case 2:
            dst[1] = src[1];
            /* fall through */
        default:
            dst[0] = src[0];
        }
    }
}

void ts_conv2d_small_s8(const ts_conv_params *p, const int8_t *input, const int32_t *records,
                        int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters. */
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
    const int32_t k_h = p->k_h, k_w = p->k_w;
    const int32_t stride_w = p->stride_w, pad_left = p->pad_left;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    const int32_t run = k_w * in_c;
    const int32_t row_step = p->dil_h * in_w * in_c;
    const int32_t *end = records + p->out_c * TS_SMALL_RECORD;
    /* Pixels whose window lies inside the image are copied directly; the others (and dilated
     * columns) take the general gather with its zero point. */
    const int32_t first_inside = (pad_left + stride_w - 1) / stride_w;
    const int32_t last_inside = (in_w - k_w + pad_left) / stride_w;
    /* Word-aligned and zero past the taps, whose weights are zero too. */
    union {
        int8_t bytes[TS_SMALL_WINDOW];
        uint32_t words[TS_SMALL_WINDOW / 4];
    } window;
    int32_t b, oy, ox;
    memset(&window, 0, sizeof window);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_w * in_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int rows_inside = p->dil_w == 1 && run <= 4 && iy0 >= 0 &&
                                    iy0 + (k_h - 1) * p->dil_h < in_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                const int32_t *q;
                if (rows_inside && ox >= first_inside && ox <= last_inside) {
                    ts_small_copy(in_batch + ((size_t)iy0 * in_w + (size_t)ix0) * in_c, k_h, run,
                                  row_step, window.bytes);
                } else {
                    ts_gather_window(in_batch, iy0, ix0, k_h, k_w, p->dil_h, p->dil_w, in_h,
                                     in_w, in_c, zero_point, window.bytes);
                }
                {
#if TS_DSP
                    /* The widened window stays in registers while the records stream past. */
                    const uint32_t a02 = ts_sxtb16(window.words[0]);
                    const uint32_t a13 = ts_sxtb16_ror8(window.words[0]);
                    const uint32_t b02 = ts_sxtb16(window.words[1]);
                    const uint32_t b13 = ts_sxtb16_ror8(window.words[1]);
                    const uint32_t c02 = ts_sxtb16(window.words[2]);
                    const uint32_t c13 = ts_sxtb16_ror8(window.words[2]);
                    for (q = records; q < end; q += TS_SMALL_RECORD) {
                        const int32_t *w = q + TS_SMALL_HEAD;
                        int32_t acc = ts_smlad(a02, (uint32_t)w[0], q[0]);
                        acc = ts_smlad(a13, (uint32_t)w[1], acc);
                        acc = ts_smlad(b02, (uint32_t)w[2], acc);
                        acc = ts_smlad(b13, (uint32_t)w[3], acc);
                        acc = ts_smlad(c02, (uint32_t)w[4], acc);
                        acc = ts_smlad(c13, (uint32_t)w[5], acc);
                        *output++ = ts_clamp_s8(ts_small_requantize(acc, q) + output_offset,
                                                act_min, act_max);
                    }
#else
                    for (q = records; q < end; q += TS_SMALL_RECORD) {
                        const int32_t *w = q + TS_SMALL_HEAD;
                        int32_t acc = q[0], c;
                        for (c = 0; c < TS_SMALL_WINDOW / 4; ++c) {
                            const int8_t *x = window.bytes + 4 * c;
                            const int32_t w02 = w[2 * c], w13 = w[2 * c + 1];
                            acc += x[0] * (int16_t)(w02 & 0xffff) + x[2] * (w02 >> 16);
                            acc += x[1] * (int16_t)(w13 & 0xffff) + x[3] * (w13 >> 16);
                        }
                        *output++ = ts_clamp_s8(ts_small_requantize(acc, q) + output_offset,
                                                act_min, act_max);
                    }
#endif
                }
            }
        }
    }
}

void ts_conv2d_s8(const ts_conv_params *p, const int8_t *input, const int8_t *filter,
                  const int32_t *bias_full, const int32_t *multiplier, const int32_t *shift,
                  int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t in_c = p->in_c;
    const int32_t out_c = p->out_c;
    const int32_t input_offset = p->input_offset;
    const int32_t batches = p->batches;
    const int32_t in_h = p->in_h;
    const int32_t in_w = p->in_w;
    const int32_t out_h = p->out_h;
    const int32_t out_w = p->out_w;
    const int32_t k_h = p->k_h;
    const int32_t k_w = p->k_w;
    const int32_t stride_h = p->stride_h;
    const int32_t stride_w = p->stride_w;
    const int32_t dil_h = p->dil_h;
    const int32_t dil_w = p->dil_w;
    const int32_t pad_top = p->pad_top;
    const int32_t pad_left = p->pad_left;
    const int32_t groups = p->groups;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t gather = p->gather;
    const int32_t filter_depth = in_c / groups;
    const int32_t filters_per_group = out_c / groups;
    const int32_t filter_ch_stride = k_h * k_w * filter_depth;
    const int32_t in_row = in_w * in_c;
    const int contiguous_rows = groups == 1 && dil_w == 1;
    /* The compiler gathers small windows with short rows (per-row dot products would cost
     * more than the copy); see ts_conv_params. */
    const int use_gather = gather && k_h * k_w * in_c <= TS_CONV_GATHER_BYTES;
    const int32_t run = k_w * in_c;
    const int32_t row_step = dil_h * in_row;
    int32_t b, oy, ox, oc, fy, fx, ic;
    for (b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_row;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_top;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                /* The whole window is inside when its first and last taps are. */
                const int inside = iy0 >= 0 && ix0 >= 0 &&
                                   iy0 + (k_h - 1) * dil_h < in_h &&
                                   ix0 + (k_w - 1) * dil_w < in_w;
                if (use_gather) {
                    /* Copy the window (zero point where it leaves the image: bias_full already
                     * holds input_offset * f for every tap) into one contiguous run, then one
                     * dot product per output channel pair. */
                    int8_t window[TS_CONV_GATHER_BYTES];
#if TS_DSP
                    /* Two neighbouring windows at once when the pair path takes them. */
                    if (p->interleaved && filter_ch_stride <= TS_CONV_PAIR_RUN &&
                        ox + 1 < out_w) {
                        int8_t window_b[TS_CONV_GATHER_BYTES];
                        ts_gather_window(in_batch, iy0, ix0, k_h, k_w, dil_h, dil_w, in_h, in_w,
                                         in_c, (int8_t)(-input_offset), window);
                        ts_gather_window(in_batch, iy0, ix0 + stride_w, k_h, k_w, dil_h, dil_w,
                                         in_h, in_w, in_c, (int8_t)(-input_offset), window_b);
                        ts_conv_pixel_pair(window, window_b, filter_ch_stride, filter,
                                           bias_full, multiplier, shift, out_c, output_offset,
                                           act_min, act_max, output, output + out_c);
                        output += 2 * out_c;
                        ++ox;
                        continue;
                    }
#endif
                    ts_gather_window(in_batch, iy0, ix0, k_h, k_w, dil_h, dil_w, in_h, in_w, in_c,
                                     (int8_t)(-input_offset), window);
                    ts_conv_pixel(p, window, 0, 1, filter_ch_stride, filter, bias_full,
                                  multiplier, shift, output);
                    output += out_c;
                    continue;
                }
#if TS_DSP
                /* Single-row windows (pointwise convolutions): two neighbouring pixels per
                 * call when both windows are inside. */
                if (inside && contiguous_rows && k_h == 1 && p->interleaved &&
                    run <= TS_CONV_PAIR_RUN && ox + 1 < out_w &&
                    ix0 + stride_w + (k_w - 1) < in_w) {
                    const int8_t *pa = in_batch + (size_t)iy0 * in_row + (size_t)ix0 * in_c;
                    ts_conv_pixel_pair(pa, pa + (size_t)stride_w * in_c, run, filter, bias_full,
                                       multiplier, shift, out_c, output_offset, act_min,
                                       act_max, output, output + out_c);
                    output += 2 * out_c;
                    ++ox;
                    continue;
                }
#endif
                if (inside && contiguous_rows) {
                    /* Each filter row meets k_w * in_c contiguous input bytes. */
                    ts_conv_pixel(p, in_batch + (size_t)iy0 * in_row + (size_t)ix0 * in_c,
                                  row_step, k_h, run, filter, bias_full, multiplier, shift,
                                  output);
                    output += out_c;
                    continue;
                }
                if (contiguous_rows) {
                    /* Window partly outside: clip the columns once, then per filter row one
                     * dot product over the inside run; the outside taps read the zero point,
                     * which bias_full counted as input_offset * f, so take that back out. */
                    const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                    const int32_t fx1 = k_w < in_w - ix0 ? k_w : in_w - ix0;
                    const int32_t lead = fx0 * in_c;
                    const int32_t inside_run = fx1 > fx0 ? (fx1 - fx0) * in_c : 0;
                    const int32_t tail = run - lead - inside_run;
                    for (oc = 0; oc < out_c; ++oc) {
                        const int8_t *f = filter + (size_t)oc * filter_ch_stride;
                        int32_t acc = bias_full[oc];
                        int32_t outside = 0;
                        for (fy = 0; fy < k_h; ++fy, f += run) {
                            const int32_t iy = iy0 + fy * dil_h;
                            if (iy < 0 || iy >= in_h || inside_run == 0) {
                                outside += ts_sum_s8(f, run);
                                continue;
                            }
                            acc = ts_dot_s8(in_batch + (size_t)iy * in_row +
                                                (size_t)(ix0 + fx0) * in_c,
                                            f + lead, inside_run, acc);
                            outside += ts_sum_s8(f, lead) + ts_sum_s8(f + lead + inside_run, tail);
                        }
                        acc -= outside * input_offset;
                        acc = ts_mbqm(acc, multiplier[oc], shift[oc]) + output_offset;
                        *output++ = ts_clamp_s8(acc, act_min, act_max);
                    }
                    continue;
                }
                for (oc = 0; oc < out_c; ++oc) {
                    const int8_t *f = filter + (size_t)oc * filter_ch_stride;
                    const int32_t group_base = (oc / filters_per_group) * filter_depth;
                    int32_t acc;
                    if (inside) {
                        acc = bias_full[oc];
                        for (fy = 0; fy < k_h; ++fy) {
                            const int8_t *row = in_batch + (size_t)(iy0 + fy * dil_h) * in_row;
                            for (fx = 0; fx < k_w; ++fx) {
                                const int8_t *px =
                                    row + (size_t)(ix0 + fx * dil_w) * in_c + group_base;
                                const int8_t *fp = f + (fy * k_w + fx) * filter_depth;
                                for (ic = 0; ic < filter_depth; ++ic) {
                                    acc += (int32_t)fp[ic] * (int32_t)px[ic];
                                }
                            }
                        }
                    } else {
                        /* Taps outside the image read the zero point: bias_full counted them
                         * as input_offset * f, so take that back out. */
                        acc = bias_full[oc];
                        for (fy = 0; fy < k_h; ++fy) {
                            const int32_t iy = iy0 + fy * dil_h;
                            const int row_inside = iy >= 0 && iy < in_h;
                            for (fx = 0; fx < k_w; ++fx) {
                                const int32_t ix = ix0 + fx * dil_w;
                                const int8_t *fp = f + (fy * k_w + fx) * filter_depth;
                                if (row_inside && ix >= 0 && ix < in_w) {
                                    const int8_t *px = in_batch + (size_t)iy * in_row +
                                                       (size_t)ix * in_c + group_base;
                                    for (ic = 0; ic < filter_depth; ++ic) {
                                        acc += (int32_t)fp[ic] * (int32_t)px[ic];
                                    }
                                } else {
                                    for (ic = 0; ic < filter_depth; ++ic) {
                                        acc -= (int32_t)fp[ic] * input_offset;
                                    }
                                }
                            }
                        }
                    }
                    acc = ts_mbqm(acc, multiplier[oc], shift[oc]) + output_offset;
                    *output++ = ts_clamp_s8(acc, act_min, act_max);
                }
            }
        }
    }
}

/* Accumulates four neighbouring channels over the window [fy0, fy1) x [fx0, fx1): input and
 * filter bytes of the four channels are contiguous at every tap. `row_step` and `tap_step`
 * step the input, `filter_row` and `filter_step` (out_c) the filter. */
static inline void ts_dw_block4(const int8_t *px0, const int8_t *fp0, int32_t fy0, int32_t fy1,
                                int32_t fx0, int32_t fx1, int32_t offset, int32_t row_step,
                                int32_t tap_step, int32_t filter_row, int32_t filter_step,
                                int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t fy, fx;
    for (fy = fy0; fy < fy1; ++fy) {
        const int8_t *px = px0 + (ptrdiff_t)fy * row_step + (ptrdiff_t)fx0 * tap_step;
        const int8_t *fp = fp0 + (ptrdiff_t)fy * filter_row + (ptrdiff_t)fx0 * filter_step;
        for (fx = fx0; fx < fx1; ++fx) {
            a0 += (int32_t)fp[0] * ((int32_t)px[0] + offset);
            a1 += (int32_t)fp[1] * ((int32_t)px[1] + offset);
            a2 += (int32_t)fp[2] * ((int32_t)px[2] + offset);
            a3 += (int32_t)fp[3] * ((int32_t)px[3] + offset);
            px += tap_step;
            fp += filter_step;
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One output pixel of a depthwise convolution (depth multiplier 1) whose window lies wholly
 * inside: four channels at a time, every sum in a register. Channels beyond the last multiple
 * of four are left to the caller. */
static TS_NOINLINE void ts_dw_pixel_inside(const int8_t *origin, const int8_t *filter,
                                           const int32_t *bias_full, const int32_t *multiplier,
                                           const int32_t *shift, int32_t channels, int32_t k_h,
                                           int32_t k_w, int32_t row_skip, int32_t tap_step,
                                           int32_t output_offset, int32_t act_min,
                                           int32_t act_max, int8_t *output)
{
    int32_t c, fy, fx;
    for (c = 0; c + 4 <= channels; c += 4) {
        const int8_t *x = origin + c;
        const int8_t *f = filter + c;
        int32_t a0 = bias_full[c], a1 = bias_full[c + 1];
        int32_t a2 = bias_full[c + 2], a3 = bias_full[c + 3];
        for (fy = 0; fy < k_h; ++fy, x += row_skip) {
            for (fx = 0; fx < k_w; ++fx, x += tap_step, f += channels) {
#if TS_DSP
                const uint32_t xv = ts_load4(x);
                const uint32_t fv = ts_load4(f);
                const uint32_t x02 = ts_sxtb16(xv), f02 = ts_sxtb16(fv);
                const uint32_t x13 = ts_sxtb16_ror8(xv), f13 = ts_sxtb16_ror8(fv);
                a0 = ts_smlabb(x02, f02, a0);
                a2 = ts_smlatt(x02, f02, a2);
                a1 = ts_smlabb(x13, f13, a1);
                a3 = ts_smlatt(x13, f13, a3);
#else
                a0 += (int32_t)x[0] * f[0];
                a1 += (int32_t)x[1] * f[1];
                a2 += (int32_t)x[2] * f[2];
                a3 += (int32_t)x[3] * f[3];
#endif
            }
        }
        output[c] = ts_output_s8(a0, multiplier[c], shift[c], output_offset, act_min, act_max);
        output[c + 1] =
            ts_output_s8(a1, multiplier[c + 1], shift[c + 1], output_offset, act_min, act_max);
        output[c + 2] =
            ts_output_s8(a2, multiplier[c + 2], shift[c + 2], output_offset, act_min, act_max);
        output[c + 3] =
            ts_output_s8(a3, multiplier[c + 3], shift[c + 3], output_offset, act_min, act_max);
    }
}

/* One tap of four neighbouring channels: input and filter bytes of the four channels are
 * contiguous. */
#if TS_DSP
#define TS_DW_TAP4(xp, fp)                                                                \
    do {                                                                                  \
        const uint32_t xv_ = ts_load4(xp);                                                \
        const uint32_t fv_ = ts_load4(fp);                                                \
        const uint32_t x02_ = ts_sxtb16_v(xv_), f02_ = ts_sxtb16_v(fv_);                  \
        const uint32_t x13_ = ts_sxtb16_ror8_v(xv_), f13_ = ts_sxtb16_ror8_v(fv_);        \
        a0 = ts_smlabb(x02_, f02_, a0);                                                   \
        a2 = ts_smlatt(x02_, f02_, a2);                                                   \
        a1 = ts_smlabb(x13_, f13_, a1);                                                   \
        a3 = ts_smlatt(x13_, f13_, a3);                                                   \
    } while (0)
#else
#define TS_DW_TAP4(xp, fp)                                                                \
    do {                                                                                  \
        const int8_t *xq_ = (xp);                                                         \
        const int8_t *fq_ = (fp);                                                         \
        a0 += (int32_t)xq_[0] * fq_[0];                                                   \
        a1 += (int32_t)xq_[1] * fq_[1];                                                   \
        a2 += (int32_t)xq_[2] * fq_[2];                                                   \
        a3 += (int32_t)xq_[3] * fq_[3];                                                   \
    } while (0)
#endif

/* ts_dw_pixel_inside for a 3x3 window, the taps unrolled (DS-CNN and MobileNet's case). */
static TS_NOINLINE void ts_dw3x3_pixel_inside(const int8_t *origin, const int8_t *filter,
                                              const int32_t *bias_full,
                                              const int32_t *multiplier, const int32_t *shift,
                                              int32_t channels, int32_t row_step,
                                              int32_t tap_step, int32_t output_offset,
                                              int32_t act_min, int32_t act_max, int8_t *output)
{
    const int32_t tap2 = 2 * tap_step;
    const int32_t ch2 = 2 * channels;
    int32_t c;
    for (c = 0; c + 4 <= channels; c += 4) {
        const int8_t *x = origin + c;
        const int8_t *f = filter + c;
        int32_t a0 = bias_full[c], a1 = bias_full[c + 1];
        int32_t a2 = bias_full[c + 2], a3 = bias_full[c + 3];
        TS_DW_TAP4(x, f);
        TS_DW_TAP4(x + tap_step, f + channels);
        TS_DW_TAP4(x + tap2, f + ch2);
        x += row_step;
        f += 3 * channels;
        TS_DW_TAP4(x, f);
        TS_DW_TAP4(x + tap_step, f + channels);
        TS_DW_TAP4(x + tap2, f + ch2);
        x += row_step;
        f += 3 * channels;
        TS_DW_TAP4(x, f);
        TS_DW_TAP4(x + tap_step, f + channels);
        TS_DW_TAP4(x + tap2, f + ch2);
        output[c] = ts_output_s8(a0, multiplier[c], shift[c], output_offset, act_min, act_max);
        output[c + 1] =
            ts_output_s8(a1, multiplier[c + 1], shift[c + 1], output_offset, act_min, act_max);
        output[c + 2] =
            ts_output_s8(a2, multiplier[c + 2], shift[c + 2], output_offset, act_min, act_max);
        output[c + 3] =
            ts_output_s8(a3, multiplier[c + 3], shift[c + 3], output_offset, act_min, act_max);
    }
}

/* Most taps of a window cut by the border that ts_dw_pixel_taps takes. */
#define TS_DW_MAX_TAPS 32

/* One output pixel of a depthwise convolution (depth multiplier 1) whose window is cut by the
 * border: only the `taps` inside taps count (input at origin + x_off[t], filter at
 * filter + f_off[t]), each input with its input_offset added, on top of `bias`. Four channels
 * at a time; channels beyond the last multiple of four are left to the caller. */
static TS_NOINLINE void ts_dw_pixel_taps(const int8_t *origin, const int8_t *filter,
                                         const int32_t *x_off, const int32_t *f_off,
                                         int32_t taps, const int32_t *bias,
                                         const int32_t *multiplier, const int32_t *shift,
                                         int32_t channels, int32_t input_offset,
                                         int32_t output_offset, int32_t act_min,
                                         int32_t act_max, int8_t *output)
{
    int32_t c, t;
#if TS_DSP
    /* input_offset in both halfwords: SXTAB16 adds it while widening. x + offset lies in
     * [-255, 255], so the 16-bit products stay exact. */
    const uint32_t offset2 = ((uint32_t)input_offset & 0xffffu) * 0x10001u;
#endif
    for (c = 0; c + 4 <= channels; c += 4) {
        const int8_t *x = origin + c;
        const int8_t *f = filter + c;
        int32_t a0 = bias[c], a1 = bias[c + 1];
        int32_t a2 = bias[c + 2], a3 = bias[c + 3];
        for (t = 0; t < taps; ++t) {
#if TS_DSP
            const uint32_t xv = ts_load4(x + x_off[t]);
            const uint32_t fv = ts_load4(f + f_off[t]);
            const uint32_t x02 = ts_sxtab16(offset2, xv), f02 = ts_sxtb16(fv);
            const uint32_t x13 = ts_sxtab16_ror8(offset2, xv), f13 = ts_sxtb16_ror8(fv);
            a0 = ts_smlabb(x02, f02, a0);
            a2 = ts_smlatt(x02, f02, a2);
            a1 = ts_smlabb(x13, f13, a1);
            a3 = ts_smlatt(x13, f13, a3);
#else
            const int8_t *xp = x + x_off[t];
            const int8_t *fp = f + f_off[t];
            a0 += (int32_t)fp[0] * ((int32_t)xp[0] + input_offset);
            a1 += (int32_t)fp[1] * ((int32_t)xp[1] + input_offset);
            a2 += (int32_t)fp[2] * ((int32_t)xp[2] + input_offset);
            a3 += (int32_t)fp[3] * ((int32_t)xp[3] + input_offset);
#endif
        }
        output[c] = ts_output_s8(a0, multiplier[c], shift[c], output_offset, act_min, act_max);
        output[c + 1] =
            ts_output_s8(a1, multiplier[c + 1], shift[c + 1], output_offset, act_min, act_max);
        output[c + 2] =
            ts_output_s8(a2, multiplier[c + 2], shift[c + 2], output_offset, act_min, act_max);
        output[c + 3] =
            ts_output_s8(a3, multiplier[c + 3], shift[c + 3], output_offset, act_min, act_max);
    }
}

/* First tap index at or after `origin + k * dilation >= 0`, and the end below `size`. */
static inline void ts_clip_taps(int32_t origin, int32_t taps, int32_t dilation, int32_t size,
                                int32_t *first, int32_t *end)
{
    int32_t lo = 0, hi = taps;
    if (origin < 0) {
        lo = (-origin + dilation - 1) / dilation;
    }
    if (origin + (taps - 1) * dilation >= size) {
        hi = size - origin <= 0 ? 0 : (size - origin + dilation - 1) / dilation;
    }
    if (hi < lo) {
        hi = lo;
    }
    *first = lo;
    *end = hi;
}

void ts_depthwise_conv2d_s8(const ts_conv_params *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, const int32_t *bias_full,
                            const int32_t *multiplier, const int32_t *shift, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t in_c = p->in_c;
    const int32_t out_c = p->out_c;
    const int32_t batches = p->batches;
    const int32_t in_h = p->in_h;
    const int32_t in_w = p->in_w;
    const int32_t out_h = p->out_h;
    const int32_t out_w = p->out_w;
    const int32_t k_h = p->k_h;
    const int32_t k_w = p->k_w;
    const int32_t stride_h = p->stride_h;
    const int32_t stride_w = p->stride_w;
    const int32_t dil_h = p->dil_h;
    const int32_t dil_w = p->dil_w;
    const int32_t pad_top = p->pad_top;
    const int32_t pad_left = p->pad_left;
    const int32_t depth_multiplier = p->depth_multiplier;
    const int32_t input_offset = p->input_offset;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t dm = depth_multiplier;
    const int32_t in_row = in_w * in_c;
    const int32_t tap_step = dil_w * in_c;
    int32_t b, oy, ox, ic, m, fy, fx, i;
    for (b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_row;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_top;
            int32_t fy0, fy1;
            ts_clip_taps(iy0, k_h, dil_h, in_h, &fy0, &fy1);
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                const int8_t *origin = in_batch + (ptrdiff_t)iy0 * in_row +
                                       (ptrdiff_t)ix0 * in_c;
                int32_t fx0, fx1, full;
                ts_clip_taps(ix0, k_w, dil_w, in_w, &fx0, &fx1);
                /* Inside, bias_full already holds input_offset * f for every tap; at the
                 * border only the taps inside count, each with its input_offset. */
                full = fy0 == 0 && fy1 == k_h && fx0 == 0 && fx1 == k_w;
                ic = 0;
                if (dm == 1 && full && k_h == 3 && k_w == 3) {
                    ts_dw3x3_pixel_inside(origin, filter, bias_full, multiplier, shift, in_c,
                                          dil_h * in_row, tap_step, output_offset, act_min,
                                          act_max, output);
                    ic = in_c & ~3;
                } else if (dm == 1 && !full && (fy1 - fy0) * (fx1 - fx0) <= TS_DW_MAX_TAPS) {
                    int32_t x_off[TS_DW_MAX_TAPS], f_off[TS_DW_MAX_TAPS];
                    int32_t taps = 0;
                    for (fy = fy0; fy < fy1; ++fy) {
                        for (fx = fx0; fx < fx1; ++fx) {
                            x_off[taps] = fy * dil_h * in_row + fx * tap_step;
                            f_off[taps] = (fy * k_w + fx) * out_c;
                            ++taps;
                        }
                    }
                    ts_dw_pixel_taps(origin, filter, x_off, f_off, taps, bias, multiplier, shift,
                                     in_c, input_offset, output_offset, act_min, act_max,
                                     output);
                    ic = in_c & ~3;
                } else if (dm == 1 && full) {
                    ts_dw_pixel_inside(origin, filter, bias_full, multiplier, shift, in_c, k_h,
                                       k_w, dil_h * in_row - k_w * tap_step, tap_step,
                                       output_offset, act_min, act_max, output);
                    ic = in_c & ~3;
                } else if (dm == 1) {
                    for (; ic + 4 <= in_c; ic += 4) {
                        int32_t acc[4];
                        if (full) {
                            for (i = 0; i < 4; ++i) {
                                acc[i] = bias_full[ic + i];
                            }
                            ts_dw_block4(origin + ic, filter + ic, 0, k_h, 0, k_w, 0,
                                         dil_h * in_row, tap_step, k_w * out_c, out_c, acc);
                        } else {
                            for (i = 0; i < 4; ++i) {
                                acc[i] = bias[ic + i];
                            }
                            ts_dw_block4(origin + ic, filter + ic, fy0, fy1, fx0, fx1,
                                         input_offset, dil_h * in_row, tap_step, k_w * out_c,
                                         out_c, acc);
                        }
                        for (i = 0; i < 4; ++i) {
                            const int32_t v = ts_mbqm(acc[i], multiplier[ic + i], shift[ic + i]) +
                                              output_offset;
                            output[ic + i] = ts_clamp_s8(v, act_min, act_max);
                        }
                    }
                }
                for (; ic < in_c; ++ic) {
                    for (m = 0; m < dm; ++m) {
                        const int32_t oc = ic * dm + m;
                        const int32_t offset = full ? 0 : input_offset;
                        int32_t acc = full ? bias_full[oc] : bias[oc];
                        for (fy = fy0; fy < fy1; ++fy) {
                            const int8_t *px = origin + ic + (size_t)fy * dil_h * in_row;
                            const int8_t *fp = filter + (size_t)fy * k_w * out_c + oc;
                            for (fx = fx0; fx < fx1; ++fx) {
                                acc += (int32_t)fp[(size_t)fx * out_c] *
                                       ((int32_t)px[(size_t)fx * tap_step] + offset);
                            }
                        }
                        acc = ts_mbqm(acc, multiplier[oc], shift[oc]) + output_offset;
                        output[oc] = ts_clamp_s8(acc, act_min, act_max);
                    }
                }
                output += out_c;
            }
        }
    }
}

void ts_fully_connected_s8(const ts_fc_params *p, const int8_t *input, const int8_t *filter,
                           const int32_t *bias_full, const int32_t *multiplier,
                           const int32_t *shift, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t batches = p->batches;
    const int32_t accum_depth = p->accum_depth;
    const int32_t out_depth = p->out_depth;
    const int32_t filter_offset = p->filter_offset;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t per_channel = p->per_channel;
    const int32_t interleaved = p->interleaved;
    const int32_t depth = accum_depth;
    int32_t b, o, d;
    for (b = 0; b < batches; ++b) {
        const int8_t *in = input + (size_t)b * depth;
        o = 0;
        if (filter_offset == 0) {
            for (; o + 4 <= out_depth; o += 4) {
                int32_t acc[4];
                int32_t i;
                for (i = 0; i < 4; ++i) {
                    acc[i] = bias_full[o + i];
                }
                if (interleaved) {
                    ts_blocks4_interleaved(in, 0, 1, depth, filter + (size_t)o * depth,
                                           bias_full + o, 1, acc);
                } else {
                    ts_dot4_s8(in, filter + (size_t)o * depth, depth, depth, acc);
                }
                for (i = 0; i < 4; ++i) {
                    const int32_t k = per_channel ? o + i : 0;
                    const int32_t v = ts_mbqm_single(acc[i], multiplier[k], shift[k]) +
                                      output_offset;
                    output[i] = ts_clamp_s8(v, act_min, act_max);
                }
                output += 4;
            }
        }
        for (; o < out_depth; ++o) {
            const int8_t *f = filter + (size_t)o * depth;
            const int32_t idx = per_channel ? o : 0;
            int32_t acc = bias_full[o];
            if (filter_offset == 0) {
                for (d = 0; d < depth; ++d) {
                    acc += (int32_t)f[d] * (int32_t)in[d];
                }
            } else {
                /* bias_full already holds input_offset * (filter + filter_offset) sums. */
                for (d = 0; d < depth; ++d) {
                    acc += ((int32_t)f[d] + filter_offset) * (int32_t)in[d];
                }
            }
            acc = ts_mbqm_single(acc, multiplier[idx], shift[idx]) + output_offset;
            *output++ = ts_clamp_s8(acc, act_min, act_max);
        }
    }
}

void ts_average_pool_s8(const ts_pool_params *p, const int8_t *input, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t batches = p->batches;
    const int32_t in_h = p->in_h;
    const int32_t in_w = p->in_w;
    const int32_t out_h = p->out_h;
    const int32_t out_w = p->out_w;
    const int32_t k_h = p->k_h;
    const int32_t k_w = p->k_w;
    const int32_t stride_h = p->stride_h;
    const int32_t stride_w = p->stride_w;
    const int32_t pad_top = p->pad_top;
    const int32_t pad_left = p->pad_left;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t channels = p->channels;
    const int32_t ch = channels;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_w * ch;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_top;
            const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
            const int32_t fy1 = k_h < in_h - iy0 ? k_h : in_h - iy0;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t fx1 = k_w < in_w - ix0 ? k_w : in_w - ix0;
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                for (c = 0; c < ch; ++c) {
                    int32_t acc = 0;
                    for (fy = fy0; fy < fy1; ++fy) {
                        const int8_t *row =
                            in_batch + ((size_t)(iy0 + fy) * in_w + (size_t)ix0) * ch + c;
                        for (fx = fx0; fx < fx1; ++fx) {
                            acc += row[fx * ch];
                        }
                    }
                    if (count > 0) {
                        /* Round half away from zero, as TFLite's reference does. */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    *output++ = ts_clamp_s8(acc, act_min, act_max);
                }
            }
        }
    }
}

#if TS_DSP
/* The larger of each of the four signed bytes of a and b: SSUB8 sets a GE flag per byte where
 * a >= b, SEL takes those bytes from a and the others from b (one asm: nothing else may touch
 * the GE flags in between). */
static inline uint32_t ts_max4_s8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

/* The smaller of each of the four signed bytes of a and b. */
static inline uint32_t ts_min4_s8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

/* A signed byte in all four lanes of a word. */
static inline uint32_t ts_splat4(int32_t v)
{
    return (uint32_t)(uint8_t)(int8_t)v * 0x01010101u;
}
#endif

void ts_max_pool_s8(const ts_pool_params *p, const int8_t *input, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t batches = p->batches;
    const int32_t in_h = p->in_h;
    const int32_t in_w = p->in_w;
    const int32_t out_h = p->out_h;
    const int32_t out_w = p->out_w;
    const int32_t k_h = p->k_h;
    const int32_t k_w = p->k_w;
    const int32_t stride_h = p->stride_h;
    const int32_t stride_w = p->stride_w;
    const int32_t pad_top = p->pad_top;
    const int32_t pad_left = p->pad_left;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t ch = p->channels;
    const int32_t in_row = in_w * ch;
    int32_t b, oy, ox, c, fy, fx, i;
    for (b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_row;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_top;
            const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
            const int32_t fy1 = k_h < in_h - iy0 ? k_h : in_h - iy0;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t fx1 = k_w < in_w - ix0 ? k_w : in_w - ix0;
                /* The window's first tap inside the image; taps step by ch, rows by in_row.
                 * Channels are innermost (contiguous), in groups whose maxima are written
                 * once all of the group's taps are read. */
                const int8_t *origin =
                    in_batch + (size_t)(iy0 + fy0) * in_row + (size_t)(ix0 + fx0) * ch;
                c = 0;
#if TS_DSP
                {
                    const uint32_t lo = ts_splat4(act_min), hi = ts_splat4(act_max);
                    if (fy1 - fy0 == 2 && fx1 - fx0 == 2) {
                        /* 2x2 windows, the usual pooling: four taps, no loops. */
                        const int8_t *r0 = origin, *r1 = origin + in_row;
                        for (; c + 4 <= ch; c += 4) {
                            uint32_t best = ts_max4_s8(
                                ts_max4_s8(ts_load4(r0 + c), ts_load4(r0 + ch + c)),
                                ts_max4_s8(ts_load4(r1 + c), ts_load4(r1 + ch + c)));
                            best = ts_min4_s8(ts_max4_s8(best, lo), hi);
                            memcpy(output + c, &best, sizeof best);
                        }
                    }
                    for (; c + 4 <= ch; c += 4) {
                        uint32_t best = 0x80808080u; /* -128 in every lane */
                        const int8_t *row = origin + c;
                        for (fy = fy0; fy < fy1; ++fy, row += in_row) {
                            const int8_t *tap = row;
                            for (fx = fx0; fx < fx1; ++fx, tap += ch) {
                                best = ts_max4_s8(best, ts_load4(tap));
                            }
                        }
                        best = ts_min4_s8(ts_max4_s8(best, lo), hi);
                        memcpy(output + c, &best, sizeof best);
                    }
                }
#endif
                while (c < ch) {
                    const int32_t n = ch - c < TS_POOL_CHUNK ? ch - c : TS_POOL_CHUNK;
                    int8_t best[TS_POOL_CHUNK];
                    const int8_t *row = origin + c;
                    for (i = 0; i < n; ++i) {
                        best[i] = -128;
                    }
                    for (fy = fy0; fy < fy1; ++fy, row += in_row) {
                        const int8_t *tap = row;
                        for (fx = fx0; fx < fx1; ++fx, tap += ch) {
                            for (i = 0; i < n; ++i) {
                                if (tap[i] > best[i]) {
                                    best[i] = tap[i];
                                }
                            }
                        }
                    }
                    for (i = 0; i < n; ++i) {
                        output[c + i] = ts_clamp_s8(best[i], act_min, act_max);
                    }
                    c += n;
                }
                output += ch;
            }
        }
    }
}

/* One output of a binary op, unclamped; `op` is a constant where this is inlined. */
static inline __attribute__((always_inline)) int32_t
ts_binary_one(const ts_binary_params *p, const int32_t op, int32_t a, int32_t b)
{
    if (op == TS_BINARY_MAX) {
        return a > b ? a : b;
    }
    if (op == TS_BINARY_MIN) {
        return a < b ? a : b;
    }
    if (op == TS_BINARY_PRELU) {
        const int32_t x = p->input1_offset + a;
        if (x >= 0) {
            return ts_mbqm(x, p->input1_multiplier, p->input1_shift) + p->output_offset;
        }
        return ts_mbqm(x * (p->input2_offset + b), p->output_multiplier, p->output_shift) +
               p->output_offset;
    }
    if (op == TS_BINARY_MUL) {
        return ts_mbqm((p->input1_offset + a) * (p->input2_offset + b), p->output_multiplier,
                       p->output_shift) +
               p->output_offset;
    }
    {
        const int32_t x1 = (int32_t)((uint32_t)(p->input1_offset + a) << p->left_shift);
        const int32_t x2 = (int32_t)((uint32_t)(p->input2_offset + b) << p->left_shift);
        const int32_t s1 = ts_mbqm(x1, p->input1_multiplier, p->input1_shift);
        /* SUB is ADD with the second multiplier negated; both roundings are symmetric about
         * zero, so that is the first scaled input minus the second. */
        const int32_t s2 = ts_mbqm(x2, p->input2_multiplier, p->input2_shift);
        return ts_mbqm(op == TS_BINARY_SUB ? s1 - s2 : s1 + s2, p->output_multiplier,
                       p->output_shift) +
               p->output_offset;
    }
}

static inline __attribute__((always_inline)) void
ts_binary_loop(const ts_binary_params *p, const int32_t op, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    int32_t i;
    if (p->rank == 0) {
        for (i = 0; i < p->size; ++i) {
            output[i] = ts_clamp_s8(ts_binary_one(p, op, input1[i], input2[i]), p->act_min,
                                    p->act_max);
        }
        return;
    }
    {
        /* Odometer over the output index with per-input strides (0 where broadcast). */
        int32_t idx[6] = {0, 0, 0, 0, 0, 0};
        int32_t off1 = 0, off2 = 0, d;
        for (i = 0; i < p->size; ++i) {
            output[i] = ts_clamp_s8(ts_binary_one(p, op, input1[off1], input2[off2]),
                                    p->act_min, p->act_max);
            for (d = p->rank - 1; d >= 0; --d) {
                idx[d]++;
                off1 += p->in1_strides[d];
                off2 += p->in2_strides[d];
                if (idx[d] < p->out_dims[d]) {
                    break;
                }
                off1 -= p->in1_strides[d] * p->out_dims[d];
                off2 -= p->in2_strides[d] * p->out_dims[d];
                idx[d] = 0;
            }
        }
    }
}

void ts_binary_s8(const ts_binary_params *p, const int8_t *input1, const int8_t *input2,
                  int8_t *output)
{
    /* One loop per op, each with its arithmetic inlined. */
    switch (p->op) {
    case TS_BINARY_SUB:
        ts_binary_loop(p, TS_BINARY_SUB, input1, input2, output);
        return;
    case TS_BINARY_MUL:
        ts_binary_loop(p, TS_BINARY_MUL, input1, input2, output);
        return;
    case TS_BINARY_MAX:
        ts_binary_loop(p, TS_BINARY_MAX, input1, input2, output);
        return;
    case TS_BINARY_MIN:
        ts_binary_loop(p, TS_BINARY_MIN, input1, input2, output);
        return;
    case TS_BINARY_PRELU:
        ts_binary_loop(p, TS_BINARY_PRELU, input1, input2, output);
        return;
    default:
        ts_binary_loop(p, TS_BINARY_ADD, input1, input2, output);
        return;
    }
}

/* gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent: a saturating x * 2^e. */
static inline int32_t ts_sat_left_shift(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out (gemmlowp's Taylor expansion around -1/8). */
static int32_t ts_exp_quarter_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;    /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883; /* 1/3 */
    const int32_t x = a + (1 << 28);
    const int32_t x2 = ts_srdhm(x, x);
    const int32_t x3 = ts_srdhm(x2, x);
    const int32_t x4 = ts_srdhm(x2, x2);
    const int32_t x4_over_4 = ts_rdbpot(x4, 2);
    const int32_t poly = ts_rdbpot(ts_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + ts_srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26, result in Q0.31 (gemmlowp's exp_on_negative_values). */
static int32_t ts_exp_on_negative_values(int32_t a)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535,   720401,     242};
    const int32_t one_quarter = 1 << 24;
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    int32_t result = ts_exp_quarter_interval(ts_sat_left_shift(a_mod_quarter_minus_one_quarter, 5));
    int32_t k;
    /* Barrel shifter: multiply by exp(-2^k / 4) for each set bit of the remainder. */
    for (k = 0; k < 7; ++k) {
        if (remainder & (1 << (24 + k))) {
            result = ts_srdhm(result, multipliers[k]);
        }
    }
    if (a == 0) {
        result = INT32_MAX;
    }
    return result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out (gemmlowp's Newton-Raphson division). */
static int32_t ts_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    int32_t x = constant_48_over_17 + ts_srdhm(half_denominator, constant_neg_32_over_17);
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = ts_srdhm(half_denominator, x);
        const int32_t one_minus = (1 << 29) - half_denominator_times_x;
        x = x + ts_sat_left_shift(ts_srdhm(x, one_minus), 2);
    }
    return ts_sat_left_shift(x, 1);
}

static int32_t ts_count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

void ts_softmax_s8(int32_t outer, int32_t depth, int32_t input_multiplier,
                   int32_t input_left_shift, int32_t diff_min, const int8_t *input,
                   int8_t *output)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0; /* Q12.19 */
        int32_t headroom_plus_one, num_bits_over_unit, shifted_scale, exponent;
        for (c = 0; c < depth; ++c) {
            if (input[c] > max_in_row) {
                max_in_row = input[c];
            }
        }
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)input[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = ts_srdhm((int32_t)((uint32_t)diff << input_left_shift),
                                                input_multiplier);
                sum_of_exps += ts_rdbpot(ts_exp_on_negative_values(scaled), 12);
            }
        }
        headroom_plus_one = ts_count_leading_zeros((uint32_t)sum_of_exps);
        num_bits_over_unit = 12 - headroom_plus_one;
        shifted_scale = ts_one_over_one_plus_x(
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31)));
        exponent = num_bits_over_unit + 31 - 8;
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)input[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = ts_srdhm((int32_t)((uint32_t)diff << input_left_shift),
                                                input_multiplier);
                const int32_t exp_in_0 = ts_exp_on_negative_values(scaled);
                const int32_t unsat = ts_rdbpot(ts_srdhm(shifted_scale, exp_in_0), exponent);
                output[c] = ts_clamp_s8(unsat - 128, -128, 127);
            } else {
                output[c] = -128;
            }
        }
        input += depth;
        output += depth;
    }
}

void ts_lookup_s8(int32_t size, const int8_t *table, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = table[(uint8_t)input[i]];
    }
}

void ts_relu_s8(int32_t size, int32_t input_zero_point, int32_t output_zero_point,
                int32_t multiplier, int32_t shift, int32_t act_min, int32_t act_max,
                const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v = output_zero_point +
                          ts_mbqm((int32_t)input[i] - input_zero_point, multiplier, shift);
        output[i] = ts_clamp_s8(v, act_min, act_max);
    }
}

void ts_quantize_f32_s8(int32_t size, float scale, int32_t zero_point, const float *input,
                        int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v = (int32_t)roundf(input[i] / scale) + zero_point;
        output[i] = ts_clamp_s8(v, -128, 127);
    }
}

void ts_requantize_s8(int32_t size, int32_t input_zero_point, int32_t output_zero_point,
                      int32_t multiplier, int32_t shift, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v =
            ts_mbqm((int32_t)input[i] - input_zero_point, multiplier, shift) + output_zero_point;
        output[i] = ts_clamp_s8(v, -128, 127);
    }
}

void ts_dequantize_s8_f32(int32_t size, double scale, int32_t zero_point, const int8_t *input,
                          float *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = (float)(scale * (double)((int32_t)input[i] - zero_point));
    }
}

void ts_pad(const ts_pad_params *p, const void *input, void *output, const void *pad_value)
{
    const int32_t eb = p->elem_bytes;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t total = p->out_dims[0] * p->out_dims[1] * p->out_dims[2] * p->out_dims[3];
    const int32_t row_bytes = p->in_dims[3] * eb;
    int32_t i, a, b, c;
    /* Fill with the pad value, then copy the input rows (innermost dim) into place. */
    for (i = 0; i < total; ++i) {
        memcpy(out + (size_t)i * eb, pad_value, (size_t)eb);
    }
    for (a = 0; a < p->in_dims[0]; ++a) {
        for (b = 0; b < p->in_dims[1]; ++b) {
            for (c = 0; c < p->in_dims[2]; ++c) {
                const size_t o = ((((size_t)(a + p->before[0]) * p->out_dims[1] +
                                    (size_t)(b + p->before[1])) * p->out_dims[2] +
                                   (size_t)(c + p->before[2])) * p->out_dims[3] +
                                  (size_t)p->before[3]) * (size_t)eb;
                memcpy(out + o, in, (size_t)row_bytes);
                in += row_bytes;
            }
        }
    }
}

void ts_transpose_s8(const ts_transpose_params *p, const int8_t *input, int8_t *output)
{
    /* Odometer over the output index; the input offset follows with the permuted strides. */
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    int32_t off = 0, i, d;
    for (i = 0; i < p->size; ++i) {
        output[i] = input[off];
        for (d = p->rank - 1; d >= 0; --d) {
            idx[d]++;
            off += p->in_strides[d];
            if (idx[d] < p->out_dims[d]) {
                break;
            }
            off -= p->in_strides[d] * p->out_dims[d];
            idx[d] = 0;
        }
    }
}

void ts_resize_nearest_s8(const ts_resize_params *p, const int32_t *ymap, const int32_t *xmap,
                          const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    int32_t b, y, x, c;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * p->in_h * p->in_w * depth;
        for (y = 0; y < p->out_h; ++y) {
            const int8_t *row = in_batch + (size_t)ymap[y] * p->in_w * depth;
            for (x = 0; x < p->out_w; ++x) {
                const int8_t *src = row + (size_t)xmap[x] * depth;
                for (c = 0; c < depth; ++c) {
                    *output++ = src[c];
                }
            }
        }
    }
}

void ts_transpose_conv_s8(const ts_transpose_conv_params *p, const int8_t *input,
                          const int8_t *filter, const int32_t *bias, const int32_t *multiplier,
                          const int32_t *shift, int8_t *output)
{
    const int32_t in_c = p->in_c;
    const int32_t input_offset = p->input_offset;
    int32_t b, oy, ox, oc, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * p->in_h * p->in_w * in_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                for (oc = 0; oc < p->out_c; ++oc) {
                    int32_t acc = bias[oc];
                    for (fy = 0; fy < p->k_h; ++fy) {
                        /* Input row iy reaches output row iy * stride - pad + fy. */
                        const int32_t ny = oy + p->pad_top - fy;
                        const int32_t iy = ny / p->stride_h;
                        if (ny < 0 || ny % p->stride_h != 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (fx = 0; fx < p->k_w; ++fx) {
                            const int32_t nx = ox + p->pad_left - fx;
                            const int32_t ix = nx / p->stride_w;
                            const int8_t *f;
                            if (nx < 0 || nx % p->stride_w != 0 || ix >= p->in_w) {
                                continue;
                            }
                            f = filter + (((size_t)oc * p->k_h + fy) * p->k_w + fx) * in_c;
                            acc = ts_dot_s8(in_batch + ((size_t)iy * p->in_w + ix) * in_c, f,
                                            in_c, acc) +
                                  input_offset * ts_sum_s8(f, in_c);
                        }
                    }
                    *output++ = ts_output_s8(acc, multiplier[oc], shift[oc], p->output_offset,
                                             p->act_min, p->act_max);
                }
            }
        }
    }
}

void ts_copy_blocks(int32_t count, int32_t bytes, int32_t in_stride, int32_t out_stride,
                    const uint8_t *input, uint8_t *output)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        memmove(output + (size_t)i * out_stride, input + (size_t)i * in_stride, (size_t)bytes);
    }
}

void ts_mean_s8(const ts_mean_params *p, const int8_t *input, int8_t *output)
{
    int32_t kept_idx[6] = {0, 0, 0, 0, 0, 0};
    int32_t base = 0;
    int32_t total = 1, o, d;
    for (d = 0; d < p->kept_rank; ++d) {
        total *= p->kept_dims[d];
    }
    for (o = 0; o < total; ++o) {
        int32_t red_idx[6] = {0, 0, 0, 0, 0, 0};
        int32_t offset = base;
        int32_t sum = 0, r, v;
        for (r = 0; r < p->count; ++r) {
            sum += input[offset];
            for (d = p->reduced_rank - 1; d >= 0; --d) {
                red_idx[d]++;
                offset += p->reduced_strides[d];
                if (red_idx[d] < p->reduced_dims[d]) {
                    break;
                }
                offset -= p->reduced_strides[d] * p->reduced_dims[d];
                red_idx[d] = 0;
            }
        }
        v = ts_mbqm(sum - p->input_zero_point * p->count, p->multiplier, p->shift) +
            p->output_zero_point;
        output[o] = ts_clamp_s8(v, -128, 127);
        for (d = p->kept_rank - 1; d >= 0; --d) {
            kept_idx[d]++;
            base += p->kept_strides[d];
            if (kept_idx[d] < p->kept_dims[d]) {
                break;
            }
            base -= p->kept_strides[d] * p->kept_dims[d];
            kept_idx[d] = 0;
        }
    }
}
