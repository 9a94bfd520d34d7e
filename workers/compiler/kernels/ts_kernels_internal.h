/* What the kernel files share and a compiled model does not see: TFLite's fixed-point
 * arithmetic, the Cortex-M DSP extension's instructions, dot products, and the out-of-line helpers
 * that more than one kernel file calls. Every function here is static inline or declared below. */
#ifndef TS_KERNELS_INTERNAL_H
#define TS_KERNELS_INTERNAL_H

#include <string.h>

#include "ts_kernels.h"

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

static inline int32_t ts_count_leading_zeros(uint32_t x)
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

/* ADD (or SUB) of two inputs in TFLite's reference arithmetic, unclamped: both offset and
 * shifted left, scaled to a common scale, added, requantized. SUB is ADD with the second
 * multiplier negated; both roundings are symmetric about zero, so that is the first scaled
 * input minus the second. */
static inline int32_t ts_add_sub(const ts_binary_params *p, int32_t subtract, int32_t a,
                                 int32_t b)
{
    const int32_t x1 = (int32_t)((uint32_t)(p->input1_offset + a) << p->left_shift);
    const int32_t x2 = (int32_t)((uint32_t)(p->input2_offset + b) << p->left_shift);
    const int32_t s1 = ts_mbqm(x1, p->input1_multiplier, p->input1_shift);
    const int32_t s2 = ts_mbqm(x2, p->input2_multiplier, p->input2_shift);
    return ts_mbqm(subtract ? s1 - s2 : s1 + s2, p->output_multiplier, p->output_shift) +
           p->output_offset;
}

/* One step of the odometer over a broadcasting binary op's output index: the inputs' element
 * offsets follow with their strides (0 where an input is broadcast). */
static inline void ts_broadcast_step(const ts_binary_params *p, int32_t *idx, int32_t *off1,
                                     int32_t *off2)
{
    int32_t d;
    for (d = p->rank - 1; d >= 0; --d) {
        idx[d]++;
        *off1 += p->in1_strides[d];
        *off2 += p->in2_strides[d];
        if (idx[d] < p->out_dims[d]) {
            return;
        }
        *off1 -= p->in1_strides[d] * p->out_dims[d];
        *off2 -= p->in2_strides[d] * p->out_dims[d];
        idx[d] = 0;
    }
}

/* Blocks of four outputs against interleaved filters (ts_kernels_conv.c): convolutions and
 * fully connected layers. */
const int8_t *ts_blocks4_interleaved(const int8_t *px, int32_t row_step, int32_t rows,
                                     int32_t run, const int8_t *w, const int32_t *bias,
                                     int32_t blocks, int32_t *acc);

/* Copies a convolution window into one contiguous run (ts_kernels_conv_gather.c). */
void ts_gather_window(const int8_t *in_batch, int32_t iy0, int32_t ix0, int32_t k_h, int32_t k_w,
                      int32_t dil_h, int32_t dil_w, int32_t in_h, int32_t in_w, int32_t in_c,
                      int8_t zero_point, int8_t *window);

#endif /* TS_KERNELS_INTERNAL_H */
