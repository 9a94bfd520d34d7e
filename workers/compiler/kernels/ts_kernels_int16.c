/* 16x8 kernels: int16 activations (zero point 0), int8 weights, 64-bit accumulators and biases,
 * in the arithmetic of LiteRT's reference kernels for them (see ts_kernels.h). */
#include <math.h>

#include "ts_kernels_internal.h"

/* MultiplyByQuantizedMultiplier of a 64-bit accumulator: the multiplier rounded to 16 bits and
 * one rounding shift (LiteRT's int64 overload, the same in both its rounding modes). */
static inline int32_t ts_mbqm64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    return (int32_t)((x * reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift);
}

static inline int16_t ts_clamp_s16(int32_t v, int32_t lo, int32_t hi)
{
    return (int16_t)(v < lo ? lo : v > hi ? hi : v);
}

void ts_conv2d_s16(const ts_conv_params *p, const int16_t *input, const int8_t *filter,
                   const int64_t *bias, const int32_t *multiplier, const int32_t *shift,
                   int16_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
    const int32_t k_h = p->k_h, k_w = p->k_w;
    const int32_t filter_depth = in_c / p->groups;
    const int32_t per_group = out_c / p->groups;
    int32_t b, oy, ox, oc, fy, fx, ic;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *in_batch = input + (size_t)b * in_h * in_w * in_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                for (oc = 0; oc < out_c; ++oc) {
                    const int8_t *f = filter + (size_t)oc * k_h * k_w * filter_depth;
                    const int32_t group_base = (oc / per_group) * filter_depth;
                    int64_t acc = bias[oc];
                    for (fy = 0; fy < k_h; ++fy) {
                        const int32_t iy = iy0 + fy * p->dil_h;
                        if (iy < 0 || iy >= in_h) {
                            continue; /* taps outside the image count as zero */
                        }
                        for (fx = 0; fx < k_w; ++fx) {
                            const int32_t ix = ix0 + fx * p->dil_w;
                            const int16_t *px;
                            const int8_t *fp;
                            if (ix < 0 || ix >= in_w) {
                                continue;
                            }
                            px = in_batch + ((size_t)iy * in_w + ix) * in_c + group_base;
                            fp = f + (fy * k_w + fx) * filter_depth;
                            for (ic = 0; ic < filter_depth; ++ic) {
                                acc += (int32_t)fp[ic] * px[ic];
                            }
                        }
                    }
                    *output++ = ts_clamp_s16(ts_mbqm64(acc, multiplier[oc], shift[oc]),
                                             p->act_min, p->act_max);
                }
            }
        }
    }
}

void ts_depthwise_conv2d_s16(const ts_conv_params *p, const int16_t *input,
                             const int8_t *filter, const int64_t *bias,
                             const int32_t *multiplier, const int32_t *shift, int16_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
    const int32_t dm = p->depth_multiplier;
    int32_t b, oy, ox, ic, m, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *in_batch = input + (size_t)b * in_h * in_w * in_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                for (ic = 0; ic < in_c; ++ic) {
                    for (m = 0; m < dm; ++m) {
                        const int32_t oc = ic * dm + m;
                        int64_t acc = bias[oc];
                        for (fy = 0; fy < p->k_h; ++fy) {
                            const int32_t iy = iy0 + fy * p->dil_h;
                            if (iy < 0 || iy >= in_h) {
                                continue;
                            }
                            for (fx = 0; fx < p->k_w; ++fx) {
                                const int32_t ix = ix0 + fx * p->dil_w;
                                if (ix < 0 || ix >= in_w) {
                                    continue;
                                }
                                acc += (int32_t)filter[(fy * p->k_w + fx) * out_c + oc] *
                                       in_batch[((size_t)iy * in_w + ix) * in_c + ic];
                            }
                        }
                        output[oc] = ts_clamp_s16(ts_mbqm64(acc, multiplier[oc], shift[oc]),
                                                  p->act_min, p->act_max);
                    }
                }
                output += out_c;
            }
        }
    }
}

void ts_fully_connected_s16(const ts_fc_s16_params *p, const int16_t *input, const int8_t *filter,
                            const int64_t *bias, const double *scale, int16_t *output)
{
    const int32_t depth = p->accum_depth, out_depth = p->out_depth;
    int32_t b, o, d;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *in = input + (size_t)b * depth;
        for (o = 0; o < out_depth; ++o) {
            const int8_t *f = filter + (size_t)o * depth;
            int64_t acc = bias[o];
            double scaled;
            for (d = 0; d < depth; ++d) {
                acc += (int32_t)f[d] * in[d];
            }
            /* LiteRT rescales in double and rounds half away from zero; clamping before the
             * conversion keeps it defined where the reference's would overflow int32. */
            scaled = round((double)acc * scale[p->per_channel ? o : 0]);
            *output++ = (int16_t)(scaled < p->act_min   ? p->act_min
                                  : scaled > p->act_max ? p->act_max
                                                        : (int32_t)scaled);
        }
    }
}

