/* DEPTHWISE_CONV_2D: four channels at a time, windows inside the image and cut by
 * its border taken apart. */
#include "ts_kernels_internal.h"

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