void ts_average_pool_s16(const ts_pool_params *p, const int16_t *input, int16_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, ch = p->channels;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *in_batch = input + (size_t)b * in_h * in_w * ch;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
            const int32_t fy1 = p->k_h < in_h - iy0 ? p->k_h : in_h - iy0;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t fx1 = p->k_w < in_w - ix0 ? p->k_w : in_w - ix0;
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                for (c = 0; c < ch; ++c) {
                    int32_t acc = 0;
                    for (fy = fy0; fy < fy1; ++fy) {
                        for (fx = fx0; fx < fx1; ++fx) {
                            acc += in_batch[((size_t)(iy0 + fy) * in_w + ix0 + fx) * ch + c];
                        }
                    }
                    if (count > 0) {
                        /* Round half away from zero, as TFLite's reference does. */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    *output++ = ts_clamp_s16(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void ts_max_pool_s16(const ts_pool_params *p, const int16_t *input, int16_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, ch = p->channels;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *in_batch = input + (size_t)b * in_h * in_w * ch;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
            const int32_t fy1 = p->k_h < in_h - iy0 ? p->k_h : in_h - iy0;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t fx1 = p->k_w < in_w - ix0 ? p->k_w : in_w - ix0;
                for (c = 0; c < ch; ++c) {
                    int32_t best = -32768;
                    for (fy = fy0; fy < fy1; ++fy) {
                        for (fx = fx0; fx < fx1; ++fx) {
                            const int32_t v =
                                in_batch[((size_t)(iy0 + fy) * in_w + ix0 + fx) * ch + c];
                            best = v > best ? v : best;
                        }
                    }
                    *output++ = ts_clamp_s16(best, p->act_min, p->act_max);
                }
            }
        }
    }
}

void ts_binary_s16(const ts_binary_params *p, const int16_t *input1, const int16_t *input2,
                   int16_t *output)
{
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    int32_t off1 = 0, off2 = 0, i;
    for (i = 0; i < p->size; ++i) {
        const int32_t a = p->rank ? input1[off1] : input1[i];
        const int32_t b = p->rank ? input2[off2] : input2[i];
        output[i] = ts_clamp_s16(ts_add_sub(p, p->op == TS_BINARY_SUB, a, b), p->act_min,
                                 p->act_max);
        if (p->rank) {
            ts_broadcast_step(p, idx, &off1, &off2);
        }
    }
}

/* LiteRT's 513-entry int16 table lookup: the top 9 bits pick an entry, the low 7 interpolate
 * towards the next, rounded. */
static inline int16_t ts_lut_s16(int32_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7);
    const int32_t base = lut[index];
    const int32_t slope = (int16_t)(lut[index + 1] - base);
    return (int16_t)(base + ((slope * (value & 0x7f) + 64) >> 7));
}

void ts_softmax_s16(int32_t outer, int32_t depth, int32_t input_multiplier,
                    int32_t input_left_shift, const int16_t *exp_lut,
                    const int16_t *reciprocal_lut, const int16_t *input, int16_t *output)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        int32_t max_in_row = -32768, sum_of_exps = 0, headroom_plus_one, shifted_sum;
        int32_t reciprocal, right_shift;
        for (c = 0; c < depth; ++c) {
            max_in_row = input[c] > max_in_row ? input[c] : max_in_row;
        }
        /* exp(x - max) on [-10, 0] through the table, kept in the output until the sum is
         * known (as the reference does, so an output over its input is safe). */
        for (c = 0; c < depth; ++c) {
            const int32_t scaled =
                ts_mbqm(input[c] - max_in_row, input_multiplier, input_left_shift) + 32767;
            output[c] = ts_lut_s16(scaled < -32768 ? -32768 : scaled > 32767 ? 32767 : scaled,
                                   exp_lut);
            sum_of_exps += output[c];
        }
        headroom_plus_one = ts_count_leading_zeros((uint32_t)sum_of_exps);
        shifted_sum =
            (int32_t)((((int64_t)sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14) -
            ((1 << 15) + (1 << 16));
        reciprocal = ts_lut_s16(shifted_sum < -32768 ? -32768 : shifted_sum > 32767 ? 32767
                                                                                    : shifted_sum,
                                reciprocal_lut);
        right_shift = 31 - headroom_plus_one;
        for (c = 0; c < depth; ++c) {
            const int32_t result = (int32_t)(((int64_t)output[c] * reciprocal +
                                              ((int64_t)1 << (right_shift - 1))) >>
                                             right_shift);
            output[c] = ts_clamp_s16(result, 0, 32767);
        }
        input += depth;
        output += depth;
    }
}

void ts_quantize_f32_s16(int32_t size, float scale, int32_t zero_point, const float *input,
                         int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = ts_clamp_s16((int32_t)roundf(input[i] / scale) + zero_point, -32768, 32767);
    }
}

void ts_dequantize_s16_f32(int32_t size, double scale, int32_t zero_point, const int16_t *input,
                           float *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = (float)(scale * (double)((int32_t)input[i] - zero_point));
    }
}

void ts_requantize_s16(int32_t size, int32_t multiplier, int32_t shift, const int16_t *input,
                       int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = ts_clamp_s16(ts_mbqm(input[i], multiplier, shift), -32768, 32767);
    }
}
